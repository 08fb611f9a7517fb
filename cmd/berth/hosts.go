package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/fleet"
	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// run is what every per-host command resolves first: the variables, the
// targets and the SSH settings shared by all hosts.
type run struct {
	c        *cli.Context
	vars     map[string]string
	targets  []inventory.Target
	ssh      remote.SSHOptions
	playbook bool // load the playbook per host (with its own vars)
}

// prepare resolves a command's run; withPlaybook also checks the playbook
// loads, so a bad playbook is one usage error, not one per host.
func (a *App) prepare(c *cli.Context, withPlaybook bool) (*run, error) {
	r := &run{c: c, playbook: withPlaybook}
	var err error
	if withPlaybook {
		if r.vars, err = a.vars(c); err != nil {
			return nil, err
		}
		if _, err := loadPlaybook(c, r.vars, nil); err != nil {
			return nil, err
		}
	}
	if r.targets, err = a.targets(c); err != nil {
		return nil, err
	}
	if r.ssh, err = a.sshOptions(c); err != nil {
		return nil, err
	}
	return r, nil
}

// eachHost connects to every target (bounded by opts) and calls fn with the
// host's playbook (nil unless the run loads one) and its one connection.
func eachHost[R any](r *run, opts fleet.Options, fn func(ctx context.Context, t inventory.Target, pb *playbooks.Playbook, conn remote.Conn) (R, error)) ([]fleet.Result[R], error) {
	if opts.Parallel == 0 {
		opts.Parallel = r.c.Int("parallel")
	}
	return fleet.Run(r.c.Context, r.targets, inventory.Target.String, opts,
		func(ctx context.Context, t inventory.Target) (R, error) {
			var zero R
			var pb *playbooks.Playbook
			if r.playbook {
				var err error
				if pb, err = loadPlaybook(r.c, r.vars, t.Vars); err != nil {
					return zero, err
				}
			}
			conn, err := connect(ctx, t, r.ssh)
			if err != nil {
				return zero, err
			}
			defer conn.Close()
			return fn(ctx, t, pb, conn)
		})
}

// everyHost is the failure budget of commands that try every host anyway.
func everyHost(r *run) fleet.Options { return fleet.Options{MaxFailures: len(r.targets)} }
