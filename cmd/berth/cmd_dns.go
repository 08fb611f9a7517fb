package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/ui"
)

func dnsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "domain", Usage: "DNS `NAME` to point at the healthy hosts (overrides the playbook's dns.name)", Category: "DNS"},
		&cli.StringFlag{Name: "zone-id", Usage: "Route 53 hosted zone `ID` (default: the longest matching public zone)", Category: "DNS"},
		&cli.DurationFlag{Name: "dns-timeout", Value: 5 * time.Minute, Usage: "wait this long for Route 53 to report the change INSYNC", Category: "DNS"},
		&cli.BoolFlag{Name: "no-dns-wait", Usage: "do not wait for the DNS change to be INSYNC", Category: "DNS"},
		&cli.DurationFlag{Name: "dns-poll", Value: 10 * time.Second, Usage: "first delay between INSYNC checks (Route 53 backs off from there)", Category: "DNS"},
	}
}

func (a *App) dnsCommand() *cli.Command {
	return &cli.Command{
		Name:  "dns",
		Usage: "only the DNS step: point the record at the targets' IPs",
		Description: `Sets the A record (--domain, or the playbook's dns.name) to the IPs of the
targets, through Route 53. A record that already holds exactly those IPs and
TTL is left alone; a CNAME or alias at the name is refused.`,
		Flags: concat(targetFlags(), playbookFlags(), dnsFlags(), outputFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "show the change, send nothing"},
		}),
		Action: func(c *cli.Context) error {
			vars, err := a.vars(c)
			if err != nil {
				return err
			}
			targets, err := a.targets(c)
			if err != nil {
				return err
			}
			changed, err := a.dnsStep(c, a.reporter(c), vars, targets, c.Bool("dry-run"))
			if err == nil && changed && c.Bool("dry-run") {
				return &exitError{code: exitDrift}
			}
			return err
		},
	}
}

// dnsStep points the playbook's (or --domain's) name at the given hosts. It
// returns whether the record needed a change. No name: nothing to do.
func (a *App) dnsStep(c *cli.Context, rep ui.Reporter, vars map[string]string, hosts []inventory.Target, dryRun bool) (bool, error) {
	pb, err := loadPlaybook(c, vars, nil)
	if err != nil {
		return false, err
	}
	name, ttl := c.String("domain"), dns.DefaultTTL
	if pb.DNS != nil {
		if name == "" {
			name = pb.DNS.Name // --domain wins over the playbook's name
		}
		if pb.DNS.TTL > 0 {
			ttl = pb.DNS.TTL
		}
	}
	if name == "" {
		return false, nil
	}
	if len(hosts) == 0 {
		rep.Report(ui.Event{Kind: ui.KindWarn, Message: fmt.Sprintf("dns %s: no healthy host, record left alone", name)})
		return false, nil
	}
	ips, err := hostIPs(c.Context, hosts)
	if err != nil {
		return false, err
	}
	provider, err := a.route53(c)
	if err != nil {
		return false, err
	}
	change, err := provider.Plan(c.Context, name, ips, ttl)
	if err != nil {
		return false, fmt.Errorf("plan dns %s: %w", name, err)
	}
	if dryRun || change.Needed {
		rep.Report(ui.Event{Kind: ui.KindPlan, Message: change.String(), Data: map[string]any{"dns": name, "ips": ips, "changed": change.Needed}})
	}
	if dryRun || !change.Needed {
		return change.Needed, nil
	}
	rep.Report(ui.Event{Kind: ui.KindProgress, Message: fmt.Sprintf("dns %s: updating, then waiting for INSYNC", name)})
	if err := provider.Apply(c.Context, change); err != nil {
		return true, fmt.Errorf("update dns %s: %w", name, err)
	}
	rep.Report(ui.Event{Kind: ui.KindProgress, Message: fmt.Sprintf("dns %s: now %v", name, ips)})
	return true, nil
}

func (a *App) route53(c *cli.Context) (dns.Provider, error) {
	cfg, err := awscfg.Load(c.Context, awscfg.Options{Region: c.String("region"), Profile: c.String("profile")})
	if err != nil {
		return nil, err
	}
	return dns.NewRoute53(route53.NewFromConfig(cfg), dns.Route53Options{
		ZoneID:       c.String("zone-id"),
		Wait:         !c.Bool("no-dns-wait"),
		WaitTimeout:  c.Duration("dns-timeout"),
		WaitMinDelay: c.Duration("dns-poll"),
	}), nil
}

// hostIPs gives the addresses an A record should hold for the hosts.
func hostIPs(ctx context.Context, hosts []inventory.Target) ([]string, error) {
	seen := map[string]bool{}
	var ips []string
	for _, h := range hosts {
		addr := h.PublicIP
		if addr == "" {
			addr = h.Addr
		}
		if addr == "" {
			return nil, fmt.Errorf("dns: %s has no address to publish", h.String())
		}
		if ip := net.ParseIP(addr); ip == nil {
			found, err := net.DefaultResolver.LookupIP(ctx, "ip4", addr)
			if err != nil || len(found) == 0 {
				return nil, fmt.Errorf("dns: resolve %s: %v", addr, err)
			}
			addr = found[0].String()
		}
		if !seen[addr] {
			seen[addr] = true
			ips = append(ips, addr)
		}
	}
	return ips, nil
}
