package main

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/fleet"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

func (a *App) statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show each host's containers (with published ports), volumes (with their host mountpoints) and networks",
		Description: `Reads the stack's state on every target in one round trip per host and
prints, per host: containers (state, health, published ports, image), volumes with the directory
on the host that holds their data, networks, and whether a deploy lock is held;
with --domain (or the playbook's dns.name), the A record and whether it
points at these targets.`,
		Flags: concat(targetFlags(), playbookFlags(), dnsFlags(), outputFlags()),
		Action: func(c *cli.Context) error {
			rep := a.reporter(c)
			r, err := a.prepare(c, true)
			if err != nil {
				return err
			}
			// The DNS record, as it stands against the serving targets' addresses.
			d, err := a.dnsRecord(c, r)
			if err != nil {
				return err
			}
			opts := deploy.Options{Stack: c.String("stack"), StateDir: c.String("state-dir"), DryRun: true, Reporter: rep, Redactor: a.redactor}
			res := rollout.Observe(c.Context, rollout.Options{
				Hosts:    r.hosts,
				Connect:  r.connector(),
				Deploy:   opts,
				Fleet:    fleet.Options{Parallel: r.parallel},
				DNS:      d,
				Reporter: rep,
			})
			var total remote.Stats
			for i, h := range res.Hosts {
				total = total.Add(h.Stats)
				if h.State != nil {
					text, data := renderStatus(h.State, r.hosts[i].Playbook, opts)
					ui.Host{R: rep, Name: h.ConnName}.Emit(ui.KindResult, text, data)
				}
			}
			a.costLine(rep, len(res.Hosts), total)
			if res.HostsErr != nil {
				return withCode(exitFailure, res.HostsErr)
			}
			if res.DNSErr != nil {
				return withCode(exitFailure, res.DNSErr)
			}
			return nil
		},
	}
}

// renderStatus lays out one host's observed stack as text and as data:
// every object the playbook declares (absent ones too), plus what else is
// labelled with the stack.
func renderStatus(st *deploy.State, pb *playbooks.Playbook, opts deploy.Options) (string, map[string]any) {
	var b bytes.Buffer
	obs := st.Docker

	names := map[string]bool{}
	var containerNames []string
	for _, c := range pb.Containers {
		names[c.Name] = true
		containerNames = append(containerNames, c.Name)
	}
	for _, n := range sortedKeys(obs.Containers) {
		if !names[n] {
			containerNames = append(containerNames, n)
		}
	}
	// One table per section, each as wide as its longest name.
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	var cs []map[string]any
	fmt.Fprintln(tw, "CONTAINER\tSTATE\tHEALTH\tPORTS\tIMAGE")
	for _, name := range containerNames {
		ct, ok := obs.Containers[name]
		if !ok {
			fmt.Fprintf(tw, "%s\tabsent\t-\t-\t-\n", name)
			cs = append(cs, map[string]any{"name": name, "state": "absent"})
			continue
		}
		ports := make([]string, len(ct.Ports))
		for i, p := range ct.Ports {
			ports[i] = p.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, ct.State, dash(ct.Health), dash(strings.Join(ports, ",")), ct.Image)
		cs = append(cs, map[string]any{"name": name, "state": ct.State, "health": ct.Health, "ports": ports, "image": ct.Image, "image_id": ct.ImageID})
	}
	tw.Flush()
	var vs []map[string]any
	fmt.Fprintln(tw, "VOLUME\tMOUNTPOINT")
	for _, v := range pb.Volumes {
		mp := "absent"
		if o, ok := obs.Volumes[v.Name]; ok {
			mp = o.Mountpoint
		}
		fmt.Fprintf(tw, "%s\t%s\n", v.Name, mp)
		vs = append(vs, map[string]any{"name": v.Name, "mountpoint": mp})
	}
	tw.Flush()
	var ns []map[string]any
	fmt.Fprintln(tw, "NETWORK\tDRIVER")
	for _, n := range pb.Networks {
		driver := "absent"
		if o, ok := obs.Networks[n.Name]; ok {
			driver = o.Driver
		}
		fmt.Fprintf(tw, "%s\t%s\n", n.Name, driver)
		ns = append(ns, map[string]any{"name": n.Name, "driver": driver})
	}
	tw.Flush()
	var foreign []map[string]any
	for _, f := range st.Foreign(pb, opts) {
		fmt.Fprintf(&b, "foreign %s: not this stack's; deploy stops on it\n", f)
		foreign = append(foreign, map[string]any{"object": f.Object, "name": f.Name, "owner": f.Owner})
	}
	if st.Lock.Held {
		fmt.Fprintf(&b, "deploy lock held for %s by %s\n", st.Lock.Age, st.Lock.Holder)
	}
	return b.String(), map[string]any{"containers": cs, "volumes": vs, "networks": ns, "foreign": foreign, "lock_held": st.Lock.Held}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
