package rollout

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/remote"
)

// UpdateDNS points d.Name at the addresses of the serving hosts, or with
// dryRun only reports the change it would make. No serving host: the record
// is left alone (pointing a name at nothing helps nobody), with a warning.
func UpdateDNS(ctx context.Context, d DNS, hosts []HostResult, dryRun bool, rep ui.Handler) (*dns.Change, error) {
	rep = reporter(rep)
	ips, err := servingAddrs(hosts)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		rep.Handle(ui.DNS{Name: d.Name, Status: ui.DNSSkipped})
		return nil, nil
	}
	change, err := d.Provider.Plan(ctx, d.Name, ips, d.TTL)
	if err != nil {
		return nil, fmt.Errorf("plan dns %s: %w", d.Name, err)
	}
	if dryRun || change.Needed {
		rep.Handle(dnsEvent(d.Name, ui.DNSPlanned, change))
	}
	if dryRun || !change.Needed {
		return change, nil
	}
	rep.Handle(dnsEvent(d.Name, ui.DNSUpdating, change))
	if err := d.Provider.Apply(ctx, change); err != nil {
		return change, fmt.Errorf("update dns %s: %w", d.Name, err)
	}
	rep.Handle(dnsEvent(d.Name, ui.DNSUpdated, change))
	return change, nil
}

// dnsEvent is the record step as data: the change planned or made.
func dnsEvent(name, status string, c *dns.Change) ui.DNS {
	return ui.DNS{Name: name, Status: status, Record: strings.TrimSuffix(c.Name, "."), Type: c.Type,
		Before: c.Before, After: c.After, TTL: c.TTL, BeforeTTL: c.BeforeTTL, Changed: c.Needed}
}

// servingAddrs is the address berth reached each serving host at, once each,
// in host order. Only IP addresses can go into an A record: a host reached
// by name through a jump host (which resolved it) has none to publish.
func servingAddrs(hosts []HostResult) ([]string, error) {
	seen := map[string]bool{}
	var ips []string
	for _, h := range hosts {
		if !h.Serving {
			continue
		}
		if h.Addr == "" {
			return nil, fmt.Errorf("dns: %s has no address to publish", h.Name)
		}
		if _, err := netip.ParseAddr(h.Addr); err != nil {
			return nil, fmt.Errorf("dns: %s was reached as %q through a jump host, not at an IP address to publish; give its HostName as an IP", h.Name, h.Addr)
		}
		if !seen[h.Addr] {
			seen[h.Addr] = true
			ips = append(ips, h.Addr)
		}
	}
	return ips, nil
}

// PointAt points d.Name at exactly the host behind conn (berth move's flip),
// through the same plan-then-apply path as a run's DNS step.
func PointAt(ctx context.Context, d DNS, conn remote.Conn, rep ui.Handler) (*dns.Change, error) {
	return UpdateDNS(ctx, d, []HostResult{{Name: conn.Host(), ConnName: conn.Host(), Addr: addrOf(conn), Serving: true}}, false, rep)
}
