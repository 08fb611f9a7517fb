package inventory

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/remote"
)

// ParseHost parses a --host value, [user@]addr[:port], where addr is a host
// name, an IPv4 address, or an IPv6 address (bracketed when a port follows:
// [::1]:2222). It rejects anything else, since the value reaches ssh.
func ParseHost(s string) (Target, error) {
	if s == "" {
		return Target{}, errors.New("parse host: empty")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Target{}, fmt.Errorf("parse host %q: contains whitespace or control characters", s)
	}
	var t Target
	rest := s
	if user, hostport, ok := strings.Cut(s, "@"); ok {
		if err := validUser(user); err != nil {
			return Target{}, fmt.Errorf("parse host %q: %w", s, err)
		}
		t.User, rest = user, hostport
	}
	addr, port, err := splitHostPort(rest)
	if err != nil {
		return Target{}, fmt.Errorf("parse host %q: %w", s, err)
	}
	t.Addr, t.Port, t.Name = addr, port, addr
	return t, nil
}

func splitHostPort(s string) (string, int, error) {
	var host, port string
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return "", 0, errors.New("missing ] after IPv6 address")
		}
		host = s[1:end]
		switch after := s[end+1:]; {
		case after == "":
		case strings.HasPrefix(after, ":"):
			port = after[1:]
			if port == "" {
				return "", 0, errors.New("empty port")
			}
		default:
			return "", 0, fmt.Errorf("unexpected %q after ]", after)
		}
		if ip := net.ParseIP(host); ip == nil || !strings.Contains(host, ":") {
			return "", 0, fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
	case strings.Count(s, ":") > 1:
		// A bare IPv6 address cannot carry a port: brackets are needed for that.
		if net.ParseIP(s) == nil {
			return "", 0, fmt.Errorf("%q is not an IPv6 address (use [addr]:port for a port)", s)
		}
		host = s
	default:
		var ok bool
		host, port, ok = strings.Cut(s, ":")
		if ok && port == "" {
			return "", 0, errors.New("empty port")
		}
		if err := dns.CheckHostname(host); err != nil {
			return "", 0, err
		}
	}
	if port == "" {
		return host, 0, nil
	}
	n, err := remote.ParsePort(port)
	if err != nil {
		return "", 0, err
	}
	return host, n, nil
}

// validUser accepts POSIX-portable user names, which keeps shell
// metacharacters and option-looking values out of the ssh command.
func validUser(u string) error {
	if u == "" {
		return errors.New("empty user before @")
	}
	if u[0] == '-' {
		return fmt.Errorf("user %q starts with -", u)
	}
	for _, r := range u {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("user %q has the character %q", u, r)
		}
	}
	return nil
}
