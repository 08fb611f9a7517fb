package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/remote"
)

func (a *App) destroyCommand() *cli.Command {
	return &cli.Command{
		Name:  "destroy",
		Usage: "remove the stack's containers and networks; volumes stay unless --volumes",
		Description: `Removes the containers and networks of the playbook's stack. Named volumes,
and so all data, stay: deploying again brings the stack back with its data.
--volumes also deletes the volumes and the secrets stored for them; it asks for
confirmation on a terminal, naming each volume, its host and its size, or
needs --yes.`,
		Flags: concat(targetFlags(), playbookFlags(), outputFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "volumes", Usage: "also delete the stack's volumes: ALL ITS DATA"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be removed; exit 2 when anything would be"},
			&cli.DurationFlag{Name: "lock-wait", Usage: "wait up to `DURATION` for another run's deploy lock"},
			lockStaleFlag(),
		}),
		Action: func(c *cli.Context) error {
			rep := a.handler(c)
			r, err := a.prepare(c, true)
			if err != nil {
				return err
			}
			volumes := c.Bool("volumes")
			opts := deploy.Options{Stack: c.String("stack"), StateDir: c.String("state-dir"), DryRun: c.Bool("dry-run"),
				LockWait: c.Duration("lock-wait"), LockStale: c.Duration("lock-stale"), Version: version, Reporter: rep, Redactor: a.redactor}
			if volumes && !c.Bool("yes") && !c.Bool("dry-run") {
				doomed, err := doomedVolumes(c.Context, r, opts)
				if err != nil {
					return err
				}
				if len(doomed) > 0 {
					q := fmt.Sprintf("Delete these volumes of stack %q, and all their data?\n%s",
						r.stack, strings.Join(doomed, "\n"))
					if err := a.confirm(q); err != nil {
						return err
					}
				}
			}
			rows, err := destroyEach(c.Context, r, opts, volumes)
			summary(rep, rows, c.Bool("dry-run"), false)
			if err != nil {
				return withCode(fleetExitCode(rows), err)
			}
			if c.Bool("dry-run") && anyChanges(rows) {
				return &exitError{code: exitDrift}
			}
			return nil
		},
	}
}

// anyChanges reports whether any host's plan changes something.
func anyChanges(rows []summaryRow) bool {
	for _, r := range rows {
		// Changes, not InSync: foreign objects destroy skips are no change.
		if r.res != nil && r.res.Plan != nil && r.res.Plan.Changes() > 0 {
			return true
		}
	}
	return false
}

// destroyEach runs destroy on every host, one summary row each.
func destroyEach(ctx context.Context, r *run, opts deploy.Options, volumes bool) ([]summaryRow, error) {
	results, err := eachHost(ctx, r, everyHost(r), func(ctx context.Context, h rollout.Host, conn remote.Conn) (*deploy.Result, error) {
		return deploy.Destroy(ctx, conn, h.Playbook, volumes, opts)
	})
	rows := make([]summaryRow, len(results))
	for i, res := range results {
		rows[i] = summaryRow{host: res.Host, name: alias(r.hosts[i].Target, res.Host), res: res.Value, err: res.Err, skipped: res.Skipped, duration: res.Duration}
		if res.Value != nil {
			rows[i].stats = res.Value.Stats
		}
	}
	return rows, err
}

// doomedVolumes lists, per host, the volumes destroy --volumes would delete
// and their sizes, from a dry run that prints nothing: what the confirmation
// names.
func doomedVolumes(ctx context.Context, r *run, opts deploy.Options) ([]string, error) {
	opts.DryRun, opts.Reporter = true, ui.Discard{}
	rows, err := destroyEach(ctx, r, opts, true)
	if err != nil {
		return nil, withCode(fleetExitCode(rows), fmt.Errorf("list the volumes to delete: %w", err))
	}
	var lines []string
	for _, row := range rows {
		if row.res == nil || row.res.Plan == nil {
			continue
		}
		for _, act := range row.res.Plan.Actions {
			if act.Object == plan.Volume && act.Kind == plan.Remove {
				lines = append(lines, fmt.Sprintf("  %s: volume %s (%s)", row.host, act.Name, strings.Join(act.Reasons, ", ")))
			}
		}
	}
	return lines, nil
}

// confirm asks on a terminal; without one, destructive commands need --yes.
func (a *App) confirm(question string) error {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usageError("%s\nrefusing to delete without confirmation: stdin is not a terminal; pass --yes", question)
	}
	fmt.Fprintf(a.stderr, "%s\nType yes to confirm: ", question)
	line, _ := bufio.NewReader(f).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return usageError("not confirmed; nothing was deleted")
	}
	return nil
}
