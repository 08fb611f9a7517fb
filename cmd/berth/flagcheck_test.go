package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestNumericFlagsRefuseNonsense(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "berth.yaml")
	if err := os.WriteFile(cfg, []byte("parallel: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"deploy", "--parallel", "0"}, "--parallel 0: want 1 or more"},
		{[]string{"deploy", "--parallel", "-3"}, "--parallel -3: want 1 or more"},
		{[]string{"hosts", "--parallel", "0"}, "--parallel 0"},
		{[]string{"deploy", "--max-failures", "-1"}, "--max-failures -1: want 0 or more"},
		{[]string{"deploy", "--batch", "0"}, `--batch "0": want N hosts`},
		{[]string{"deploy", "--batch", "-2"}, `--batch "-2"`},
		{[]string{"deploy", "--batch", "0%"}, `--batch "0%"`},
		{[]string{"deploy", "--batch", "101%"}, `--batch "101%"`},
		{[]string{"deploy", "--lock-wait", "-1s"}, "--lock-wait -1s: want 0 or more"},
		{[]string{"destroy", "--lock-wait", "-1s"}, "--lock-wait -1s"},
		{[]string{"deploy", "--lock-stale", "0s"}, "--lock-stale 0s: want more than 0"},
		{[]string{"plan", "--connect-timeout", "0s"}, "--connect-timeout 0s"},
		{[]string{"run", "--connect-timeout", "-5s", "--", "true"}, "--connect-timeout -5s"},
		{[]string{"run", "--command-timeout", "0s", "--", "true"}, "--command-timeout 0s"},
		{[]string{"deploy", "--command-timeout", "-1m"}, "--command-timeout -1m0s"},
		{[]string{"dns", "--dns-timeout", "0s"}, "--dns-timeout 0s"},
		{[]string{"deploy", "--dns-poll", "-1s"}, "--dns-poll -1s"},
		{[]string{"hosts", "--aws-timeout", "0s"}, "--aws-timeout 0s"},
		{[]string{"status", "--port", "0"}, "--port 0: want a port from 1 to 65535"},
		{[]string{"status", "--port", "-22"}, "--port -22"},
		{[]string{"unlock", "--port", "65536"}, "--port 65536"},
		{[]string{"deploy", "--config", cfg}, "--parallel 0: want 1 or more"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := berth(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}

// TestNumericFlagsAcceptSense passes the edge values each rule allows: the
// command then fails for its own reason (no targets), not for the flag.
func TestNumericFlagsAcceptSense(t *testing.T) {
	args := []string{"deploy", "--parallel", "1", "--max-failures", "0", "--batch", "100%", "--lock-wait", "0s",
		"--lock-stale", "1ns", "--port", "65535", "--connect-timeout", "1s", "--dns-timeout", "1s", "--dns-poll", "1s"}
	_, stderr, code := berth(t, args...)
	if !strings.Contains(stderr, "no targets") {
		t.Fatalf("exit %d, stderr %q; want only the no-targets error", code, stderr)
	}
}

// TestEveryNumericFlagHasARule keeps a numeric flag added later from
// skipping the checks.
func TestEveryNumericFlagHasARule(t *testing.T) {
	var cmds []*cli.Command
	var walk func([]*cli.Command)
	walk = func(cs []*cli.Command) {
		for _, c := range cs {
			cmds = append(cmds, c)
			walk(c.Subcommands)
		}
	}
	a := NewApp(nil, nil, nil)
	walk([]*cli.Command{a.deployCommand(), a.planCommand(), a.statusCommand(), a.destroyCommand(), a.hostsCommand(),
		a.dnsCommand(), a.runCommand(), a.scheduleCommand(), a.unlockCommand(), a.playbooksCommand()})
	for _, cmd := range cmds {
		for _, f := range cmd.Flags {
			switch f.(type) {
			case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag, *cli.Float64Flag, *cli.DurationFlag:
			default:
				if f.Names()[0] != "batch" {
					continue
				}
			}
			name := f.Names()[0]
			if _, ok := flagRules[name]; !ok && flagsCheckedElsewhere[name] == "" {
				t.Errorf("berth %s --%s has no entry in flagRules", cmd.Name, name)
			}
		}
	}
}
