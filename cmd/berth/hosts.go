package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/fleet"
	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// run is what every per-host command resolves from its flags first: the
// variables, the targets (each with its playbook when the command uses one)
// and the SSH settings shared by all hosts. Nothing below cmd sees the flags.
type run struct {
	vars     playVars
	playbook string // --playbook: a built-in name or a path
	hosts    []rollout.Host
	ssh      remote.SSHOptions
	parallel int
	stack    string // with a playbook: --stack, else the playbook's name without per-host vars
}

// prepare resolves a command's run. withPlaybook loads the playbook for every
// target, with that target's variables, so a bad playbook or variable is one
// usage error before any host is touched.
func (a *App) prepare(c *cli.Context, withPlaybook bool) (*run, error) {
	return a.prepareFor(c, withPlaybook, a.targets)
}

// prepareFor is prepare with the targets from targets instead of the
// target flags (berth move names its two hosts with flags of its own).
func (a *App) prepareFor(c *cli.Context, withPlaybook bool, targets func(*cli.Context) ([]inventory.Target, error)) (*run, error) {
	r := &run{playbook: c.String("playbook"), parallel: c.Int("parallel")}
	var err error
	if withPlaybook {
		if r.vars, err = a.vars(c); err != nil {
			return nil, err
		}
		pb, err := loadPlaybook(r.playbook, r.vars.forHost(nil))
		if err != nil {
			return nil, err
		}
		if r.stack, err = playbooks.Stack(c.String("stack"), pb); err != nil {
			return nil, usageError("--stack: %v", err)
		}
	}
	ts, err := targets(c)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		h := rollout.Host{Target: t}
		if withPlaybook {
			if h.Playbook, err = loadPlaybook(r.playbook, r.vars.forHost(t.Vars)); err != nil {
				return nil, withCode(exitUsage, fmt.Errorf("%s: %w", t, err))
			}
		}
		r.hosts = append(r.hosts, h)
	}
	if r.ssh, err = a.sshOptions(c); err != nil {
		return nil, err
	}
	for i := range r.hosts {
		r.hosts[i].ID = hostID(r.hosts[i].Target, r.ssh)
	}
	return r, nil
}

// connector opens a target's one connection with the run's SSH settings.
func (r *run) connector() rollout.Connector {
	return func(ctx context.Context, t inventory.Target) (remote.Conn, error) { return connect(ctx, t, r.ssh) }
}

// eachHost connects to every target (bounded by opts) and calls fn with the
// host (its playbook is nil unless the run loads one) and its one connection.
func eachHost[R any](ctx context.Context, r *run, opts fleet.Options, fn func(ctx context.Context, h rollout.Host, conn remote.Conn) (R, error)) ([]fleet.Result[R], error) {
	if opts.Parallel == 0 {
		opts.Parallel = r.parallel
	}
	return fleet.Run(ctx, r.hosts, rollout.Host.Name, opts,
		func(ctx context.Context, h rollout.Host) (R, error) {
			conn, err := connect(ctx, h.Target, r.ssh)
			if err != nil {
				var zero R
				return zero, err
			}
			defer conn.Close()
			return fn(ctx, h, conn)
		})
}

// everyHost is the failure budget of commands that try every host anyway.
func everyHost(r *run) fleet.Options { return fleet.Options{MaxFailures: len(r.hosts)} }

// playVars are the layers of playbook variables. For one host, later layers
// win: berth.yaml vars:, then the host's own (berth.yaml hosts[].vars or EC2
// tags berth:var:KEY), then --var; the playbook's own vars are the defaults
// beneath all three. --domain sets "domain" over everything.
type playVars struct {
	config, flags map[string]string
	domain        string
}

// forHost merges the layers for a host with the given own variables.
func (v playVars) forHost(hostVars map[string]string) map[string]string {
	merged := make(map[string]string, len(v.config)+len(hostVars)+len(v.flags)+1)
	for _, layer := range []map[string]string{v.config, hostVars, v.flags} {
		for k, val := range layer {
			merged[k] = val
		}
	}
	if v.domain != "" {
		merged["domain"] = v.domain
	}
	return merged
}

// loadPlaybook loads a built-in playbook or a file with the given variables.
func loadPlaybook(ref string, vars map[string]string) (*playbooks.Playbook, error) {
	pb, err := playbooks.Load(ref, vars)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("load playbook: %w", err)}
	}
	return pb, nil
}
