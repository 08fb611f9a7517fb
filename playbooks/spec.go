package playbooks

import (
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
)

// Port is a parsed "[ip:]host:container[/proto]" publish spec.
type Port struct {
	HostIP        string // "" means all interfaces
	HostPort      int
	ContainerPort int
	Proto         string // tcp or udp
}

// String is the canonical form: the proto always present, the IP only when set,
// so "80:80" and "80:80/tcp" compare equal.
func (p Port) String() string {
	ip := p.HostIP
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	if ip != "" {
		ip += ":"
	}
	return fmt.Sprintf("%s%d:%d/%s", ip, p.HostPort, p.ContainerPort, p.Proto)
}

// ParsePort parses "[ip:]host:container[/tcp|udp]"; an IPv6 address goes in brackets.
func ParsePort(s string) (Port, error) {
	p := Port{Proto: "tcp"}
	rest := s
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		p.Proto, rest = s[i+1:], s[:i]
		if p.Proto != "tcp" && p.Proto != "udp" {
			return p, fmt.Errorf("port %q: protocol must be tcp or udp", s)
		}
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return p, fmt.Errorf("port %q: want [ip:]host:container[/proto]", s)
	}
	hostPart, cport := rest[:i], rest[i+1:]
	if j := strings.LastIndexByte(hostPart, ':'); j >= 0 {
		ip := strings.TrimSuffix(strings.TrimPrefix(hostPart[:j], "["), "]")
		if net.ParseIP(ip) == nil {
			return p, fmt.Errorf("port %q: %q is not an IP address", s, hostPart[:j])
		}
		p.HostIP, hostPart = ip, hostPart[j+1:]
	}
	var err error
	if p.HostPort, err = portNumber(hostPart); err != nil {
		return p, fmt.Errorf("port %q: host port %w", s, err)
	}
	if p.ContainerPort, err = portNumber(cport); err != nil {
		return p, fmt.Errorf("port %q: container port %w", s, err)
	}
	return p, nil
}

func portNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || s[0] == '+' || s[0] == '0' {
		return 0, fmt.Errorf("%q is not a number from 1 to 65535", s)
	}
	return n, nil
}

// Mount is a parsed "source:target[:options]" volume spec.
type Mount struct {
	Source  string // a volume name, or an absolute host path for a bind mount
	Target  string // absolute path in the container
	Options string // e.g. "ro"; "" when absent
}

// Bind reports whether the mount is a host path rather than a named volume.
func (m Mount) Bind() bool { return strings.HasPrefix(m.Source, "/") }

func (m Mount) String() string {
	s := m.Source + ":" + m.Target
	if m.Options != "" {
		s += ":" + m.Options
	}
	return s
}

// ParseMount parses "source:target[:options]". Options are a comma list of
// ro, rw, z, Z, nocopy: the ones docker run -v accepts for local volumes.
func ParseMount(s string) (Mount, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return Mount{}, fmt.Errorf("volume %q: want source:/container/path[:ro]", s)
	}
	m := Mount{Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		m.Options = parts[2]
		for _, o := range strings.Split(m.Options, ",") {
			switch o {
			case "ro", "rw", "z", "Z", "nocopy":
			default:
				return m, fmt.Errorf("volume %q: unknown option %q (want ro, rw, z, Z or nocopy)", s, o)
			}
		}
	}
	if m.Source == "" {
		return m, fmt.Errorf("volume %q: empty source", s)
	}
	if !path.IsAbs(m.Target) {
		return m, fmt.Errorf("volume %q: container path %q must be absolute", s, m.Target)
	}
	if m.Bind() && path.Clean(m.Source) != m.Source && m.Source != "/" {
		return m, fmt.Errorf("volume %q: host path %q is not clean (want %q)", s, m.Source, path.Clean(m.Source))
	}
	return m, nil
}
