package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

func (a *App) playbooksCommand() *cli.Command {
	return &cli.Command{
		Name:  "playbooks",
		Usage: "list the built-in playbooks; `show NAME` prints one",
		Action: func(c *cli.Context) error {
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDESCRIPTION")
			for _, info := range playbooks.List() {
				fmt.Fprintf(tw, "%s\t%s\n", info.Name, info.Description)
			}
			return tw.Flush()
		},
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "print a built-in playbook's YAML",
			Args:      true,
			ArgsUsage: "NAME",
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return usageError("playbooks show: want one playbook name")
				}
				src, err := playbooks.Source(c.Args().First())
				if err != nil {
					return usageError("%v", err)
				}
				_, err = a.stdout.Write(src)
				return err
			},
		}},
	}
}

func (a *App) hostsCommand() *cli.Command {
	return &cli.Command{
		Name:  "hosts",
		Usage: "list the targets discovery finds (id, name, public/private IP, state)",
		Flags: concat(targetFlags(), []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print one JSON object per target and line (fields in the README)"}}),
		Action: func(c *cli.Context) error {
			targets, err := a.targets(c)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(a.stdout)
				for _, t := range targets {
					if err := enc.Encode(hostJSON(t)); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPUBLIC IP\tPRIVATE IP\tSTATE\tSSH")
			for _, t := range targets {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(t.ID), dash(t.Name), dash(t.PublicIP), dash(t.PrivateIP), dash(t.State), dash(t.SSHTarget()))
			}
			return tw.Flush()
		},
	}
}

// targetJSON is one line of hosts --json; the README documents its fields.
type targetJSON struct {
	Name      string            `json:"name"`
	ID        string            `json:"id,omitempty"`
	SSH       string            `json:"ssh,omitempty"`
	PublicIP  string            `json:"public_ip,omitempty"`
	PrivateIP string            `json:"private_ip,omitempty"`
	State     string            `json:"state,omitempty"`
	Vars      map[string]string `json:"vars,omitempty"`
}

func hostJSON(t inventory.Target) targetJSON {
	return targetJSON{Name: t.Name, ID: t.ID, SSH: t.SSHTarget(), PublicIP: t.PublicIP, PrivateIP: t.PrivateIP, State: t.State, Vars: t.Vars}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *App) unlockCommand() *cli.Command {
	return &cli.Command{
		Name:  "unlock",
		Usage: "break the stack's deploy lock on each target (after a crashed run)",
		Description: `Removes the deploy lock of the stack on each target, whoever holds it, and
says what it removed. A deploy breaks a lock by itself once its holder's
heartbeat is older than --lock-stale; unlock is for when waiting is not an
option. Only use it when no deploy is running.`,
		Flags: concat(targetFlags(), playbookFlags(), outputFlags()),
		Action: func(c *cli.Context) error {
			rep := a.handler(c)
			r, err := a.prepare(c, true)
			if err != nil {
				return err
			}
			flagStack, stateDir := c.String("stack"), c.String("state-dir")
			results, err := eachHost(c.Context, r, everyHost(r), func(ctx context.Context, h rollout.Host, conn remote.Conn) (remote.Stats, error) {
				stack, err := playbooks.Stack(flagStack, h.Playbook)
				if err != nil {
					return statsOf(conn), err
				}
				u, err := deploy.Unlock(ctx, conn, stateDir, stack)
				if err != nil {
					return statsOf(conn), err
				}
				rep.Handle(ui.Unlock{Host: conn.Host(), Lock: u.Dir, Removed: u.Removed, Holder: u.Holder,
					Age: ui.Duration(u.Age), RemovedBreak: u.Break})
				return statsOf(conn), nil
			})
			costLine(rep, len(results), totalStats(results))
			if err != nil {
				return withCode(exitFailure, err)
			}
			return nil
		},
	}
}
