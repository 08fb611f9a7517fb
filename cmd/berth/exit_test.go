package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/testenv"
	"github.com/berth-sh/berth/internal/testimage"
)

// TestExitCodes has one row per line of the README's exit code table (and
// `berth --help`'s): every command that can end that way, ends that way.
func TestExitCodes(t *testing.T) {
	prefix := testimage.Unique(t)
	stack := prefix + "stack"
	local := func(cmd string, extra ...string) func(t *testing.T) []string {
		return func(t *testing.T) []string {
			testenv.NeedDocker(t)
			cleanupStack(t, prefix)
			return append([]string{cmd, "--local", "--playbook", "testdata/stack.yaml", "--var", "prefix=" + prefix,
				"--state-dir", filepath.Join(t.TempDir(), "state")}, extra...)
		}
	}
	// withNetwork leaves a labelled network of the stack behind: something for destroy to remove.
	withNetwork := func(args func(*testing.T) []string) func(*testing.T) []string {
		return func(t *testing.T) []string {
			a := args(t)
			dockerOut(t, "network", "create", "--label", "berth.stack="+stack, prefix+"net")
			return a
		}
	}
	// withLock leaves another run's deploy lock in the state directory.
	withLock := func(args func(*testing.T) []string) func(*testing.T) []string {
		return func(t *testing.T) []string {
			a := args(t)
			lock := filepath.Join(a[len(a)-1], stack, "lock")
			if err := os.MkdirAll(lock, 0o700); err != nil {
				t.Fatal(err)
			}
			return a
		}
	}
	fixed := func(args ...string) func(*testing.T) []string { return func(*testing.T) []string { return args } }
	noAWS := func(args ...string) func(*testing.T) []string {
		return func(t *testing.T) []string {
			for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
				t.Setenv(k, "")
			}
			t.Setenv("AWS_CONFIG_FILE", os.DevNull)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
			return args
		}
	}
	tests := []struct {
		code     int
		name     string
		args     func(t *testing.T) []string
		canceled bool
	}{
		{exitOK, "version", fixed("version"), false},
		{exitOK, "destroy --dry-run with nothing to remove", local("destroy", "--dry-run"), false},
		{exitFailure, "status of an unreachable host", fixed("status", "--host", "127.0.0.1:1", "--connect-timeout", "1ms",
			"--ssh-config", "none", "--known-hosts", os.DevNull, "--identity", os.DevNull), false},
		{exitDrift, "plan with changes", local("plan"), false},
		{exitDrift, "deploy --dry-run with changes", local("deploy", "--dry-run"), false},
		{exitDrift, "destroy --dry-run with something to remove", withNetwork(local("destroy", "--dry-run")), false},
		{exitLockHeld, "deploy against a held lock", withLock(local("deploy")), false},
		{exitUsage, "unknown flag", fixed("plan", "--nope"), false},
		{exitUsage, "extra word", fixed("status", "word"), false},
		{exitUsage, "no AWS region", noAWS("hosts", "--ec2-tag", "Name=blog"), false},
		{exitInterrupted, "interrupted", fixed("run", "--local", "--", "true"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.canceled {
				cancel()
			}
			var out, errOut bytes.Buffer
			code := NewApp(strings.NewReader(""), &out, &errOut).Run(ctx, append([]string{"berth"}, args...))
			if code != tt.code {
				t.Fatalf("berth %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, tt.code, out.String(), errOut.String())
			}
		})
	}
}
