// Package dns makes a name resolve to a set of IPs. Providers plan first (read
// the current record) and apply only when the record differs, so a re-run
// with the right record costs one read and no change.
package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// DefaultTTL is used when a plan asks for TTL 0.
const DefaultTTL = 60

// Provider points DNS names at IPs.
type Provider interface {
	// Plan reads the current record for name and says what Apply would do.
	Plan(ctx context.Context, name string, ips []string, ttl int) (*Change, error)
	// Apply makes the planned change; it does nothing when !c.Needed.
	Apply(ctx context.Context, c *Change) error
}

// Change is a planned record update.
type Change struct {
	Name      string // normalised: lower case, trailing dot
	Type      string // "A"
	TTL       int
	Before    []string // current values, sorted; empty when there is no record
	BeforeTTL int
	After     []string // wanted values, sorted
	Needed    bool
	ZoneID    string // the provider's zone, when it has zones
}

// NormalizeName lower-cases a DNS name, adds the trailing dot, and checks its
// syntax (see CheckHostname) and that it lies inside a zone. A leading "*"
// label (a wildcard) is allowed; Route 53's \052 escape for it is accepted too.
func NormalizeName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.ReplaceAll(n, `\052`, "*")
	if n == "" || n == "." {
		return "", fmt.Errorf("normalize dns name %q: empty", name)
	}
	if !strings.HasSuffix(n, ".") {
		n += "."
	}
	if len(n) > 254 {
		return "", fmt.Errorf("normalize dns name %q: longer than 253 characters", name)
	}
	if strings.Count(n, ".") < 2 {
		return "", fmt.Errorf("normalize dns name %q: want a name inside a zone, such as blog.example.com", name)
	}
	if err := CheckHostname(strings.TrimPrefix(n, "*.")); err != nil {
		return "", fmt.Errorf("normalize dns name %q: %w", name, err)
	}
	return n, nil
}

// CheckHostname is berth's one check of host name syntax, for record names
// and for SSH addresses alike: dot-separated labels of letters, digits,
// hyphens and underscores, 1 to 63 characters each, none starting or ending
// with a hyphen, at most 253 characters in all; a trailing dot is allowed.
func CheckHostname(h string) error {
	n := strings.TrimSuffix(h, ".")
	if n == "" {
		return errors.New("empty name")
	}
	if len(n) > 253 {
		return errors.New("name longer than 253 characters")
	}
	for _, l := range strings.Split(n, ".") {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("name %q has an empty or over-long label", h)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("name %q has the label %q, which starts or ends with -", h, l)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("name %q: character %q not allowed", h, r)
			}
		}
	}
	return nil
}

// NormalizeIPv4 validates A record values and returns them deduplicated and
// sorted numerically, so that two sets compare equal whatever their order.
func NormalizeIPv4(ips []string) ([]string, error) {
	if len(ips) == 0 {
		return nil, fmt.Errorf("normalize ips: none given: refusing to point a name at nothing")
	}
	addrs := make([]netip.Addr, 0, len(ips))
	for _, s := range ips {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("normalize ips: %q is not an IPv4 address (an A record holds IPv4 only)", s)
		}
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out, nil
}

// sortIPs orders record values as NormalizeIPv4 does, leaving any value that
// is not an address (a record edited by hand) after the addresses.
func sortIPs(values []string) []string {
	out := slices.Clone(values)
	slices.SortFunc(out, func(a, b string) int {
		x, errX := netip.ParseAddr(a)
		y, errY := netip.ParseAddr(b)
		switch {
		case errX == nil && errY == nil:
			return x.Compare(y)
		case errX == nil:
			return -1
		case errY == nil:
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}
