// Package rollout is one run across hosts: the waves (through fleet), each
// host's deploy or plan (through deploy), which hosts serve the stack at the
// end, and the DNS record that lists exactly those. It takes resolved options
// and knows nothing of flags or output formats.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/fleet"
	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// Host is one target with the playbook loaded for it (its own variables).
type Host struct {
	Target   inventory.Target
	Playbook *playbooks.Playbook
	// ID names the host in results and events: user@host:port
	// (remote.HostID); the target's String when empty.
	ID string
}

// Name is the host's id in output.
func (h Host) Name() string {
	if h.ID != "" {
		return h.ID
	}
	return h.Target.String()
}

// Connector opens the one connection a run uses for a target.
type Connector func(ctx context.Context, t inventory.Target) (remote.Conn, error)

// DNS is the record a run maintains: Name's A record through Provider.
type DNS struct {
	Name     string
	TTL      int
	Provider dns.Provider
}

// Options is one resolved run. Deploy.DryRun makes it a plan: nothing is
// changed on the hosts or in DNS.
type Options struct {
	Hosts    []Host
	Connect  Connector
	Deploy   deploy.Options
	Fleet    fleet.Options
	DNS      *DNS // nil: no DNS step
	Reporter ui.Handler
	// Prepare, when set, runs on a host's connection before its deploy (and
	// only there: skipped hosts are observed, never prepared); an error fails
	// the host. deploy --bootstrap uses it.
	Prepare func(ctx context.Context, conn remote.Conn) error
}

// HostResult is what the run did to and learnt about one host.
type HostResult struct {
	Name     string // the host's id (Host.Name), as every event names it
	ConnName string // the connection's name for it (remote.Conn.Host), as per-host lines use
	Target   inventory.Target
	Deploy   *deploy.Result // nil when no deploy ran (skipped, not reached, observe only)
	State    *deploy.State  // set by Observe
	Err      error
	Skipped  bool // never deployed: the rollout stopped first
	Duration time.Duration
	Stats    remote.Stats // what the host cost, over every round trip of the run
	Addr     string       // the address berth reached the host at; "" when it did not
	Serving  bool         // serving the stack healthy at the end (for a plan: would be)
}

// Result is a run's outcome.
type Result struct {
	Hosts []HostResult
	// HostsErr aggregates the failed hosts (nil when none failed).
	HostsErr error
	// DNS is the record change (applied, or planned with DryRun); nil when
	// there is no DNS step or no host serves.
	DNS    *dns.Change
	DNSErr error
}

// DNSChanged reports whether the record needed a change.
func (r *Result) DNSChanged() bool { return r.DNS != nil && r.DNS.Needed }

// Run deploys (or plans) every host in waves, then points DNS at every host
// that serves: those that converged, and those the run did not touch (skipped
// by a stopped rollout, or locked by another run) that a read-only observe
// finds running and healthy. A failed host, or one observed down, is left out.
func Run(ctx context.Context, o Options) *Result {
	rep := reporter(o.Reporter)
	results, hostsErr := fleet.Run(ctx, o.Hosts, hostName, o.Fleet, func(ctx context.Context, h Host) (HostResult, error) {
		var hr HostResult
		conn, err := o.Connect(ctx, h.Target)
		if err != nil {
			return hr, err
		}
		defer conn.Close()
		hr.ConnName, hr.Addr = conn.Host(), addrOf(conn)
		if o.Prepare != nil {
			if err := o.Prepare(ctx, conn); err != nil {
				hr.Stats = statsOf(conn)
				return hr, err
			}
		}
		hr.Deploy, err = deploy.Deploy(ctx, conn, h.Playbook, o.Deploy)
		hr.Serving = err == nil
		var held *deploy.LockHeldError
		if errors.As(err, &held) && o.DNS != nil && !o.Deploy.DryRun {
			// Another run has the host: it may well be serving the last good
			// version, which DNS must not drop. One more round trip says.
			hr.Serving = observeServing(ctx, conn, h.Playbook, o.Deploy, rep)
		}
		hr.Stats = statsOf(conn)
		return hr, err
	})
	r := &Result{HostsErr: hostsErr, Hosts: collect(o.Hosts, results)}
	finishDNS(ctx, o, r, rep, observeSkipped)
	return r
}

// observeSkipped looks at each host a stopped rollout never reached, one
// round trip each, to learn whether it still serves.
func observeSkipped(ctx context.Context, o Options, hosts []HostResult) {
	var idx []int
	for i, h := range hosts {
		if h.Skipped {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	rep := reporter(o.Reporter)
	fopts := fleet.Options{Parallel: o.Fleet.Parallel, MaxFailures: len(idx)}
	// Failures here are not the run's: the host was never deployed, and one
	// that cannot be observed simply does not go into the record.
	_, _ = fleet.Run(ctx, idx, func(i int) string { return hosts[i].Name }, fopts, func(ctx context.Context, i int) (struct{}, error) {
		h := &hosts[i]
		conn, err := o.Connect(ctx, h.Target)
		if err != nil {
			rep.Handle(ui.Warning{Host: h.Name, Message: "not deployed and not reachable, left out of DNS: " + err.Error()})
			return struct{}{}, err
		}
		defer conn.Close()
		h.ConnName, h.Addr = conn.Host(), addrOf(conn)
		h.Serving = observeServing(ctx, conn, o.Hosts[i].Playbook, o.Deploy, rep)
		h.Stats = h.Stats.Add(statsOf(conn))
		return struct{}{}, nil
	})
}

// observeServing is one read-only observe: does the host serve the stack?
func observeServing(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, opts deploy.Options, rep ui.Handler) bool {
	st, err := deploy.Status(ctx, conn, pb, opts)
	if err != nil {
		rep.Handle(ui.Warning{Host: conn.Host(), Message: "could not observe, left out of DNS: " + err.Error()})
		return false
	}
	return st.Serving(pb, opts)
}

// collect merges what fleet knows of each host into its result.
func collect(hosts []Host, results []fleet.Result[HostResult]) []HostResult {
	out := make([]HostResult, len(results))
	for i, fr := range results {
		hr := fr.Value
		hr.Name, hr.Target = fr.Host, hosts[i].Target
		hr.Err, hr.Skipped, hr.Duration = fr.Err, fr.Skipped, fr.Duration
		out[i] = hr
	}
	return out
}

func hostName(h Host) string { return h.Name() }

// addrOf is the address a connection reached; "" for one without an
// address (this machine).
func addrOf(conn remote.Conn) string {
	if a, ok := conn.(remote.Addresser); ok {
		return a.Addr()
	}
	return ""
}

func statsOf(conn remote.Conn) remote.Stats {
	if c, ok := conn.(remote.Counter); ok {
		return c.Stats()
	}
	return remote.Stats{}
}

func reporter(r ui.Handler) ui.Handler { return ui.Or(r) }

// finishDNS points the record (if any) at the hosts that serve, after
// before (when given) has looked at hosts the run did not reach. An
// interrupted run leaves DNS alone and says so.
func finishDNS(ctx context.Context, o Options, r *Result, rep ui.Handler, before func(context.Context, Options, []HostResult)) {
	if o.DNS == nil {
		return
	}
	if err := ctx.Err(); err != nil {
		r.DNSErr = fmt.Errorf("update dns %s: not done: %w", o.DNS.Name, err)
		return
	}
	if before != nil {
		before(ctx, o, r.Hosts)
	}
	r.DNS, r.DNSErr = UpdateDNS(ctx, *o.DNS, r.Hosts, o.Deploy.DryRun, rep)
}
