package main

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"
)

type table struct {
	label string
	tools []tool
	res   [][]sample
}

func singleTable(label string, tools []tool, res [][]sample) table {
	return table{label: label, tools: tools, res: res}
}

type fleetRow struct {
	hosts   int
	tools   []tool
	samples [][]sample
}

type fleetTable struct {
	forks int
	rows  []fleetRow
}

type report struct {
	machine  string
	settings string
	elapsed  time.Duration
	tables   []table
	noop     table
	floor    table // cold deploy vs its floor
	fleets   []fleetTable
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func med(ss []sample, f func(sample) float64) float64 {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = f(s)
	}
	return median(xs)
}

func secs(s sample) float64 { return s.wall.Seconds() }

// pairRatio is the median over rounds of a's wall time / b's, the two taken
// in the same round.
func pairRatio(a, b []sample) float64 {
	n := min(len(a), len(b))
	xs := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		if b[i].wall > 0 {
			xs = append(xs, a[i].wall.Seconds()/b[i].wall.Seconds())
		}
	}
	return median(xs)
}

func minmax(ss []sample) string {
	lo, hi := ss[0].wall, ss[0].wall
	for _, s := range ss {
		lo, hi = min(lo, s.wall), max(hi, s.wall)
	}
	return fmt.Sprintf("%.2f–%.2f", lo.Seconds(), hi.Seconds())
}

func (t table) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "### %s (median of %d runs each)\n\n", t.label, len(t.res[0]))
	b.WriteString("| tool | wall (s) | min–max (s) | berth / tool (paired) | SSH connections | SSH sessions (sshd log) | round trips (berth's own count) | controller CPU (s) | machine busy CPU (s) | peak RSS (MiB) |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for i, tl := range t.tools {
		ss := t.res[i]
		self := "–"
		if tl.name == "berth" {
			self = fmt.Sprintf("%.0f", med(ss, func(s sample) float64 { return float64(s.selfTrips) }))
		}
		fmt.Fprintf(b, "| %s | %.3f | %s | %.3f | %.0f | %.0f | %s | %.2f | %.2f | %.0f |\n", tl.name, med(ss, secs), minmax(ss),
			pairRatio(t.res[0], ss),
			med(ss, func(s sample) float64 { return float64(s.conns) }),
			med(ss, func(s sample) float64 { return float64(s.sessions) }),
			self, med(ss, func(s sample) float64 { return s.cpu }), med(ss, func(s sample) float64 { return s.busy }),
			med(ss, func(s sample) float64 { return float64(s.rssKiB) / 1024 }))
	}
	b.WriteString("\n")
}

// fleetResult is what the targets read from one fleet table.
type fleetResult struct {
	floorRatio map[int]float64 // hosts -> berth / floor (paired)
	rss        map[int]float64 // hosts -> berth's peak RSS (MiB)
}

// markdown prints the table; t1 is one host's no-op time, the per-host
// latency of the model ceil(N/parallel) × t1.
func (f fleetTable) markdown(b *strings.Builder, t1 float64) fleetResult {
	res := fleetResult{floorRatio: map[int]float64{}, rss: map[int]float64{}}
	fmt.Fprintf(b, "### fleet no-op, berth --parallel %d / floor %d at once / ansible forks %d (median of runs)\n\n", f.forks, f.forks, f.forks)
	b.WriteString("| hosts | tool | runs | wall (s) | per host (ms) | berth / tool (paired) | model ⌈N/p⌉×t1 (s) | SSH connections | SSH sessions | round trips (berth's own) | controller CPU (s) | controller CPU per host (ms) | machine busy CPU (s) | peak RSS (MiB) |\n")
	b.WriteString("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range f.rows {
		for i, tl := range row.tools {
			ss := row.samples[i]
			w := med(ss, secs)
			cpu := med(ss, func(s sample) float64 { return s.cpu })
			rss := med(ss, func(s sample) float64 { return float64(s.rssKiB) / 1024 })
			model, self := "", "–"
			if tl.name == "berth" {
				self = fmt.Sprintf("%.0f", med(ss, func(s sample) float64 { return float64(s.selfTrips) }))
				if t1 > 0 {
					model = fmt.Sprintf("%.2f", float64((row.hosts+f.forks-1)/f.forks)*t1)
				}
				res.rss[row.hosts] = rss
			}
			ratio := pairRatio(row.samples[0], ss)
			if strings.HasPrefix(tl.name, "floor") {
				res.floorRatio[row.hosts] = ratio
			}
			fmt.Fprintf(b, "| %d | %s | %d | %.3f | %.1f | %.3f | %s | %.0f | %.0f | %s | %.2f | %.1f | %.1f | %.0f |\n", row.hosts, tl.name, len(ss), w,
				1000*w/float64(row.hosts), ratio, model,
				med(ss, func(s sample) float64 { return float64(s.conns) }),
				med(ss, func(s sample) float64 { return float64(s.sessions) }),
				self, cpu, 1000*cpu/float64(row.hosts), med(ss, func(s sample) float64 { return s.busy }), rss)
		}
	}
	b.WriteString("\n")
	return res
}

func (r report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Results (%s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine:\n\n```\n%s```\n\nSettings: `%s`; whole run %s.\n\n", r.machine, r.settings, r.elapsed.Round(time.Second))
	for _, t := range r.tables {
		t.markdown(&b)
	}
	var checks []string
	var t1 float64
	if len(r.noop.tools) > 0 {
		berth := r.noop.res[0]
		t1 = med(berth, secs)
		for i := 1; i < len(r.noop.tools); i++ {
			if strings.HasPrefix(r.noop.tools[i].name, "berth") {
				continue
			}
			ratio := pairRatio(berth, r.noop.res[i])
			checks = append(checks, check(fmt.Sprintf("no-op redeploy berth / %s ≤ 0.1", r.noop.tools[i].name), ratio <= 0.1, fmt.Sprintf("%.3f", ratio)))
		}
		conns := med(berth, func(s sample) float64 { return float64(s.conns) })
		trips := med(berth, func(s sample) float64 { return float64(s.selfTrips) })
		sess := med(berth, func(s sample) float64 { return float64(s.sessions) })
		checks = append(checks, check("no-op redeploy: berth ≤ 1 SSH connection", conns <= 1, fmt.Sprintf("%.0f", conns)))
		checks = append(checks, check("no-op redeploy: berth ≤ 2 round trips", trips <= 2 && sess <= 2, fmt.Sprintf("%.0f (sshd log: %.0f sessions)", trips, sess)))
	}
	if len(r.floor.tools) == 2 {
		ratio := pairRatio(r.floor.res[0], r.floor.res[1])
		trips := med(r.floor.res[0], func(s sample) float64 { return float64(s.selfTrips) })
		checks = append(checks, check("cold deploy berth / floor ≤ 1.2 (no health waits)", ratio <= 1.2, fmt.Sprintf("%.3f", ratio)))
		checks = append(checks, check("cold deploy: berth ≤ 4 round trips", trips <= 4, fmt.Sprintf("%.0f", trips)))
	}
	for _, f := range r.fleets {
		fr := f.markdown(&b, t1)
		var hosts []int
		for _, row := range f.rows {
			hosts = append(hosts, row.hosts)
		}
		for _, n := range hosts {
			ratio := fr.floorRatio[n]
			checks = append(checks, check(fmt.Sprintf("fleet no-op %d hosts, berth / floor ≤ 1.2 (parallel %d)", n, f.forks), ratio <= 1.2, fmt.Sprintf("%.3f", ratio)))
		}
		// RSS may grow with --parallel (connections open at once), not with
		// the number of hosts: the largest fleet against 100 hosts.
		last := hosts[len(hosts)-1]
		if base, ok := fr.rss[100]; ok && last > 100 {
			checks = append(checks, check(fmt.Sprintf("berth peak RSS at %d hosts ≤ 1.1 × at 100 hosts (parallel %d)", last, f.forks),
				fr.rss[last] <= 1.1*base, fmt.Sprintf("%.0f vs %.0f MiB", fr.rss[last], base)))
		}
	}
	if len(checks) > 0 {
		b.WriteString("### Targets\n\n| target | measured | met |\n| --- | ---: | --- |\n")
		for _, c := range checks {
			b.WriteString(c)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func check(name string, ok bool, got string) string {
	m := "yes"
	if !ok {
		m = "**no**"
	}
	return fmt.Sprintf("| %s | %s | %s |\n", name, got, m)
}

func machineInfo() string {
	var b strings.Builder
	for _, c := range [][]string{
		{"sh", "-c", "echo nproc: $(nproc)"},
		{"sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'"},
		{"free", "-h"},
		{"uname", "-srm"},
		{"docker", "version", "--format", "docker {{.Server.Version}} (API {{.Server.APIVersion}})"},
		{"sh", "-c", "ansible --version | head -1; ansible-galaxy collection list community.docker 2>/dev/null | grep community.docker"},
		{"sh", "-c", "/usr/sbin/sshd -V 2>&1 | head -1"},
		{"go", "version"},
	} {
		out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", strings.Join(c, " "), err)
			continue
		}
		b.Write(out)
	}
	return b.String()
}
