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
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/remote"
)

func (a *App) destroyCommand() *cli.Command {
	return &cli.Command{
		Name:  "destroy",
		Usage: "remove the stack's containers and networks; volumes stay unless --volumes",
		Description: `Removes the containers and networks of the playbook's stack. Named volumes,
and so all data, stay: deploying again brings the stack back with its data.
--volumes also deletes the volumes and the secrets stored for them; it asks for
confirmation on a terminal, or needs --yes.`,
		Flags: concat(targetFlags(), playbookFlags(), outputFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "volumes", Usage: "also delete the stack's volumes: ALL ITS DATA"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be removed; exit 2 when anything would be"},
			&cli.DurationFlag{Name: "lock-wait", Usage: "wait up to `DURATION` for another run's deploy lock"},
		}),
		Action: func(c *cli.Context) error {
			rep := a.reporter(c)
			r, err := a.prepare(c, true)
			if err != nil {
				return err
			}
			volumes := c.Bool("volumes")
			if volumes && !c.Bool("yes") && !c.Bool("dry-run") {
				if err := a.confirm(fmt.Sprintf("Delete the volumes of stack %q, and all their data, on %d host(s)?", stackName(c.String("stack"), r.playbook, r.vars.forHost(nil)), len(r.hosts))); err != nil {
					return err
				}
			}
			opts := deploy.Options{Stack: c.String("stack"), StateDir: c.String("state-dir"), DryRun: c.Bool("dry-run"),
				LockWait: c.Duration("lock-wait"), Version: version, Reporter: rep}
			results, err := eachHost(c.Context, r, everyHost(r), func(ctx context.Context, h rollout.Host, conn remote.Conn) (*deploy.Result, error) {
				return deploy.Destroy(ctx, conn, h.Playbook, volumes, opts)
			})
			rows := make([]summaryRow, len(results))
			for i, res := range results {
				rows[i] = summaryRow{host: res.Host, res: res.Value, err: res.Err, skipped: res.Skipped, duration: res.Duration}
				if res.Value != nil {
					rows[i].stats = res.Value.Stats
				}
			}
			a.summary(rep, c.Bool("json"), rows, c.Bool("dry-run"))
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
		if r.res != nil && r.res.Plan != nil && !r.res.Plan.InSync() {
			return true
		}
	}
	return false
}

// stackName is --stack, else the playbook's name.
func stackName(stack, ref string, vars map[string]string) string {
	if stack != "" {
		return stack
	}
	if pb, err := loadPlaybook(ref, vars); err == nil {
		return pb.Name
	}
	return ref
}

// confirm asks on a terminal; without one, destructive commands need --yes.
func (a *App) confirm(question string) error {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usageError("refusing to delete volumes without confirmation: stdin is not a terminal; pass --yes")
	}
	fmt.Fprintf(a.stderr, "%s Type yes to confirm: ", question)
	line, _ := bufio.NewReader(f).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return usageError("not confirmed; nothing was deleted")
	}
	return nil
}
