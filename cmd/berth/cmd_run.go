package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/remote"
)

func (a *App) runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run an ad-hoc command on every target",
		Args:      true,
		ArgsUsage: "-- CMD [ARGS...]",
		Description: `Runs CMD with ARGS on every target, like "ansible all -a". Each output line
is prefixed with its host; stdout stays stdout and stderr stays stderr. The
arguments reach the remote command exactly as given (they are quoted for the
remote shell, never interpreted by it). The exit code is 1 if any host failed.

Example:
   berth run --host deploy@10.0.0.5 --host 10.0.0.6 -- docker ps --format '{{.Names}}'`,
		Flags: concat(targetFlags(), []cli.Flag{
			&cli.BoolFlag{Name: "stdin", Usage: "send berth's stdin to the command (one target only)"},
		}),
		Action: func(c *cli.Context) error {
			argv := c.Args().Slice()
			if len(argv) == 0 {
				return usageError("run: no command given; usage: berth run [targets] -- CMD [ARGS...]")
			}
			r, err := a.prepare(c, false)
			if err != nil {
				return err
			}
			var stdin io.Reader
			if c.Bool("stdin") {
				if len(r.hosts) != 1 {
					return usageError("run --stdin: needs exactly one target, got %d", len(r.hosts))
				}
				stdin = a.stdin
			}
			stdout, stderr := ui.NewSyncWriter(a.stdout), ui.NewSyncWriter(a.stderr)
			results, err := eachHost(c.Context, r, everyHost(r), func(ctx context.Context, _ rollout.Host, conn remote.Conn) (remote.Stats, error) {
				out := ui.NewPrefixWriter(stdout, conn.Host()+": ")
				errOut := ui.NewPrefixWriter(stderr, conn.Host()+": ")
				err := conn.Run(ctx, remote.Cmd{Args: argv, Stdin: stdin, Stdout: out, Stderr: errOut})
				out.Close()
				errOut.Close()
				return statsOf(conn), err
			})
			costLine(a.handler(c), len(results), totalStats(results))
			failed := 0
			for _, r := range results {
				var exit *remote.ExitError
				switch {
				case r.Err == nil:
				case errors.As(r.Err, &exit):
					failed++
					fmt.Fprintf(stderr, "%s: exit status %d\n", r.Host, exit.Code)
				default:
					failed++
					fmt.Fprintf(stderr, "%s: error: %v\n", r.Host, r.Err)
				}
			}
			if failed > 0 {
				return &exitError{code: exitFailure, err: fmt.Errorf("run: %d of %d hosts failed", failed, len(results))}
			}
			return err
		},
	}
}
