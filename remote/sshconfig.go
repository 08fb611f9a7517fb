package remote

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// sshConfig is one parsed ssh config file. A nil *sshConfig answers every
// question with "not set", which is what "none" or a missing default file means.
type sshConfig struct {
	cfg *ssh_config.Config
}

// loadSSHConfig parses path. A missing file is an error only when the user
// named it; the default ~/.ssh/config is optional.
func loadSSHConfig(path string, explicit bool) (*sshConfig, error) {
	if path == "none" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicit {
			return nil, nil
		}
		return nil, fmt.Errorf("read ssh config: %w", err)
	}
	defer f.Close()
	cfg, err := ssh_config.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("parse ssh config %s: %w", path, err)
	}
	return &sshConfig{cfg: cfg}, nil
}

func (c *sshConfig) get(alias, key string) string {
	if c == nil {
		return ""
	}
	v, _ := c.cfg.Get(alias, key)
	return strings.TrimSpace(v)
}

func (c *sshConfig) getAll(alias, key string) []string {
	if c == nil {
		return nil
	}
	vs, _ := c.cfg.GetAll(alias, key)
	return vs
}

// endpoint is one SSH server to connect to, after the ssh config is applied.
type endpoint struct {
	alias      string // the name as given, e.g. a Host alias
	user       string
	host       string // the address to dial
	port       int
	identities []string // IdentityFile entries for this host
	proxyJump  string
}

// addr is host:port for dialing and for known_hosts.
func (e endpoint) addr() string { return net.JoinHostPort(e.host, strconv.Itoa(e.port)) }

// String is the name used in output and errors: user@host:port.
func (e endpoint) String() string { return e.user + "@" + e.addr() }

// SplitTarget is the one parser of target syntax, [user@]host[:port]: the
// user is what precedes the last @ (as ssh reads it), an IPv6 address is
// bracketed when a port follows ([::1]:2222) and may stand bare otherwise,
// and the port is checked by ParsePort. It checks syntax only: host may be
// an ssh config alias; callers that take only addresses (inventory) check
// the host name themselves. Errors do not repeat s: callers name it.
func SplitTarget(s string) (userName, host string, port int, err error) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		userName, s = s[:i], s[i+1:]
		if userName == "" {
			return "", "", 0, errors.New("empty user before @")
		}
	}
	var p string
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", 0, errors.New("missing ] after IPv6 address")
		}
		host = s[1:end]
		switch after := s[end+1:]; {
		case after == "":
		case strings.HasPrefix(after, ":"):
			if p = after[1:]; p == "" {
				return "", "", 0, errors.New("empty port")
			}
		default:
			return "", "", 0, fmt.Errorf("unexpected %q after ]", after)
		}
		if !strings.Contains(host, ":") || net.ParseIP(host) == nil {
			return "", "", 0, fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
	case strings.Count(s, ":") > 1:
		// A bare IPv6 address cannot carry a port: brackets are needed for that.
		if net.ParseIP(s) == nil {
			return "", "", 0, fmt.Errorf("%q is not an IPv6 address (use [addr]:port for a port)", s)
		}
		host = s
	default:
		var hasPort bool
		if host, p, hasPort = strings.Cut(s, ":"); hasPort && p == "" {
			return "", "", 0, errors.New("empty port")
		}
	}
	if host == "" {
		return "", "", 0, errors.New("empty host")
	}
	if p != "" {
		if port, err = ParsePort(p); err != nil {
			return "", "", 0, err
		}
	}
	return userName, host, port, nil
}

// ParsePort parses a TCP port, 1-65535, written plainly: no sign, no
// leading zero. It is the one port parser for targets, flags and ssh config.
func ParsePort(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '+' || p[0] == '0' {
		return 0, fmt.Errorf("bad port %q: want 1-65535", p)
	}
	return n, nil
}

// resolveEndpoint applies, in order of precedence, the target's own user@ and
// :port, the caller's defaults, the ssh config for the alias, and the
// built-in defaults, the way OpenSSH's client does.
func resolveEndpoint(target, defUser string, defPort int, cfg *sshConfig, home string) (endpoint, error) {
	u, alias, port, err := SplitTarget(target)
	if err != nil {
		return endpoint{}, fmt.Errorf("parse target %q: %w", target, err)
	}
	e := endpoint{alias: alias, host: alias, user: u, port: port}
	if hn := cfg.get(alias, "HostName"); hn != "" {
		e.host = strings.ReplaceAll(hn, "%h", alias)
	}
	if e.user == "" {
		e.user = defUser
	}
	if e.user == "" {
		e.user = cfg.get(alias, "User")
	}
	if e.user == "" {
		e.user = localUser()
	}
	if e.port == 0 {
		e.port = defPort
	}
	if e.port == 0 {
		if p := cfg.get(alias, "Port"); p != "" {
			if e.port, err = ParsePort(p); err != nil {
				return endpoint{}, fmt.Errorf("ssh config for %s: %w", alias, err)
			}
		}
	}
	if e.port == 0 {
		e.port = 22
	}
	for _, f := range cfg.getAll(alias, "IdentityFile") {
		e.identities = append(e.identities, expandPath(f, home, e))
	}
	e.proxyJump = cfg.get(alias, "ProxyJump")
	return e, nil
}

// expandPath expands ~ and the common % tokens of an IdentityFile.
func expandPath(p, home string, e endpoint) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		p = home + p[1:]
	}
	r := strings.NewReplacer("%%", "%", "%d", home, "%h", e.host, "%r", e.user, "%u", localUser(), "%p", strconv.Itoa(e.port))
	return r.Replace(p)
}

func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// ConfiguredUser is the User the ssh config of opts sets for host, or "" when
// it sets none: callers with a better default than the local user (an EC2
// image's login user) use theirs only then, as OpenSSH would.
func ConfiguredUser(opts SSHOptions, host string) (string, error) {
	explicit := opts.SSHConfigFile != ""
	opts, err := opts.withDefaults()
	if err != nil {
		return "", err
	}
	cfg, err := loadSSHConfig(opts.SSHConfigFile, explicit)
	if err != nil {
		return "", err
	}
	return cfg.get(host, "User"), nil
}

// HostID is the one id output gives a host: user@host:port after the ssh
// config is applied (HostName, User, Port), the same as (*SSH).Host once
// connected, so a host that was never reached is named like one that was.
func HostID(target string, opts SSHOptions) (string, error) {
	_, _, ep, err := resolveTarget(target, opts)
	if err != nil {
		return "", err
	}
	return ep.String(), nil
}

// resolveTarget defaults opts, loads the ssh config and resolves target.
func resolveTarget(target string, opts SSHOptions) (SSHOptions, *sshConfig, endpoint, error) {
	explicit := opts.SSHConfigFile != ""
	opts, err := opts.withDefaults()
	if err != nil {
		return opts, nil, endpoint{}, err
	}
	cfg, err := loadSSHConfig(opts.SSHConfigFile, explicit)
	if err != nil {
		return opts, nil, endpoint{}, err
	}
	ep, err := resolveEndpoint(target, opts.User, opts.Port, cfg, opts.HomeDir)
	return opts, cfg, ep, err
}
