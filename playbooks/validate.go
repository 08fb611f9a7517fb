package playbooks

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/berth-sh/berth/dns"
)

var (
	// nameRe is what Docker accepts for container, volume and network names.
	nameRe   = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	secretRe = regexp.MustCompile(`^[a-z0-9_]+$`)
	envKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// imageRe is deliberately loose (registry/repo:tag@digest); it exists to keep
	// whitespace, shell metacharacters and a leading "-" out of argv.
	imageRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$`)
)

const maxNameLen = 63

// validator collects every problem, each located through the decoder's positions.
type validator struct {
	file string
	pos  map[string]position
	errs Errors
}

// errf reports at path, or at its nearest parent that has a position; a
// missing top-level key is reported at the document.
func (v *validator) errf(path, format string, args ...any) {
	e := &Error{File: v.file, Msg: fmt.Sprintf(format, args...)}
	for p := path; ; p = parent(p) {
		if at, ok := v.pos[p]; ok {
			e.Line, e.Col = at.line, at.col
			break
		}
		if p == "" {
			break
		}
	}
	v.errs = append(v.errs, e)
}

func parent(p string) string {
	if i := strings.LastIndexAny(p, ".[#"); i > 0 {
		return p[:i]
	}
	return ""
}

func (v *validator) name(path, what, name string) bool {
	switch {
	case name == "":
		v.errf(path, "%s name is empty", what)
	case len(name) > maxNameLen:
		v.errf(path, "%s name %q is longer than %d characters", what, name, maxNameLen)
	case !nameRe.MatchString(name):
		v.errf(path, "invalid %s name %q: use letters, digits, '_', '.', '-', starting with a letter or digit", what, name)
	default:
		return true
	}
	return false
}

func validate(file string, pb *Playbook, pos map[string]position) Errors {
	v := &validator{file: file, pos: pos}
	v.name("name", "stack", pb.Name)

	secrets := map[string]bool{}
	for i, s := range pb.Secrets {
		p := fmt.Sprintf("secrets[%d]", i)
		switch {
		case !secretRe.MatchString(s):
			v.errf(p, "invalid secret name %q: use a-z, 0-9 and _", s)
		case secrets[s]:
			v.errf(p, "secret %q declared twice", s)
		}
		secrets[s] = true
	}

	volumes := map[string]bool{}
	for i, vol := range pb.Volumes {
		p := fmt.Sprintf("volumes[%d].name", i)
		if v.name(p, "volume", vol.Name) && volumes[vol.Name] {
			v.errf(p, "volume %q declared twice", vol.Name)
		}
		volumes[vol.Name] = true
	}
	networks := map[string]bool{}
	for i, n := range pb.Networks {
		p := fmt.Sprintf("networks[%d]", i)
		if v.name(p+".name", "network", n.Name) && networks[n.Name] {
			v.errf(p+".name", "network %q declared twice", n.Name)
		}
		networks[n.Name] = true
		if !nameRe.MatchString(n.Driver) {
			v.errf(p+".driver", "invalid network driver %q", n.Driver)
		}
	}

	containers := map[string]bool{}
	for i, c := range pb.Containers {
		p := fmt.Sprintf("containers[%d]", i)
		if v.name(p+".name", "container", c.Name) {
			switch {
			case strings.HasSuffix(c.Name, backupSuffix):
				v.errf(p+".name", "container name %q: the suffix %s is reserved for berth's backups", c.Name, backupSuffix)
			case containers[c.Name]:
				v.errf(p+".name", "container %q declared twice", c.Name)
			}
		}
		containers[c.Name] = true
	}
	for i := range pb.Containers {
		v.container(fmt.Sprintf("containers[%d]", i), &pb.Containers[i], containers, volumes, networks, secrets)
	}
	for i := range pb.Volumes {
		if b := pb.Volumes[i].Backup; b != nil {
			v.volumeBackup(fmt.Sprintf("volumes[%d].backup", i), pb.Volumes[i].Name, b, pb.Containers)
		}
	}
	if _, cycle := Order(pb.Containers); cycle != nil {
		v.errf("containers", "depends_on has a cycle: %s", strings.Join(cycle, " -> "))
	}
	v.ports(pb.Containers)

	if rec := pb.DNS; rec != nil {
		if rec.Name != "" {
			if _, err := dns.NormalizeName(rec.Name); err != nil {
				v.errf("dns.name", "invalid DNS name %q: %v", rec.Name, err)
			}
		}
		if rec.Type != "A" && rec.Type != "AAAA" {
			v.errf("dns.type", "DNS type %q is not supported (want A or AAAA)", rec.Type)
		}
		if rec.TTL < 1 || rec.TTL > 604800 {
			v.errf("dns.ttl", "DNS ttl %d out of range (1 to 604800 seconds)", rec.TTL)
		}
	}
	return v.errs
}

func (v *validator) container(p string, c *Container, containers, volumes, networks, secrets map[string]bool) {
	switch {
	case c.Image == "":
		v.errf(p+".image", "container %q has no image", c.Name)
	case len(c.Image) > 512 || !imageRe.MatchString(c.Image):
		v.errf(p+".image", "implausible image reference %q", c.Image)
	}
	for i, a := range c.Command {
		v.text(fmt.Sprintf("%s.command[%d]", p, i), "command argument", a)
	}
	for i, dep := range c.DependsOn {
		switch {
		case dep == c.Name:
			v.errf(fmt.Sprintf("%s.depends_on[%d]", p, i), "container %q depends on itself", c.Name)
		case !containers[dep]:
			v.errf(fmt.Sprintf("%s.depends_on[%d]", p, i), "depends_on: no container named %q", dep)
		}
	}
	for i, n := range c.Networks {
		if !networks[n] {
			v.errf(fmt.Sprintf("%s.networks[%d]", p, i), "network %q is not declared under networks:", n)
		}
	}
	targets := map[string]bool{}
	for i, s := range c.Volumes {
		vp := fmt.Sprintf("%s.volumes[%d]", p, i)
		m, err := ParseMount(s)
		switch {
		case err != nil:
			v.errf(vp, "%s", err)
		case !m.Bind() && !nameRe.MatchString(m.Source):
			v.errf(vp, "volume %q: invalid volume name %q", s, m.Source)
		case !m.Bind() && !volumes[m.Source]:
			v.errf(vp, "volume %q is not declared under volumes:", m.Source)
		case targets[m.Target]:
			v.errf(vp, "container path %q is mounted twice", m.Target)
		}
		targets[m.Target] = true
	}
	for _, k := range sortedKeys(c.Env) {
		kp := p + ".env." + k
		if !envKeyRe.MatchString(k) {
			v.errf(kp+"#", "invalid env name %q", k)
		}
		if _, both := c.SecretEnv[k]; both {
			v.errf(kp+"#", "env %q is set in both env and secret_env", k)
		}
		v.text(kp, "env value", c.Env[k])
	}
	for _, k := range sortedKeys(c.SecretEnv) {
		kp := p + ".secret_env." + k
		if !envKeyRe.MatchString(k) {
			v.errf(kp+"#", "invalid env name %q", k)
		}
		if s := c.SecretEnv[k]; !secrets[s] {
			v.errf(kp, "secret %q is not declared under secrets:", s)
		}
	}
	if c.Push && strings.Contains(c.Image, "@") {
		v.errf(p+".push", "image %q is pinned by digest, which docker load cannot give it: push a tag instead", c.Image)
	}
	if !validRestart(c.Restart) {
		v.errf(p+".restart", "invalid restart policy %q (want no, always, unless-stopped, on-failure or on-failure:N)", c.Restart)
	}
	if h := c.Health; h != nil {
		if len(h.Cmd) == 0 {
			v.errf(p+".health", "health: cmd is required")
		}
		for i, a := range h.Cmd {
			v.text(fmt.Sprintf("%s.health.cmd[%d]", p, i), "health cmd argument", a)
		}
		if h.Retries < 0 {
			v.errf(p+".health.retries", "health retries must be positive")
		}
	}
	if r := c.Ready; r != nil {
		u, err := url.Parse(r.HTTP)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			v.errf(p+".ready.http", "ready.http %q must be an http:// URL", r.HTTP)
		}
	}
}

// text rejects NUL, which no command line can carry.
// volumeBackup checks a volume's hot dump and fills in its container.
func (v *validator) volumeBackup(p, vol string, b *VolumeBackup, cs []Container) {
	for _, cmd := range []struct {
		key  string
		argv []string
		does string
	}{{"exec", b.Exec, "prints the dump on stdout"}, {"restore", b.Restore, "reads a dump on stdin"}} {
		if len(cmd.argv) == 0 || cmd.argv[0] == "" {
			v.errf(p+"."+cmd.key, "volume %q: backup.%s is empty: give the command (argv) that %s", vol, cmd.key, cmd.does)
		}
		for i, a := range cmd.argv {
			v.text(fmt.Sprintf("%s.%s[%d]", p, cmd.key, i), "backup."+cmd.key+" argument", a)
		}
	}
	var mounting []string
	for _, c := range cs {
		for _, m := range c.Volumes {
			if src, _, _ := strings.Cut(m, ":"); src == vol {
				mounting = append(mounting, c.Name)
				break
			}
		}
	}
	switch {
	case b.Container != "":
		if !slices.Contains(mounting, b.Container) {
			v.errf(p+".container", "volume %q: backup.container %q is not a container that mounts it (those that do: %s)", vol, b.Container, strings.Join(mounting, ", "))
		}
	case len(mounting) == 1:
		b.Container = mounting[0]
	case len(mounting) == 0:
		v.errf(p, "volume %q: no container mounts it, so none can run its backup.exec", vol)
	default:
		v.errf(p, "volume %q: several containers mount it (%s): name the one that dumps it in backup.container", vol, strings.Join(mounting, ", "))
	}
}

func (v *validator) text(path, what, s string) {
	if strings.IndexByte(s, 0) >= 0 {
		v.errf(path, "%s contains a NUL byte", what)
	}
}

func validRestart(r string) bool {
	switch r {
	case "", "no", "always", "unless-stopped", "on-failure":
		return true
	}
	n, ok := strings.CutPrefix(r, "on-failure:")
	if !ok || n == "" {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 16)
	return err == nil
}

// ports checks every publish spec and that no host port is taken twice on one
// host, counting a wildcard address as overlapping every specific one.
func (v *validator) ports(cs []Container) {
	type owner struct {
		port Port
		desc string
	}
	var seen []owner
	for i, c := range cs {
		for j, s := range c.Ports {
			pp := fmt.Sprintf("containers[%d].ports[%d]", i, j)
			if strings.ContainsFunc(s, unicode.IsSpace) {
				v.errf(pp, "port %q contains whitespace", s)
				continue
			}
			p, err := ParsePort(s)
			if err != nil {
				v.errf(pp, "%s", err)
				continue
			}
			for _, o := range seen {
				if o.port.HostPort == p.HostPort && o.port.Proto == p.Proto &&
					(o.port.HostIP == p.HostIP || o.port.HostIP == "" || p.HostIP == "") {
					v.errf(pp, "host port %d/%s is already published by %s", p.HostPort, p.Proto, o.desc)
					break
				}
			}
			seen = append(seen, owner{p, fmt.Sprintf("container %q (%s)", c.Name, s)})
		}
	}
}
