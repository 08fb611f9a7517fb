package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/fleet"
	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

func deployFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "pull", Usage: "pull every image first; recreate only containers whose image changed", Category: "Deploy"},
		&cli.StringFlag{Name: "batch", Usage: "roll out in waves of `N` hosts or P% of them, each healthy before the next", Category: "Fleet"},
		&cli.IntFlag{Name: "max-failures", Usage: "failed hosts tolerated before no further wave starts", Category: "Fleet"},
		&cli.DurationFlag{Name: "lock-wait", Value: 0, Usage: "wait this long for another run's deploy lock", Category: "Deploy"},
		&cli.DurationFlag{Name: "lock-stale", Value: 30 * time.Minute, Usage: "report a lock older than this as stale (break it with berth unlock)", Category: "Deploy"},
	}
}

func (a *App) deployCommand() *cli.Command {
	return &cli.Command{
		Name:  "deploy",
		Usage: "converge the playbook's stack on every target, then update DNS",
		Description: `Observes each host in one round trip, plans the difference against the
playbook and applies only that: volumes and networks first, then containers in
dependency order, each waited for until healthy. A replaced container is kept
until its successor is healthy and restored if the successor fails. DNS is
updated last and lists only hosts whose deploy succeeded. A run with nothing to
change costs one SSH connection and one command round trip per host.

Example:
   berth deploy --local --var http_port=8080
   berth deploy --ec2-tag Name=blog --domain blog.example.com`,
		Flags: concat(targetFlags(), playbookFlags(), deployFlags(), dnsFlags(), outputFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "stop after printing the plan"},
			&cli.BoolFlag{Name: "detailed-exitcode", Usage: "exit 2 when changes were applied (0 when none were needed)"},
		}),
		Action: func(c *cli.Context) error { return a.converge(c, c.Bool("dry-run")) },
	}
}

func (a *App) planCommand() *cli.Command {
	return &cli.Command{
		Name:  "plan",
		Usage: "show what deploy would change on each host; change nothing",
		Description: `Prints each host's plan as a diff (+ create, ~ recreate, > start, - remove,
= unchanged) and the DNS change. Exit code 0 when everything is in sync, 2 when
anything would change, 1 on error.`,
		Flags:  concat(targetFlags(), playbookFlags(), dnsFlags(), outputFlags(), []cli.Flag{&cli.BoolFlag{Name: "pull", Usage: "pull images first, to see which would be updated"}}),
		Action: func(c *cli.Context) error { return a.converge(c, true) },
	}
}

// hostOutcome is what one host's deploy produced, for the summary.
type hostOutcome struct {
	target inventory.Target
	res    *deploy.Result
}

// converge is deploy and plan: the same flow, plan stopping after the plan.
func (a *App) converge(c *cli.Context, dryRun bool) error {
	rep := a.reporter(c)
	r, err := a.prepare(c, true)
	if err != nil {
		return err
	}
	rep, hostDone, stopLive := a.liveReporter(c, rep, len(r.targets))
	defer stopLive()
	opts := deploy.Options{
		Stack:     c.String("stack"),
		StateDir:  c.String("state-dir"),
		DryRun:    dryRun,
		Pull:      c.Bool("pull"),
		LockWait:  c.Duration("lock-wait"),
		LockStale: c.Duration("lock-stale"),
		Version:   version,
		Reporter:  rep,
	}
	fopts := fleet.Options{Parallel: c.Int("parallel"), Batch: c.String("batch"), MaxFailures: c.Int("max-failures"), OnDone: hostDone}
	results, fleetErr := eachHost(r, fopts, func(ctx context.Context, t inventory.Target, pb *playbooks.Playbook, conn remote.Conn) (hostOutcome, error) {
		res, err := deploy.Deploy(ctx, conn, pb, opts)
		return hostOutcome{target: t, res: res}, err
	})

	drift, applied := false, false
	var healthy []inventory.Target
	for _, r := range results {
		if r.Err == nil && !r.Skipped {
			healthy = append(healthy, r.Value.target)
		}
		if r.Value.res != nil && r.Value.res.Plan != nil && !r.Value.res.Plan.InSync() {
			drift = true
			if !dryRun && r.Value.res.Applied > 0 {
				applied = true
			}
		}
	}
	stopLive()
	dnsChanged, dnsErr := a.dnsStep(c, rep, r.vars, healthy, dryRun)
	if fleetErr == nil && dnsErr == nil && !drift && !dnsChanged && !c.Bool("json") {
		a.inSyncLine(rep, results)
	} else {
		a.summary(rep, c.Bool("json"), results, dryRun)
	}

	switch {
	case fleetErr != nil:
		return withCode(fleetExitCode(results), fleetErr)
	case dnsErr != nil:
		return dnsErr
	case dryRun && (drift || dnsChanged):
		return &exitError{code: exitDrift}
	case !dryRun && c.Bool("detailed-exitcode") && (applied || dnsChanged):
		return &exitError{code: exitDrift}
	}
	return nil
}

// fleetExitCode is 3 when every failure was a held lock, else 1.
func fleetExitCode(results []fleet.Result[hostOutcome]) int {
	code := exitFailure
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		var lock *deploy.LockHeldError
		if !errors.As(r.Err, &lock) {
			return exitFailure
		}
		code = exitLockHeld
	}
	return code
}

// loadPlaybook loads --playbook with the global --var values, overlaid with
// one host's own variables.
func loadPlaybook(c *cli.Context, vars, hostVars map[string]string) (*playbooks.Playbook, error) {
	merged := make(map[string]string, len(vars)+len(hostVars)+1)
	for k, v := range hostVars {
		merged[k] = v
	}
	for k, v := range vars {
		merged[k] = v
	}
	if d := c.String("domain"); d != "" {
		merged["domain"] = d
	}
	pb, err := playbooks.Load(c.String("playbook"), merged)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("load playbook: %w", err)}
	}
	return pb, nil
}

// summary prints one row per host (a table for people, events for --json).
func (a *App) summary(rep ui.Reporter, jsonOut bool, results []fleet.Result[hostOutcome], dryRun bool) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-28s %8s %12s %11s %9s  %s\n", "HOST", "CHANGES", "CONNECTIONS", "ROUND TRIPS", "DURATION", "RESULT")
	for _, r := range results {
		changes, conns, trips, result := 0, 0, 0, "ok"
		if res := r.Value.res; res != nil {
			if res.Plan != nil {
				changes = res.Plan.Changes()
			}
			if !dryRun {
				changes = res.Applied
			}
			conns, trips = res.Stats.Connections, res.Stats.RoundTrips()
		}
		switch {
		case r.Skipped:
			result = "skipped (rollout stopped)"
		case r.Err != nil:
			result = "FAILED: " + r.Err.Error()
		case dryRun && changes > 0:
			result = "drift"
		case changes > 0:
			result = "changed"
		}
		fmt.Fprintf(&b, "%-28s %8d %12d %11d %9s  %s\n", r.Host, changes, conns, trips, r.Duration.Round(time.Millisecond), result)
		if !jsonOut {
			continue
		}
		rep.Report(ui.Event{Kind: ui.KindSummary, Host: r.Host, Message: result, Data: map[string]any{
			"changes": changes, "connections": conns, "round_trips": trips,
			"duration_ms": r.Duration.Milliseconds(), "result": result, "skipped": r.Skipped,
		}})
	}
	if !jsonOut {
		rep.Report(ui.Event{Kind: ui.KindResult, Message: b.String()})
	}
}

// inSyncLine is all a run with nothing to change prints (nothing with --quiet):
// scheduled runs stay quiet.
func (a *App) inSyncLine(rep ui.Reporter, results []fleet.Result[hostOutcome]) {
	var total remote.Stats
	var slowest time.Duration
	for _, r := range results {
		if res := r.Value.res; res != nil {
			total = total.Add(res.Stats)
		}
		slowest = max(slowest, r.Duration)
	}
	rep.Report(ui.Event{Kind: ui.KindSummary, Message: fmt.Sprintf("in sync: %d host(s), nothing to change (%d SSH connection(s), %d round trip(s), %s)",
		len(results), total.Connections, total.RoundTrips(), slowest.Round(time.Millisecond))})
}
