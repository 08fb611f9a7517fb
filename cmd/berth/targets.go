package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/fleet"
	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/remote"
)

// localName is how the --local target is named in output.
const localName = "local"

// targets resolves --local, --host and --ec2-* into the hosts to work on.
func (a *App) targets(c *cli.Context) ([]inventory.Target, error) {
	var ts []inventory.Target
	if c.Bool("local") {
		ts = append(ts, inventory.Target{Name: localName})
	}
	for _, h := range c.StringSlice("host") {
		t, err := inventory.ParseHost(h)
		if err != nil {
			return nil, usageError("--host %q: %v", h, err)
		}
		ts = append(ts, t)
	}
	if len(c.StringSlice("ec2-id")) > 0 || len(c.StringSlice("ec2-tag")) > 0 {
		found, err := a.discoverEC2(c)
		if err != nil {
			return nil, err
		}
		ts = append(ts, found...)
	}
	if len(ts) == 0 {
		// Hosts from the config file, each with its own vars; flags win.
		fromConfig, err := a.configTargets()
		if err != nil {
			return nil, err
		}
		ts = fromConfig
	}
	if len(ts) == 0 {
		return nil, usageError("no targets: give --host, --local, --ec2-id or --ec2-tag (or hosts: in berth.yaml)")
	}
	return ts, nil
}

func (a *App) discoverEC2(c *cli.Context) ([]inventory.Target, error) {
	cfg, err := awscfg.Load(c.Context, awsOptions(c))
	if err != nil {
		return nil, err
	}
	q := inventory.EC2Query{
		IDs:         c.StringSlice("ec2-id"),
		Tags:        c.StringSlice("ec2-tag"),
		User:        c.String("user"),
		Port:        c.Int("port"),
		WaitRunning: c.Bool("wait-running"),
		WaitTimeout: c.Duration("connect-timeout"),
		PrivateIP:   c.Bool("private-ip"),
	}
	client := ec2.NewFromConfig(cfg)
	found, err := inventory.DiscoverEC2(c.Context, client, q)
	if err != nil || q.User != "" {
		return found, err
	}
	return a.imageLoginUsers(c, client, found)
}

// imageLoginUsers gives each instance that no --user and no ssh config user
// covers its AMI's default login user (admin on Debian, ec2-user on Amazon
// Linux, ...), from one DescribeImages call, and says which it chose.
func (a *App) imageLoginUsers(c *cli.Context, client inventory.EC2ImagesAPI, ts []inventory.Target) ([]inventory.Target, error) {
	opts, err := a.sshOptions(c)
	if err != nil {
		return nil, err
	}
	var ids []string
	byImage := map[string][]int{}
	for i, t := range ts {
		if t.ImageID == "" {
			continue
		}
		if u, err := remote.ConfiguredUser(opts, t.Addr); err != nil || u != "" {
			continue // the ssh config decides (or its error shows at connect)
		}
		if _, seen := byImage[t.ImageID]; !seen {
			ids = append(ids, t.ImageID)
		}
		byImage[t.ImageID] = append(byImage[t.ImageID], i)
	}
	if len(ids) == 0 {
		return ts, nil
	}
	logins, err := inventory.ImageLogins(c.Context, client, ids)
	if err != nil {
		fmt.Fprintf(a.stderr, "berth: warning: no login user from the instances' images (%v): give --user\n", err)
		return ts, nil
	}
	for _, id := range ids {
		l := logins[id]
		if l.User == "" {
			fmt.Fprintf(a.stderr, "berth: warning: image %s (%s) does not say its login user: give --user\n", id, dash(l.Image))
			continue
		}
		for _, i := range byImage[id] {
			ts[i].User = l.User
		}
		fmt.Fprintf(a.stderr, "berth: logging in as %s on %d host(s) from image %s (%s), its default user; --user overrides\n", l.User, len(byImage[id]), id, l.Image)
	}
	return ts, nil
}

// sshOptions builds the SSH settings shared by every host of a run.
func (a *App) sshOptions(c *cli.Context) (remote.SSHOptions, error) {
	policy, err := remote.ParseHostKeyPolicy(c.String("host-key-policy"))
	if err != nil {
		return remote.SSHOptions{}, usageError("--host-key-policy: %v", err)
	}
	return remote.SSHOptions{
		User:           c.String("user"),
		Port:           c.Int("port"),
		Identities:     c.StringSlice("identity"),
		KnownHostsFile: c.String("known-hosts"),
		HostKeyPolicy:  policy,
		SSHConfigFile:  c.String("ssh-config"),
		Jump:           c.String("jump"),
		ConnectTimeout: c.Duration("connect-timeout"),
		CommandTimeout: c.Duration("command-timeout"),
		Sudo:           c.Bool("sudo"),
		Warn:           a.stderr,
	}, nil
}

// hostID is the target's id in output, what its connection's Host will say;
// a target the ssh config cannot resolve keeps its own name (connecting
// fails on the same error).
func hostID(t inventory.Target, opts remote.SSHOptions) string {
	if isLocal(t) {
		return localName
	}
	id, err := remote.HostID(t.SSHTarget(), opts)
	if err != nil {
		return t.String()
	}
	return id
}

// isLocal says t is this machine (--local), reached without SSH.
func isLocal(t inventory.Target) bool { return t.Name == localName && t.Addr == "" }

// connect opens the one connection a run uses for a target.
func connect(ctx context.Context, t inventory.Target, opts remote.SSHOptions) (remote.Conn, error) {
	if isLocal(t) {
		return &remote.Local{Sudo: opts.Sudo, CommandTimeout: opts.CommandTimeout}, nil
	}
	conn, err := remote.DialSSH(ctx, t.SSHTarget(), opts)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// vars resolves the playbook variable layers: berth.yaml's, --var's and
// --domain (per-host variables join them per target, see playVars).
func (a *App) vars(c *cli.Context) (playVars, error) {
	flagVars, err := parseVars(c.StringSlice("var"))
	if err != nil {
		return playVars{}, err
	}
	v := playVars{flags: flagVars, domain: c.String("domain")}
	if a.cfg != nil {
		v.config = a.cfg.vars
	}
	return v, nil
}

// parseVars reads repeated key=value flags.
func parseVars(kvs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError("--var %q: want key=value", kv)
		}
		m[k] = v
	}
	return m, nil
}

// costLine reports what a run cost in SSH connections and round trips
// (stderr; dropped by --quiet).
func costLine(rep ui.Handler, hosts int, total remote.Stats) {
	rep.Handle(ui.RunSummary{Hosts: hosts, Connections: total.Connections, RoundTrips: total.RoundTrips()})
}

// statsOf reads a connection's counters, when it keeps them.
func statsOf(conn remote.Conn) remote.Stats {
	if c, ok := conn.(remote.Counter); ok {
		return c.Stats()
	}
	return remote.Stats{}
}

// totalStats sums the per-host counts of a command's hosts.
func totalStats(results []fleet.Result[remote.Stats]) remote.Stats {
	var total remote.Stats
	for _, r := range results {
		total = total.Add(r.Value)
	}
	return total
}
