package main

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/fleet"
	"github.com/berth-sh/berth/internal/rollout"
)

func dnsFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "domain", Usage: "DNS `NAME` to point at the healthy hosts (overrides the playbook's dns.name)", Category: "DNS"},
		&cli.StringFlag{Name: "zone-id", Usage: "Route 53 hosted zone `ID` (default: the longest matching public zone)", Category: "DNS"},
		&cli.DurationFlag{Name: "dns-timeout", Value: 5 * time.Minute, Usage: "wait up to `DURATION` for Route 53 to report the change INSYNC", Category: "DNS"},
		&cli.BoolFlag{Name: "no-dns-wait", Usage: "do not wait for the DNS change to be INSYNC", Category: "DNS"},
		&cli.DurationFlag{Name: "dns-poll", Value: 10 * time.Second, Usage: "first `DELAY` between INSYNC checks (Route 53 backs off from there)", Category: "DNS"},
	}
}

func (a *App) dnsCommand() *cli.Command {
	return &cli.Command{
		Name:  "dns",
		Usage: "only the DNS step: point the record at the targets that serve the stack",
		Description: `Observes the stack on every target (one round trip each, changing nothing)
and sets the A record (--domain, or the playbook's dns.name) to the addresses
berth reached the serving targets at, through Route 53: a target serves when
every container of the playbook runs and is healthy. A record that already
holds exactly those IPs and TTL is left alone; a CNAME or alias at the name is
refused.`,
		Flags: concat(targetFlags(), playbookFlags(), dnsFlags(), outputFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "show the change, send nothing"},
		}),
		Action: func(c *cli.Context) error {
			r, err := a.prepare(c, true)
			if err != nil {
				return err
			}
			d, err := a.dnsRecord(c, r)
			if err != nil {
				return err
			}
			if d == nil {
				return nil // no name: nothing to do
			}
			rep := a.handler(c)
			res := rollout.Observe(c.Context, rollout.Options{
				Hosts:    r.hosts,
				Connect:  r.connector(),
				Deploy:   deploy.Options{Stack: c.String("stack"), StateDir: c.String("state-dir"), DryRun: c.Bool("dry-run"), Reporter: rep, Redactor: a.redactor},
				Fleet:    fleet.Options{Parallel: r.parallel},
				DNS:      d,
				Reporter: rep,
			})
			switch {
			case res.DNSErr != nil:
				return res.DNSErr
			case res.HostsErr != nil:
				return withCode(exitFailure, res.HostsErr)
			case res.DNSChanged() && c.Bool("dry-run"):
				return &exitError{code: exitDrift}
			}
			return nil
		},
	}
}

// dnsRecord is the record a command maintains: --domain, else the playbook's
// dns.name; nil when there is neither.
func (a *App) dnsRecord(c *cli.Context, r *run) (*rollout.DNS, error) {
	pb, err := loadPlaybook(r.playbook, r.vars.forHost(nil))
	if err != nil {
		return nil, err
	}
	d := &rollout.DNS{Name: c.String("domain"), TTL: dns.DefaultTTL}
	if pb.DNS != nil {
		if d.Name == "" {
			d.Name = pb.DNS.Name // --domain wins over the playbook's name
		}
		if pb.DNS.TTL > 0 {
			d.TTL = pb.DNS.TTL
		}
	}
	if d.Name == "" {
		return nil, nil
	}
	if d.Provider, err = a.route53(c); err != nil {
		return nil, err
	}
	return d, nil
}

func (a *App) route53(c *cli.Context) (dns.Provider, error) {
	cfg, err := awscfg.Load(c.Context, awsOptions(c))
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
