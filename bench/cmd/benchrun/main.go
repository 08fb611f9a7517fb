// Command benchrun measures berth side by side with Ansible on this machine:
// real sshd servers on loopback addresses, this machine's Docker engine, the
// test stack (cmd/berth/testdata/stack.yaml) and its Ansible twin
// (bench/ansible/stack.yml). bench/run sets up the tools and runs it; see
// docs/BENCHMARKS.md for the method.
//
// Every measurement is a median of several runs; runs of the tools being
// compared alternate (and swap order every round), so noise from the machine
// hits all of them, and ratios are computed pair by pair within one round.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	repo       string // repository root
	work       string // scratch directory, removed at the end
	out        string // where results are written
	berth      string // berth binary
	runs       int    // single-host runs per tool
	fleetRuns  int    // fleet runs per tool and size
	fleet      []int  // fleet sizes
	forks      []int  // parallelism (berth --parallel, ansible forks) for the fleet
	fleetPipe  []bool // ansible pipelining settings measured in the fleet
	ansibleMax int    // largest fleet ansible is run against (it is slow)
	cases      map[string]bool
	keep       bool
}

func main() {
	var c config
	flag.StringVar(&c.repo, "repo", ".", "repository root")
	flag.StringVar(&c.out, "out", "bench/out", "results directory")
	flag.StringVar(&c.berth, "berth", "bin/berth", "berth binary")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch directory (for debugging)")
	flag.Parse()
	c.runs = envInt("BENCH_RUNS", 5)
	c.fleetRuns = envInt("BENCH_FLEET_RUNS", 3)
	c.fleet = envInts("BENCH_FLEET", "1 10 50 100 200")
	c.forks = envInts("BENCH_FORKS", "10")
	c.ansibleMax = envInt("BENCH_ANSIBLE_FLEET_MAX", 50)
	for _, p := range strings.Fields(envStr("BENCH_FLEET_PIPELINING", "on")) {
		c.fleetPipe = append(c.fleetPipe, p == "on" || p == "true" || p == "1")
	}
	c.cases = map[string]bool{}
	for _, k := range strings.Fields(envStr("BENCH_CASES", "noop cold floor fleet change")) {
		c.cases[k] = true
	}
	if c.runs < 1 || c.fleetRuns < 1 {
		fatalf("BENCH_RUNS and BENCH_FLEET_RUNS must be at least 1")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := newBench(ctx, c)
	if err != nil {
		fatalf("%v", err)
	}
	err = b.run(ctx)
	b.cleanup()
	if err != nil {
		fatalf("%v", err)
	}
}

func (b *bench) run(ctx context.Context) error {
	start := time.Now()
	var r report
	r.machine = machineInfo()
	if err := b.setup(ctx); err != nil {
		return err
	}
	if b.c.cases["cold"] {
		if err := b.coldCase(ctx, &r); err != nil {
			return err
		}
	}
	if b.c.cases["floor"] {
		if err := b.floorCase(ctx, &r); err != nil {
			return err
		}
	}
	if b.c.cases["noop"] || b.c.cases["fleet"] || b.c.cases["change"] {
		if err := b.converge(ctx, &r); err != nil {
			return err
		}
	}
	if b.c.cases["noop"] {
		if err := b.noopCase(ctx, &r); err != nil {
			return err
		}
	}
	if b.c.cases["fleet"] {
		if err := b.fleetCase(ctx, &r); err != nil {
			return err
		}
	}
	// Last: it leaves the no-op stacks with another greeting.
	if b.c.cases["change"] {
		if err := b.changeCase(ctx, &r); err != nil {
			return err
		}
	}
	r.elapsed = time.Since(start)
	r.settings = fmt.Sprintf("BENCH_RUNS=%d BENCH_FLEET_RUNS=%d BENCH_FLEET=%q BENCH_FORKS=%q BENCH_FLEET_PIPELINING=%q BENCH_ANSIBLE_FLEET_MAX=%d BENCH_USER=%s",
		b.c.runs, b.c.fleetRuns, joinInts(b.c.fleet), joinInts(b.c.forks), envStr("BENCH_FLEET_PIPELINING", "on"), b.c.ansibleMax, b.user)
	text := r.markdown()
	fmt.Println(text)
	if err := os.MkdirAll(b.c.out, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.c.out, "results.md"), []byte(text), 0o644)
}

func envStr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	v := envStr(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		fatalf("%s=%q: not a number", name, v)
	}
	return n
}

func envInts(name, def string) []int {
	var ns []int
	for _, f := range strings.Fields(envStr(name, def)) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			fatalf("%s: %q is not a positive number", name, f)
		}
		ns = append(ns, n)
	}
	return ns
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchrun: "+format+"\n", args...)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
