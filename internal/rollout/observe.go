package rollout

import (
	"context"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/fleet"
)

// Observe reads the stack on every host, one round trip each, changing
// nothing; each result carries the State and whether the host serves. With
// DNS set, the record is then planned (Deploy.DryRun) or pointed at exactly
// the serving hosts. A host that cannot be observed fails, and is left out.
func Observe(ctx context.Context, o Options) *Result {
	rep := reporter(o.Reporter)
	fopts := o.Fleet
	fopts.MaxFailures = len(o.Hosts) // every host is looked at
	results, hostsErr := fleet.Run(ctx, o.Hosts, hostName, fopts, func(ctx context.Context, h Host) (HostResult, error) {
		var hr HostResult
		conn, err := o.Connect(ctx, h.Target)
		if err != nil {
			return hr, err
		}
		defer conn.Close()
		hr.ConnName, hr.Addr = conn.Host(), addrOf(conn)
		hr.State, err = deploy.Status(ctx, conn, h.Playbook, o.Deploy)
		hr.Stats = statsOf(conn)
		if err != nil {
			return hr, err
		}
		hr.Serving = hr.State.Serving(h.Playbook, o.Deploy)
		return hr, nil
	})
	r := &Result{HostsErr: hostsErr, Hosts: collect(o.Hosts, results)}
	finishDNS(ctx, o, r, rep, nil)
	return r
}
