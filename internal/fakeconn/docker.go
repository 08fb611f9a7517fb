package fakeconn

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-sh/berth/playbooks"
)

// exec runs one call against the model, with h.mu held, and returns its exit
// status.
func (h *Host) exec(c Call, out, errOut io.Writer) int {
	if c.Script != "" {
		return h.script(c.Script, c.ScriptArgs(), out, errOut)
	}
	return h.docker(c.Args, out, errOut)
}

// docker runs one docker argv. Output mimics the CLI's where berth reads it.
func (h *Host) docker(args []string, out, errOut io.Writer) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(errOut, format+"\n", a...)
		return code
	}
	if len(args) < 2 || args[0] != "docker" {
		return fail(127, "fakeconn: no model for %q", args)
	}
	if h.DockerErr != "" {
		return fail(1, "fakeconn: docker is unusable here (%s)", h.DockerErr)
	}
	a := args[1:]
	switch {
	case a[0] == "run":
		return h.run(a[1:], out, errOut)
	case len(a) == 3 && a[0] == "rm" && a[1] == "-f":
		if _, ok := h.Containers[a[2]]; !ok {
			return fail(1, "Error response from daemon: No such container: %s", a[2])
		}
		delete(h.Containers, a[2])
		return 0
	case len(a) == 2 && a[0] == "start":
		ct, ok := h.Containers[a[1]]
		if !ok {
			return fail(1, "Error response from daemon: No such container: %s", a[1])
		}
		h.start(ct)
		return 0
	case len(a) >= 3 && a[0] == "volume" && a[1] == "create":
		labels, rest, err := labelFlags(a[2:])
		if err != nil || len(rest) != 1 {
			return fail(125, "fakeconn: volume create %q", a[2:])
		}
		if _, ok := h.Volumes[rest[0]]; !ok {
			h.Volumes[rest[0]] = &Volume{Labels: labels}
		}
		return 0
	case len(a) == 3 && a[0] == "volume" && a[1] == "rm":
		if _, ok := h.Volumes[a[2]]; !ok {
			return fail(1, "Error response from daemon: get %s: no such volume", a[2])
		}
		for _, ct := range h.Containers {
			for _, m := range ct.Mounts {
				if m.Name == a[2] {
					return fail(1, "Error response from daemon: remove %s: volume is in use - [%s]", a[2], ct.ID)
				}
			}
		}
		delete(h.Volumes, a[2])
		return 0
	case len(a) >= 3 && a[0] == "network" && a[1] == "create":
		driver, rest := "bridge", a[2:]
		if len(rest) >= 2 && rest[0] == "--driver" {
			driver, rest = rest[1], rest[2:]
		}
		labels, rest, err := labelFlags(rest)
		if err != nil || len(rest) != 1 {
			return fail(125, "fakeconn: network create %q", a[2:])
		}
		if _, ok := h.Networks[rest[0]]; ok {
			return fail(1, "Error response from daemon: network with name %s already exists", rest[0])
		}
		h.Networks[rest[0]] = &Network{ID: h.newID(), Driver: driver, Labels: labels}
		return 0
	case len(a) == 3 && a[0] == "network" && a[1] == "rm":
		if _, ok := h.Networks[a[2]]; !ok {
			return fail(1, "Error response from daemon: network %s not found", a[2])
		}
		for _, ct := range h.Containers {
			if slices.Contains(ct.Networks, a[2]) {
				return fail(1, "Error response from daemon: error while removing network: network %s has active endpoints", a[2])
			}
		}
		delete(h.Networks, a[2])
		return 0
	case len(a) == 4 && a[0] == "network" && a[1] == "connect":
		ct, ok := h.Containers[a[3]]
		if _, nok := h.Networks[a[2]]; !ok || !nok {
			return fail(1, "Error response from daemon: no such network or container: %s %s", a[2], a[3])
		}
		ct.Networks = append(ct.Networks, a[2])
		return 0
	case slices.Equal(a, []string{"system", "df", "-v", "--format", "{{json .Volumes}}"}):
		var vols []map[string]string
		for _, name := range slices.Sorted(maps.Keys(h.Volumes)) {
			vols = append(vols, map[string]string{"Name": name, "Size": h.Volumes[name].Size})
		}
		return writeJSON(out, vols)
	}
	return fail(127, "fakeconn: no model for %q", args)
}

// labelFlags takes the leading --label K=V pairs off args.
func labelFlags(args []string) (map[string]string, []string, error) {
	labels := map[string]string{}
	for len(args) >= 2 && args[0] == "--label" {
		k, v, ok := strings.Cut(args[1], "=")
		if !ok {
			return nil, nil, fmt.Errorf("label %q", args[1])
		}
		labels[k] = v
		args = args[2:]
	}
	return labels, args, nil
}

// run is `docker run -d`: the flags berth passes, then the image and command.
func (h *Host) run(args []string, out, errOut io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(errOut, "docker: "+format+"\n", a...)
		return 125
	}
	ct := &Container{Labels: map[string]string{}, Args: append([]string{"docker", "run"}, args...)}
	var health bool
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		if args[i] == "-d" {
			continue
		}
		if i+1 >= len(args) {
			return fail("flag needs an argument: %s", args[i])
		}
		flag, v := args[i], args[i+1]
		i++
		switch flag {
		case "--name":
			ct.Name = v
		case "--label":
			k, val, _ := strings.Cut(v, "=")
			ct.Labels[k] = val
		case "--network":
			if _, ok := h.Networks[v]; !ok {
				return fail("Error response from daemon: network %s not found.", v)
			}
			ct.Networks = append(ct.Networks, v)
		case "-p":
			p, err := playbooks.ParsePort(v)
			if err != nil {
				return fail("invalid publish %q: %v", v, err)
			}
			ct.Ports = append(ct.Ports, Port{HostIP: p.HostIP, HostPort: strconv.Itoa(p.HostPort), ContainerPort: strconv.Itoa(p.ContainerPort), Proto: p.Proto})
		case "-v":
			m, err := playbooks.ParseMount(v)
			if err != nil {
				return fail("invalid volume %q: %v", v, err)
			}
			mt := Mount{Type: "volume", Name: m.Source, Destination: m.Target, RW: !strings.Contains(m.Options, "ro")}
			if m.Bind() {
				mt.Type, mt.Name, mt.Source = "bind", "", m.Source
			}
			ct.Mounts = append(ct.Mounts, mt)
		case "--env-file":
			if _, ok := h.Files[v]; !ok {
				return fail("open %s: no such file or directory.", v)
			}
		case "--health-cmd":
			health = true
		case "--restart", "-e", "--health-interval", "--health-retries":
		default:
			return fail("unknown flag: %s", flag)
		}
	}
	if i >= len(args) {
		return fail("\"docker run\" requires at least 1 argument.")
	}
	ct.Image = args[i]
	id, ok := h.Images[ct.Image]
	if !ok {
		return fail("Unable to find image '%s' locally", ct.Image)
	}
	if _, taken := h.Containers[ct.Name]; taken || ct.Name == "" {
		return fail("Error response from daemon: Conflict. The container name \"/%s\" is already in use.", ct.Name)
	}
	for _, m := range ct.Mounts {
		if _, ok := h.Volumes[m.Name]; m.Type == "volume" && !ok {
			h.Volumes[m.Name] = &Volume{Labels: map[string]string{}} // as docker does, unlabelled
		}
	}
	ct.ID, ct.ImageID = h.newID(), id
	if health {
		ct.Health = "starting"
	}
	h.Containers[ct.Name] = ct
	h.start(ct)
	fmt.Fprintln(out, ct.ID)
	return 0
}

// start runs ct: healthy (or just running) unless its image is Broken.
func (h *Host) start(ct *Container) {
	ct.Status, ct.ExitCode = "running", 0
	checked := ct.Health != ""
	switch {
	case h.Broken[ct.Image] && checked:
		ct.Health = "unhealthy"
	case h.Broken[ct.Image]:
		ct.Status, ct.ExitCode = "exited", 1
	case checked:
		ct.Health = "healthy"
	}
}

// publishes reports whether a running, ready container publishes addr's port.
func (h *Host) publishes(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	for _, ct := range h.Containers {
		for _, p := range ct.Ports {
			if p.HostPort == port && ct.Status == "running" && !h.Unready[ct.Image] {
				return true
			}
		}
	}
	return false
}

func (h *Host) rename(from, to string) bool {
	ct, ok := h.Containers[from]
	if _, taken := h.Containers[to]; !ok || taken {
		return false
	}
	delete(h.Containers, from)
	ct.Name = to
	h.Containers[to] = ct
	return true
}

// inspect is `docker inspect` of one container, in the fields berth reads.
func (ct *Container) inspect() map[string]any {
	type binding struct{ HostIp, HostPort string } //nolint:revive // docker's JSON names
	bindings := map[string][]binding{}
	for _, p := range ct.Ports {
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		k := p.ContainerPort + "/" + p.Proto
		bindings[k] = append(bindings[k], binding{ip, p.HostPort})
	}
	live := bindings
	if ct.Status != "running" {
		live = nil
	}
	state := map[string]any{"Status": ct.Status, "Running": ct.Status == "running", "ExitCode": ct.ExitCode}
	if ct.Health != "" {
		state["Health"] = map[string]string{"Status": ct.Health}
	}
	networks := map[string]any{}
	for _, n := range ct.Networks {
		networks[n] = map[string]any{}
	}
	return map[string]any{
		"Id": ct.ID, "Name": "/" + ct.Name, "Image": ct.ImageID, "State": state,
		"Config":          map[string]any{"Image": ct.Image, "Labels": ct.Labels},
		"HostConfig":      map[string]any{"PortBindings": bindings},
		"NetworkSettings": map[string]any{"Networks": networks, "Ports": live},
		"Mounts":          ct.Mounts,
	}
}

func writeJSON(out io.Writer, v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only the model's own values are marshalled
	}
	if string(b) == "null" {
		b = []byte("[]")
	}
	out.Write(append(b, '\n')) //nolint:errcheck // a bytes.Buffer
	return 0
}
