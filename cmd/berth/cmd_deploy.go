package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/fleet"
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
	rep := a.reporter(c)
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
	rep, hostDone, stopLive := a.liveReporter(c, rep, len(r.hosts))
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
			Stack:      c.String("stack"),
			StateDir:   c.String("state-dir"),
			DryRun:     dryRun,
			Pull:       c.Bool("pull"),
			NewSecrets: c.Bool("new-secrets"),
			LockWait:   c.Duration("lock-wait"),
			LockStale:  c.Duration("lock-stale"),
			Version:    version,
			Reporter:   rep,
			Redactor:   a.redactor,
			Adopt:      c.Bool("adopt"),
			Push:       pushes,
			PushSpool:  spool,
		},
		Fleet:    fleet.Options{Parallel: r.parallel, Batch: c.String("batch"), MaxFailures: c.Int("max-failures"), OnDone: hostDone},
		Prepare:  prepare,
		DNS:      d,
		Reporter: rep,
	})
	stopLive()

	rows := deployRows(res.Hosts)
	o := outcomeOf(res, dryRun)
	if o.inSync() && !c.Bool("json") {
		a.inSyncLine(rep, rows)
	} else {
		a.summary(rep, c.Bool("json"), rows, dryRun)
	}
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
	host     string
	res      *deploy.Result // nil when the host was never reached
	stats    remote.Stats
	err      error
	skipped  bool
	duration time.Duration
}

func deployRows(hosts []rollout.HostResult) []summaryRow {
	rows := make([]summaryRow, len(hosts))
	for i, h := range hosts {
		rows[i] = summaryRow{host: h.Name, res: h.Deploy, stats: h.Stats, err: h.Err, skipped: h.Skipped, duration: h.Duration}
	}
	return rows
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

// summary prints one row per host (a table for people, events for --json).
// A host the rollout skipped did not converge, and the closing line says so.
func (a *App) summary(rep ui.Reporter, jsonOut bool, rows []summaryRow, dryRun bool) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	// PUSHED only in runs that pushed images: bytes sent to each host.
	pushedAny := false
	for _, r := range rows {
		pushedAny = pushedAny || (r.res != nil && r.res.Pushed > 0)
	}
	pushedCol := ""
	if pushedAny {
		pushedCol = "PUSHED\t"
	}
	fmt.Fprintln(tw, "HOST\tCHANGES\t"+pushedCol+"CONNECTIONS\tROUND TRIPS\tDURATION\tRESULT")
	ok, failed, skipped := 0, 0, 0
	for _, r := range rows {
		changes, result := 0, "ok"
		var pushed int64
		if res := r.res; res != nil {
			pushed = res.Pushed
			if res.Plan != nil {
				changes = res.Plan.Changes()
			}
			if !dryRun {
				changes = res.Applied
			}
		}
		conns, trips := r.stats.Connections, r.stats.RoundTrips()
		switch {
		case r.skipped:
			result = "skipped (rollout stopped)"
			skipped++
		case r.err != nil:
			result = "FAILED: " + r.err.Error()
			failed++
		case dryRun && changes > 0:
			result, ok = "drift", ok+1
		case changes > 0:
			result, ok = "changed", ok+1
		default:
			ok++
		}
		pushedCell := ""
		if pushedAny {
			pushedCell = fmt.Sprintf("%.1f MiB\t", float64(pushed)/(1<<20))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s%d\t%d\t%s\t%s\n", r.host, changes, pushedCell, conns, trips, r.duration.Round(time.Millisecond), result)
		if !jsonOut {
			continue
		}
		rep.Report(ui.Event{Kind: ui.KindSummary, Host: r.host, Message: result, Data: map[string]any{
			"changes": changes, "pushed_bytes": pushed, "connections": conns, "round_trips": trips,
			"duration_ms": r.duration.Milliseconds(), "result": result, "skipped": r.skipped,
		}})
	}
	tw.Flush()
	if skipped > 0 {
		fmt.Fprintf(&b, "%d of %d host(s) done; %d failed, %d not converged (skipped)\n", ok, len(rows), failed, skipped)
	}
	if !jsonOut {
		rep.Report(ui.Event{Kind: ui.KindResult, Message: b.String()})
	}
}

// inSyncLine is all a run with nothing to change prints (nothing with --quiet):
// scheduled runs stay quiet.
func (a *App) inSyncLine(rep ui.Reporter, rows []summaryRow) {
	var total remote.Stats
	var slowest time.Duration
	for _, r := range rows {
		total = total.Add(r.stats)
		slowest = max(slowest, r.duration)
	}
	rep.Report(ui.Event{Kind: ui.KindSummary, Message: fmt.Sprintf("in sync: %d host(s), nothing to change (%d SSH connection(s), %d round trip(s), %s)",
		len(rows), total.Connections, total.RoundTrips(), slowest.Round(time.Millisecond))})
}
