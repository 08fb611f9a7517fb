package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// sample is one run of one tool.
type sample struct {
	wall      time.Duration
	rssKiB    int64   // peak RSS of the largest process the tool ran (/usr/bin/time -v)
	cpu       float64 // user+system CPU seconds of the tool's processes on the controller side (/usr/bin/time -v)
	busy      float64 // CPU seconds the whole machine was busy during the run (/proc/stat): both sides, and anyone else's load
	conns     int     // sshd logs: "Accepted publickey" lines during the run
	sessions  int     // sshd logs: "Starting session:" lines during the run
	selfTrips int     // berth only: round_trips summed over its --json summaries
	selfConns int     // berth only: connections summed over its --json summaries
	changes   int     // berth: applied changes; ansible: changed= in the recap
	hosts     int
}

// stack names one deployed copy of the test stack.
type stack struct {
	prefix string
	port   int
}

var runSeq atomic.Int64

// timed runs argv under /usr/bin/time -v, returning its wall time and the
// peak RSS; output goes to logPath.
func (b *bench) timed(ctx context.Context, env []string, logPath string, argv ...string) (time.Duration, int64, float64, []byte, error) {
	tfile := logPath + ".time"
	cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-v", "-o", tfile}, argv...)...)
	cmd.Dir = b.c.repo
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	busy0 := machineBusy()
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	lastBusy = machineBusy() - busy0
	_ = os.WriteFile(logPath, out.Bytes(), 0o644)
	if err != nil {
		return wall, 0, 0, out.Bytes(), fmt.Errorf("%s: %v (log %s)\n%s", filepath.Base(argv[0]), err, logPath, tail(out.Bytes(), 25))
	}
	rss, cpu := timeStats(tfile)
	return wall, rss, cpu, out.Bytes(), nil
}

// lastBusy is the machine's busy CPU seconds during the last timed run
// (runs are sequential).
var lastBusy float64

// machineBusy is the machine's busy CPU time so far, in seconds: everything
// in /proc/stat's cpu line but idle and iowait.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100 // USER_HZ
}

var rssRE = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)

var cpuRE = regexp.MustCompile(`(?:User|System) time \(seconds\): ([0-9.]+)`)

func timeStats(path string) (rssKiB int64, cpu float64) {
	b, _ := os.ReadFile(path)
	if m := rssRE.FindSubmatch(b); m != nil {
		rssKiB, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	for _, m := range cpuRE.FindAllSubmatch(b, -1) {
		f, _ := strconv.ParseFloat(string(m[1]), 64)
		cpu += f
	}
	return rssKiB, cpu
}

// berth runs `berth deploy` as the bench user against servers, all pointed
// at stack st; vars are extra --var NAME=VALUE.
func (b *bench) berth(ctx context.Context, servers []*sshd, playbook string, st stack, parallel int, vars ...string) (sample, error) {
	return b.berthAs(ctx, b.user, servers, playbook, st, parallel, vars...)
}

func (b *bench) berthAs(ctx context.Context, user string, servers []*sshd, playbook string, st stack, parallel int, vars ...string) (sample, error) {
	args := []string{b.c.berth, "deploy", "--json",
		"--identity", b.key, "--known-hosts", b.known, "--ssh-config", "none",
		"--playbook", playbook, "--state-dir", b.path("state"),
		"--var", "prefix=" + st.prefix, "--var", "web_port=" + strconv.Itoa(st.port),
		"--var", "image=" + Image, "--var", "web_image=" + Image,
		"--parallel", strconv.Itoa(parallel)}
	for _, v := range vars {
		args = append(args, "--var", v)
	}
	for _, s := range servers {
		args = append(args, "--host", s.target(user))
	}
	before := countLogs(servers)
	logPath := b.path(fmt.Sprintf("run-%03d-berth.log", runSeq.Add(1)))
	wall, rss, cpu, out, err := b.timed(ctx, []string{"BERTH_SECRET_DB_PASSWORD="}, logPath, args...)
	after := countLogs(servers)
	s := sample{wall: wall, rssKiB: rss, cpu: cpu, busy: lastBusy, conns: after.conns - before.conns, sessions: after.sessions - before.sessions}
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		// One host's summary event (docs/EVENTS.md).
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Changes    int    `json:"changes"`
				Conns      int    `json:"connections"`
				RoundTrips int    `json:"round_trips"`
				Result     string `json:"result"`
			}
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Type != "summary" || json.Unmarshal(sc.Bytes(), &ev.Data) != nil {
			continue
		}
		s.hosts++
		s.changes += ev.Data.Changes
		s.selfConns += ev.Data.Conns
		s.selfTrips += ev.Data.RoundTrips
		if ev.Data.Result != "ok" && ev.Data.Result != "changed" {
			return s, fmt.Errorf("berth: host result %q (log %s)", ev.Data.Result, logPath)
		}
	}
	if s.hosts != len(servers) {
		return s, fmt.Errorf("berth: %d summaries for %d hosts (log %s)", s.hosts, len(servers), logPath)
	}
	return s, nil
}

var recapRE = regexp.MustCompile(`(?m)^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// ansible runs ansible-playbook against servers, all pointed at stack st.
// Each run gets its own ControlPath directory, so it opens its own SSH
// connections (as a cron job minutes apart would), and its ControlPersist
// masters are closed after it, outside the timed part.
func (b *bench) ansible(ctx context.Context, servers []*sshd, st stack, forks int, pipelining, health bool, greeting string) (sample, error) {
	inv, err := b.inventory(servers)
	if err != nil {
		return sample{}, err
	}
	vars, _ := json.Marshal(map[string]any{
		"prefix": st.prefix, "web_port": strconv.Itoa(st.port), "image": Image, "with_health": health, "greeting": greeting,
		"state_dir": b.path("astate"), "creds_dir": b.path("creds"),
	})
	seq := runSeq.Add(1)
	cp, err := os.MkdirTemp(b.work, "cp")
	if err != nil {
		return sample{}, err
	}
	defer func() {
		entries, _ := os.ReadDir(cp)
		for _, e := range entries {
			_ = exec.Command("ssh", "-o", "ControlPath="+filepath.Join(cp, e.Name()), "-O", "exit", "bench").Run()
		}
		_ = os.RemoveAll(cp)
	}()
	env := []string{
		"ANSIBLE_CONFIG=" + b.path("ansible.cfg"),
		"ANSIBLE_PIPELINING=" + strconv.FormatBool(pipelining),
		"ANSIBLE_SSH_CONTROL_PATH_DIR=" + cp,
		"ANSIBLE_FORCE_COLOR=0",
	}
	args := []string{"ansible-playbook", "-i", inv, "-f", strconv.Itoa(forks), "-e", string(vars), b.ansPB}
	before := countLogs(servers)
	logPath := b.path(fmt.Sprintf("run-%03d-ansible.log", seq))
	wall, rss, cpu, out, err := b.timed(ctx, env, logPath, args...)
	after := countLogs(servers)
	s := sample{wall: wall, rssKiB: rss, cpu: cpu, busy: lastBusy, conns: after.conns - before.conns, sessions: after.sessions - before.sessions}
	if err != nil {
		return s, err
	}
	for _, m := range recapRE.FindAllSubmatch(out, -1) {
		s.hosts++
		ch, _ := strconv.Atoi(string(m[2]))
		unreach, _ := strconv.Atoi(string(m[3]))
		failed, _ := strconv.Atoi(string(m[4]))
		s.changes += ch
		if unreach+failed > 0 {
			return s, fmt.Errorf("ansible: unreachable or failed hosts (log %s)", logPath)
		}
	}
	if s.hosts != len(servers) {
		return s, fmt.Errorf("ansible: recap lists %d hosts, want %d (log %s)", s.hosts, len(servers), logPath)
	}
	return s, nil
}

// tool is one contender in a side-by-side measurement.
type tool struct {
	name string
	run  func(ctx context.Context) (sample, error)
	// before runs untimed before each run (e.g. tear the stack down for a cold deploy).
	before func(ctx context.Context)
}

// rounds runs every tool once per round, rotating the order each round, and
// returns the samples per tool. wantNoop makes a run that changed anything
// an error.
func rounds(ctx context.Context, label string, n int, tools []tool, wantNoop bool) ([][]sample, error) {
	res := make([][]sample, len(tools))
	for r := 0; r < n; r++ {
		for k := range tools {
			i := (k + r) % len(tools)
			t := tools[i]
			if t.before != nil {
				t.before(ctx)
			}
			s, err := t.run(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", label, t.name, err)
			}
			if wantNoop && s.changes != 0 {
				return nil, fmt.Errorf("%s, %s: a no-op run changed %d things", label, t.name, s.changes)
			}
			logf("%s round %d/%d: %-24s %8.3fs cpu=%.2fs busy=%.2fs conns=%d sessions=%d self_trips=%d rss=%dMiB changes=%d",
				label, r+1, n, t.name, s.wall.Seconds(), s.cpu, s.busy, s.conns, s.sessions, s.selfTrips, s.rssKiB/1024, s.changes)
			res[i] = append(res[i], s)
		}
	}
	return res, nil
}

// greeting is the default of the stacks' greeting var (a no-op keeps it).
const greeting = "hello"

func (b *bench) coldCase(ctx context.Context, r *report) error {
	cb := stack{b.prefix + "cb-", b.ports["cold-b"]}
	ca := stack{b.prefix + "ca-", b.ports["cold-a"]}
	cc := stack{b.prefix + "cc-", b.ports["cold-c"]}
	one := []*sshd{b.single}
	for _, health := range []bool{false, true} {
		pb, cf := b.coldPB, b.composeCold
		label := "cold deploy, no health checks"
		if health {
			pb, cf = b.stackPB, b.composeFile
			label = "cold deploy, with health waits"
		}
		tools := []tool{
			{name: "berth", run: func(ctx context.Context) (sample, error) { return b.berth(ctx, one, pb, cb, 10) },
				before: func(ctx context.Context) { b.teardown(ctx, cb.prefix) }},
			{name: "ansible pipelining=off", run: func(ctx context.Context) (sample, error) {
				return b.ansible(ctx, one, ca, 10, false, health, greeting)
			}, before: func(ctx context.Context) { b.teardown(ctx, ca.prefix) }},
			{name: "ansible pipelining=on", run: func(ctx context.Context) (sample, error) {
				return b.ansible(ctx, one, ca, 10, true, health, greeting)
			}, before: func(ctx context.Context) { b.teardown(ctx, ca.prefix) }},
			{name: "docker-compose", run: func(ctx context.Context) (sample, error) { return b.compose(ctx, b.single, cf, cc, greeting) },
				before: func(ctx context.Context) { b.teardown(ctx, cc.prefix) }},
		}
		res, err := rounds(ctx, label, b.c.runs, tools, false)
		if err != nil {
			return err
		}
		r.tables = append(r.tables, singleTable(label, tools, res))
		for _, st := range []stack{cb, ca, cc} {
			b.teardown(ctx, st.prefix)
		}
	}
	return nil
}

// converge deploys the no-op stacks once with each tool, then checks that a
// second run is a no-op.
func (b *bench) converge(ctx context.Context, r *report) error {
	one := []*sshd{b.single}
	logf("converging the no-op stacks")
	if _, err := b.berth(ctx, one, b.stackPB, b.noopB(), 10); err != nil {
		return err
	}
	if _, err := b.ansible(ctx, one, b.noopA(), 10, true, true, greeting); err != nil {
		return err
	}
	if _, err := b.compose(ctx, b.single, b.composeFile, b.noopC(), greeting); err != nil {
		return err
	}
	// Untimed warm-up no-op runs, which also prove all are converged.
	if s, err := b.berth(ctx, one, b.stackPB, b.noopB(), 10); err != nil || s.changes != 0 {
		return fmt.Errorf("berth: second run is no no-op: changes=%d err=%v", s.changes, err)
	}
	if s, err := b.ansible(ctx, one, b.noopA(), 10, true, true, greeting); err != nil || s.changes != 0 {
		return fmt.Errorf("ansible: second run is no no-op: changed=%d err=%v", s.changes, err)
	}
	if s, err := b.compose(ctx, b.single, b.composeFile, b.noopC(), greeting); err != nil || s.changes != 0 {
		return fmt.Errorf("docker-compose: second run is no no-op: changes=%d err=%v", s.changes, err)
	}
	return nil
}

func (b *bench) noopB() stack { return stack{b.prefix + "b-", b.ports["noop-b"]} }
func (b *bench) noopA() stack { return stack{b.prefix + "a-", b.ports["noop-a"]} }
func (b *bench) noopC() stack { return stack{b.prefix + "c-", b.ports["noop-c"]} }

func (b *bench) noopCase(ctx context.Context, r *report) error {
	one := []*sshd{b.single}
	tools := []tool{
		{name: "berth", run: func(ctx context.Context) (sample, error) { return b.berth(ctx, one, b.stackPB, b.noopB(), 10) }},
		{name: "ansible pipelining=off", run: func(ctx context.Context) (sample, error) {
			return b.ansible(ctx, one, b.noopA(), 10, false, true, greeting)
		}},
		{name: "ansible pipelining=on", run: func(ctx context.Context) (sample, error) {
			return b.ansible(ctx, one, b.noopA(), 10, true, true, greeting)
		}},
		{name: "docker-compose", run: func(ctx context.Context) (sample, error) {
			return b.compose(ctx, b.single, b.composeFile, b.noopC(), greeting)
		}},
	}
	if b.user != "root" {
		// The same berth run as root, whose ~/.bashrc here runs pyenv init:
		// sshd starts every command through the login shell, which reads it.
		tools = append(tools, tool{name: "berth as root (heavy ~/.bashrc)", run: func(ctx context.Context) (sample, error) {
			return b.berthAs(ctx, "root", one, b.stackPB, b.noopB(), 10)
		}})
	}
	label := fmt.Sprintf("no-op redeploy, 1 host (as %s)", b.user)
	res, err := rounds(ctx, label, b.c.runs, tools, true)
	if err != nil {
		return err
	}
	t := singleTable(label, tools, res)
	r.tables = append(r.tables, t)
	r.noop = t
	return nil
}

// changeCase changes one env var of web (GREETING) on every run, so each run
// recreates web and waits for it (berth and Ansible: healthy and ready;
// compose: not at all, it has no wait for the container it starts).
func (b *bench) changeCase(ctx context.Context, r *report) error {
	one := []*sshd{b.single}
	var n atomic.Int64
	next := func() string { return fmt.Sprintf("changed-%d", n.Add(1)) }
	changed := func(s sample, err error) (sample, error) {
		if err == nil && s.changes == 0 {
			err = fmt.Errorf("a changed env var changed nothing")
		}
		return s, err
	}
	tools := []tool{
		{name: "berth", run: func(ctx context.Context) (sample, error) {
			return changed(b.berth(ctx, one, b.stackPB, b.noopB(), 10, "greeting="+next()))
		}},
		{name: "ansible pipelining=off", run: func(ctx context.Context) (sample, error) {
			return changed(b.ansible(ctx, one, b.noopA(), 10, false, true, next()))
		}},
		{name: "ansible pipelining=on", run: func(ctx context.Context) (sample, error) {
			return changed(b.ansible(ctx, one, b.noopA(), 10, true, true, next()))
		}},
		{name: "docker-compose", run: func(ctx context.Context) (sample, error) {
			return changed(b.compose(ctx, b.single, b.composeFile, b.noopC(), next()))
		}},
	}
	label := "changed env var (web recreated), 1 host"
	res, err := rounds(ctx, label, b.c.runs, tools, false)
	if err != nil {
		return err
	}
	r.tables = append(r.tables, singleTable(label, tools, res))
	return nil
}

func (b *bench) fleetCase(ctx context.Context, r *report) error {
	for _, forks := range b.c.forks {
		ft := fleetTable{forks: forks}
		for _, n := range b.c.fleet {
			servers := b.fleet[:n]
			tools := []tool{{name: "berth", run: func(ctx context.Context) (sample, error) {
				return b.berth(ctx, servers, b.stackPB, b.noopB(), forks)
			}}, {name: "floor: ssh docker inspect", run: func(ctx context.Context) (sample, error) {
				return b.floor(ctx, servers, b.noopB(), forks)
			}}}
			if n <= b.c.ansibleMax {
				for _, pipe := range b.c.fleetPipe {
					tools = append(tools, tool{name: "ansible pipelining=" + onOff(pipe), run: func(ctx context.Context) (sample, error) {
						return b.ansible(ctx, servers, b.noopA(), forks, pipe, true, greeting)
					}})
				}
			}
			label := fmt.Sprintf("fleet no-op, %d hosts, parallel/forks %d", n, forks)
			res, err := rounds(ctx, label, b.c.fleetRuns, tools, true)
			if err != nil {
				return err
			}
			ft.rows = append(ft.rows, fleetRow{hosts: n, tools: tools, samples: res})
		}
		r.fleets = append(r.fleets, ft)
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
