package inventory

import (
	"errors"
	"fmt"
	"strings"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/remote"
)

// ParseHost parses a --host value, [user@]addr[:port] (remote.SplitTarget's
// syntax), where addr is a host name, an IPv4 address, or an IPv6 address
// (bracketed when a port follows: [::1]:2222). It rejects anything else,
// since the value reaches ssh.
func ParseHost(s string) (Target, error) {
	if s == "" {
		return Target{}, errors.New("parse host: empty")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Target{}, fmt.Errorf("parse host %q: contains whitespace or control characters", s)
	}
	user, addr, port, err := remote.SplitTarget(s)
	if err == nil && user != "" {
		err = validUser(user)
	}
	if err == nil && !strings.Contains(addr, ":") { // SplitTarget checked IPv6 addresses
		err = dns.CheckHostname(addr)
	}
	if err != nil {
		return Target{}, fmt.Errorf("parse host %q: %w", s, err)
	}
	return Target{User: user, Addr: addr, Port: port, Name: addr}, nil
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
