package main

import (
	"sort"

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
			rep := a.handler(c)
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
					rep.Handle(statusEvent(h.ConnName, h.State, r.hosts[i].Playbook, opts))
				}
			}
			costLine(rep, len(res.Hosts), total)
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

// statusEvent is one host's observed stack as data: every object the
// playbook declares (absent ones too), plus what else is labelled with the
// stack.
func statusEvent(host string, st *deploy.State, pb *playbooks.Playbook, opts deploy.Options) ui.Status {
	e := ui.Status{Host: host, LockHeld: st.Lock.Held}
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
	for _, name := range containerNames {
		ct, ok := obs.Containers[name]
		if !ok {
			e.Containers = append(e.Containers, ui.ContainerStatus{Name: name, State: "absent"})
			continue
		}
		ports := make([]string, len(ct.Ports))
		for i, p := range ct.Ports {
			ports[i] = p.String()
		}
		e.Containers = append(e.Containers, ui.ContainerStatus{Name: name, State: ct.State, Health: ct.Health, Ports: ports, Image: ct.Image, ImageID: ct.ImageID})
	}
	for _, v := range pb.Volumes {
		mp := "absent"
		if o, ok := obs.Volumes[v.Name]; ok {
			mp = o.Mountpoint
		}
		e.Volumes = append(e.Volumes, ui.VolumeStatus{Name: v.Name, Mountpoint: mp})
	}
	for _, n := range pb.Networks {
		driver := "absent"
		if o, ok := obs.Networks[n.Name]; ok {
			driver = o.Driver
		}
		e.Networks = append(e.Networks, ui.NetworkStatus{Name: n.Name, Driver: driver})
	}
	for _, f := range st.Foreign(pb, opts) {
		e.Foreign = append(e.Foreign, f.Event())
	}
	if st.Lock.Held {
		e.LockHolder, e.LockAge = st.Lock.Holder, ui.Duration(st.Lock.Age)
	}
	return e
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
