package main

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/backup"
	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/ui"
)

func (a *App) moveCommand() *cli.Command {
	return &cli.Command{
		Name:  "move",
		Usage: "move the stack and its data from one host to another, then point DNS there",
		Description: `Moves the playbook's stack from --from to --to, in this order:

  1. takes the deploy lock on both hosts; refuses a destination whose volumes
     already hold data (unless --force, which replaces their contents);
  2. stops the source's containers that mount the stack's volumes (the
     downtime starts);
  3. streams each volume's tar from the source through berth straight into
     the destination's volume (nothing is stored on this machine's disk);
  4. deploys the stack on the destination with the source's stored secrets
     (held in memory only: the data was initialised with them) and waits
     until it is healthy (the downtime ends);
  5. only then points the DNS record (--domain, or the playbook's dns.name)
     at the destination, and waits for Route 53 to apply it;
  6. stops, but does not remove, the stack's containers on the source.
     --destroy-source removes them; --volumes --yes also deletes the
     source's volumes and stored secrets.

Any failure, or Ctrl-C, before step 5 starts the source's containers again
and leaves DNS unchanged: the source keeps serving. Once the DNS change has
started it runs to its end. The downtime (stop on the source until healthy on
the destination) is reported.

Example:
   berth move --from deploy@old-host --to deploy@new-host --domain blog.example.com`,
		Flags: concat(moveTargetFlags(), playbookFlags(), dnsFlags(), outputFlags(), []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "the source `[user@]addr[:port]`, where the stack runs now", Required: true, Category: "Move"},
			&cli.StringFlag{Name: "to", Usage: "the destination `[user@]addr[:port]`", Required: true, Category: "Move"},
			&cli.BoolFlag{Name: "force", Usage: "replace the contents of the destination's volumes that already hold data", Category: "Move"},
			&cli.BoolFlag{Name: "destroy-source", Usage: "remove the source's containers and networks once DNS points at the destination", Category: "Move"},
			&cli.BoolFlag{Name: "volumes", Usage: "with --destroy-source: also delete the source's volumes, ALL THEIR DATA (needs --yes)", Category: "Move"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "confirm --volumes", Category: "Move"},
			&cli.BoolFlag{Name: "pull", Usage: "pull every image on the destination first", Category: "Deploy"},
			&cli.DurationFlag{Name: "lock-wait", Usage: "wait up to `DURATION` for another run's deploy lock", Category: "Deploy"},
			lockStaleFlag(),
		}),
		Action: a.move,
	}
}

// moveTargetFlags are the target flags less those that pick targets: move
// names its two hosts with --from and --to.
func moveTargetFlags() []cli.Flag {
	return slices.DeleteFunc(targetFlags(), func(f cli.Flag) bool {
		return slices.Contains([]string{"host", "local", "ec2-id", "ec2-tag", "parallel", "wait-running", "private-ip"}, f.Names()[0])
	})
}

func (a *App) move(c *cli.Context) error {
	if c.Bool("volumes") && !c.Bool("destroy-source") {
		return usageError("--volumes deletes the source's volumes and needs --destroy-source (and --yes)")
	}
	if c.Bool("volumes") && !c.Bool("yes") {
		return usageError("--destroy-source --volumes deletes the source's volumes and all their data once the move is done: pass --yes to confirm")
	}
	rep := a.handler(c)
	r, err := a.prepareFor(c, true, a.moveTargets)
	if err != nil {
		return err
	}
	d, err := a.dnsRecord(c, r)
	if err != nil {
		return err
	}
	src, dst := r.hosts[0], r.hosts[1]
	opts := backup.MoveOptions{Force: c.Bool("force"), DNS: d, DestroySource: c.Bool("destroy-source"), DestroyVolumes: c.Bool("volumes"),
		Deploy: deploy.Options{Stack: c.String("stack"), StateDir: c.String("state-dir"), CommandTimeout: c.Duration("command-timeout"), Pull: c.Bool("pull"),
			LockWait: c.Duration("lock-wait"), LockStale: c.Duration("lock-stale"), Version: version, Reporter: rep, Redactor: a.redactor}}
	srcConn, err := connect(c.Context, src.Target, r.ssh)
	if err != nil {
		return fmt.Errorf("connect to the source %s: %w", src.Target, err)
	}
	defer srcConn.Close()
	dstConn, err := connect(c.Context, dst.Target, r.ssh)
	if err != nil {
		return fmt.Errorf("connect to the destination %s: %w", dst.Target, err)
	}
	defer dstConn.Close()

	res, err := backup.Move(c.Context, srcConn, dstConn, src.Playbook, dst.Playbook, opts)
	var aborted *backup.MoveAbortedError
	if err != nil && (errors.As(err, &aborted) || res.Downtime == 0) {
		return err
	}
	ev := ui.Move{Host: dstConn.Host(), From: srcConn.Host(), Volumes: res.Volumes, Bytes: res.Bytes,
		Downtime: ui.Duration(res.Downtime), SourceStopped: res.SourceStopped,
		SourceDestroyed: res.Destroyed, SourceVolumes: res.Destroyed && opts.DestroyVolumes}
	if res.DNS != nil {
		ev.DNS, ev.DNSChanged = strings.TrimSuffix(res.DNS.Name, "."), res.DNS.Needed
	}
	rep.Handle(ev)
	return err
}

// moveTargets is --from then --to, each with its own vars from berth.yaml's
// hosts: when listed there.
func (a *App) moveTargets(c *cli.Context) ([]inventory.Target, error) {
	configured, err := a.configTargets()
	if err != nil {
		return nil, err
	}
	var ts []inventory.Target
	for _, flag := range []string{"from", "to"} {
		t, err := inventory.ParseHost(c.String(flag))
		if err != nil {
			return nil, usageError("--%s %q: %v", flag, c.String(flag), err)
		}
		if i := slices.IndexFunc(configured, func(ct inventory.Target) bool { return ct.String() == t.String() }); i >= 0 {
			t.Vars = configured[i].Vars
		}
		ts = append(ts, t)
	}
	if port := func(t inventory.Target) int { return cmp.Or(t.Port, 22) }; ts[0].Addr == ts[1].Addr && port(ts[0]) == port(ts[1]) {
		return nil, usageError("--from and --to are the same host (%s)", ts[0].Addr)
	}
	return ts, nil
}
