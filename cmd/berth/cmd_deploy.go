package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/fleet"
	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/remote"
)

func deployFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "pull", Usage: "pull every image first; recreate only containers whose image changed", Category: "Deploy"},
		&cli.StringFlag{Name: "batch", Usage: "roll out in waves of `N` hosts or P% of them, each healthy before the next", Category: "Fleet"},
		&cli.IntFlag{Name: "max-failures", Usage: "`N` failed hosts tolerated before no further wave starts", Category: "Fleet"},
		&cli.DurationFlag{Name: "lock-wait", Value: 0, Usage: "wait up to `DURATION` for another run's deploy lock", Category: "Deploy"},
		lockStaleFlag(),
		newSecretsFlag(),
		adoptFlag(),
	}
}

// adoptFlag lets deploy and plan take over objects with the playbook's names
// that carry no berth label; without it berth stops on them.
func adoptFlag() cli.Flag {
	return &cli.BoolFlag{Name: "adopt", Usage: "take over volumes, networks and containers with the playbook's names that have no berth label (never another stack's)", Category: "Deploy"}
}

func newSecretsFlag() cli.Flag {
	return &cli.BoolFlag{Name: "new-secrets", Category: "Deploy",
		Usage: "generate secrets with no stored value even though the stack's volumes exist (data set up with the old ones will not match)"}
}

// defaultLockStale is how long a deploy lock may go without its holder's
// heartbeat (refreshed every minute at most) before the next run breaks it.
const defaultLockStale = 10 * time.Minute

func lockStaleFlag() cli.Flag {
	return &cli.DurationFlag{Name: "lock-stale", Value: defaultLockStale, Category: "Deploy",
		Usage: "break a deploy lock whose holder's heartbeat is older than `DURATION` (its run is gone)"}
}

func (a *App) deployCommand() *cli.Command {
	return &cli.Command{
		Name:  "deploy",
		Usage: "converge the playbook's stack on every target, then update DNS",
		Description: `Observes each host in one round trip, plans the difference against the
playbook and applies only that: volumes and networks first, then containers in
dependency order, each waited for until healthy. A replaced container is kept
until its successor is healthy and restored if the successor fails. DNS is
updated last and lists every host serving the stack healthy: those that
converged, and those the run did not deploy (a stopped rollout, another run's
lock) that one read-only round trip finds running and healthy. Hosts a stopped
rollout skipped count as not converged (exit 1). A run with nothing to change
costs one SSH connection and one command round trip per host.

Variables, most specific first: --var, the host's own (berth.yaml hosts[].vars,
EC2 tags berth:var:KEY), berth.yaml vars:, the playbook's defaults.

Example:
   berth deploy --local --var http_port=8080
   berth deploy --ec2-tag Name=blog --domain blog.example.com`,
		Flags: concat(targetFlags(), playbookFlags(), deployFlags(), pushFlags(), dnsFlags(), outputFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "stop after printing the plan; exit 2 when anything would change"},
			&cli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 2 when changes were applied (0 when none were needed)"},
			&cli.BoolFlag{Name: "bootstrap", Usage: "first make each host ready as berth bootstrap does (install and start Docker)"},
		}),
		Action: func(c *cli.Context) error { return a.converge(c, c.Bool("dry-run")) },
	}
}

func (a *App) planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "show what deploy would change on each host; change nothing",
		Description: `Prints each host's plan as a diff (+ create, ~ recreate, > start, - remove,
& adopt, = unchanged) and the DNS change. Exit code 0 when everything is in sync, 2 when
anything would change, 1 on error, and 1 when an object with the playbook's names
belongs to another stack or has no berth label (foreign; see --adopt).`,
		Flags: concat(targetFlags(), playbookFlags(), dnsFlags(), outputFlags(), pushFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "pull", Usage: "pull images first, to see which would be updated"},
			newSecretsFlag(),
			adoptFlag(),
		}),
		Action: func(c *cli.Context) error { return a.converge(c, true) },
	}
}

// converge is deploy and plan: the same rollout, plan stopping after the plan.
func (a *App) converge(c *cli.Context, dryRun bool) error {
	rep := a.handler(c)
	r, err := a.prepare(c, true)
	if err != nil {
		return err
	}
	d, err := a.dnsRecord(c, r)
	if err != nil {
		return err
	}
	pushes, err := pushImages(c.Context, c.Bool("push"), c.StringSlice("push-archive"), r.hosts)
	if err != nil {
		return err
	}
	spool, err := pushSpool(pushes, len(r.hosts), dryRun)
	if err != nil {
		return err
	}
	defer spool.Close()
	rep, hostDone, stopLive := a.withLive(rep, len(r.hosts))
	defer stopLive()
	var prepare func(context.Context, remote.Conn) error
	if c.Bool("bootstrap") && !dryRun {
		prepare = func(ctx context.Context, conn remote.Conn) error {
			_, err := bootstrapHost(ctx, conn, rep)
			return err
		}
	}
	res := rollout.Run(c.Context, rollout.Options{
		Hosts:   r.hosts,
		Connect: r.connector(),
		Deploy: deploy.Options{
			Stack:          c.String("stack"),
			StateDir:       c.String("state-dir"),
			CommandTimeout: c.Duration("command-timeout"),
			DryRun:         dryRun,
			Pull:           c.Bool("pull"),
			NewSecrets:     c.Bool("new-secrets"),
			LockWait:       c.Duration("lock-wait"),
			LockStale:      c.Duration("lock-stale"),
			Version:        version,
			Reporter:       rep,
			Redactor:       a.redactor,
			Adopt:          c.Bool("adopt"),
			Push:           pushes,
			PushSpool:      spool,
		},
		Fleet:    fleet.Options{Parallel: r.parallel, Batch: c.String("batch"), MaxFailures: c.Int("max-failures"), OnDone: hostDone},
		Prepare:  prepare,
		DNS:      d,
		Reporter: rep,
	})
	stopLive()

	o := outcomeOf(res, dryRun)
	summary(rep, deployRows(res.Hosts), dryRun, o.inSync())
	return o.err(c.Bool("detailed-exitcode"))
}

// outcome is what a deploy or plan run came to, for its summary and exit code.
type outcome struct {
	res     *rollout.Result
	dryRun  bool
	drift   bool // some host's plan had changes
	applied bool // and the deploy applied some
	skipped int  // hosts a stopped rollout never deployed
}

func outcomeOf(res *rollout.Result, dryRun bool) outcome {
	o := outcome{res: res, dryRun: dryRun}
	for _, h := range res.Hosts {
		if h.Skipped {
			o.skipped++
		}
		if p := h.Deploy; p != nil && p.Plan != nil && !p.Plan.InSync() {
			o.drift = true
			if !dryRun && p.Applied > 0 {
				o.applied = true
			}
		}
	}
	return o
}

// inSync is a run that found nothing to change anywhere, DNS included.
func (o outcome) inSync() bool {
	return o.res.HostsErr == nil && o.res.DNSErr == nil && o.skipped == 0 && !o.drift && !o.res.DNSChanged()
}

// err maps the outcome to the documented exit codes.
func (o outcome) err(detailed bool) error {
	switch {
	case o.res.HostsErr != nil:
		return withCode(fleetExitCode(deployRows(o.res.Hosts)), o.res.HostsErr)
	case o.skipped > 0:
		// Not converged, though nothing failed: the rollout was stopped.
		return withCode(exitFailure, fmt.Errorf("%d host(s) not deployed: the rollout stopped before them", o.skipped))
	case o.res.DNSErr != nil:
		return o.res.DNSErr
	case o.dryRun && (o.drift || o.res.DNSChanged()):
		return &exitError{code: exitDrift}
	case !o.dryRun && detailed && (o.applied || o.res.DNSChanged()):
		return &exitError{code: exitDrift}
	}
	return nil
}

// summaryRow is one host's line in a deploy, plan or destroy summary.
type summaryRow struct {
	host     string         // the host's id
	name     string         // the target's own name, when it has one besides
	res      *deploy.Result // nil when the host was never reached
	stats    remote.Stats
	err      error
	skipped  bool
	duration time.Duration
}

func deployRows(hosts []rollout.HostResult) []summaryRow {
	rows := make([]summaryRow, len(hosts))
	for i, h := range hosts {
		rows[i] = summaryRow{host: h.Name, name: alias(h.Target, h.Name), res: h.Deploy, stats: h.Stats, err: h.Err, skipped: h.Skipped, duration: h.Duration}
	}
	return rows
}

// alias is the target's own name when it says more than its id.
func alias(t inventory.Target, id string) string {
	if t.Name == t.Addr || t.Name == id {
		return ""
	}
	return t.Name
}

// fleetExitCode is 3 when every failure was a held lock, else 1.
func fleetExitCode(rows []summaryRow) int {
	code := exitFailure
	for _, r := range rows {
		if r.err == nil {
			continue
		}
		var lock *deploy.LockHeldError
		if !errors.As(r.err, &lock) {
			return exitFailure
		}
		code = exitLockHeld
	}
	return code
}

// summary reports one row per host, then the run's closing line: a table
// for people (one line on stderr when nothing needed a change, so scheduled
// runs stay quiet), events for --json. A host the rollout skipped did not
// converge, and the closing line says so.
func summary(h ui.Handler, rows []summaryRow, dryRun, inSync bool) {
	run := ui.RunSummary{Hosts: len(rows), InSync: inSync}
	for _, r := range rows {
		s := ui.Summary{Host: r.host, Name: r.name, Result: ui.SummaryOK, Connections: r.stats.Connections,
			RoundTrips: r.stats.RoundTrips(), Duration: ui.Duration(r.duration), Skipped: r.skipped}
		if res := r.res; res != nil {
			s.Pushed = res.Pushed
			if res.Plan != nil {
				s.Changes = res.Plan.Changes()
			}
			if !dryRun {
				s.Changes = res.Applied
			}
		}
		switch {
		case r.skipped:
			s.Result = ui.SummarySkipped
			run.Skipped++
		case r.err != nil:
			s.Result, s.Error = ui.SummaryFailed, r.err.Error()
			run.Failed++
		case dryRun && s.Changes > 0:
			s.Result = ui.SummaryDrift
			run.OK++
		case s.Changes > 0:
			s.Result = ui.SummaryChanged
			run.OK++
		default:
			run.OK++
		}
		run.Connections += s.Connections
		run.RoundTrips += s.RoundTrips
		run.Duration = max(run.Duration, s.Duration)
		h.Handle(s)
	}
	h.Handle(run)
}
