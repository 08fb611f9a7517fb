package main

import (
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/sshtest"
)

func TestRunCommand(t *testing.T) {
	s := sshtest.Start(t)
	tests := []struct {
		name       string
		argv       []string
		stdin      string
		wantCode   int
		wantOut    string
		wantErrOut string
	}{
		{"ok", []string{"echo", "hello"}, "", 0, s.Target() + ": hello\n", ""},
		{"stderr stays stderr", []string{"sh", "-c", "echo oops >&2"}, "", 0, "", s.Target() + ": oops\n"},
		{"exit code", []string{"sh", "-c", "exit 3"}, "", 1, "", "exit status 3"},
		{"hostile args intact", []string{"printf", "%s|", "$(reboot)", "`id`", "a'b\"c", "x\ny"}, "", 0, s.Target() + ": $(reboot)|`id`|a'b\"c|x\n" + s.Target() + ": y|\n", ""},
		{"stdin", []string{"--stdin", "--", "cat"}, "from stdin\n", 0, s.Target() + ": from stdin\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"run"}, sshFlags(s)...)
			if tt.argv[0] == "--stdin" {
				args = append(args, tt.argv...)
			} else {
				args = append(append(args, "--"), tt.argv...)
			}
			out, errOut, code := berthIn(t, strings.NewReader(tt.stdin), args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d", code, tt.wantCode)
			}
			if out != tt.wantOut {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErrOut) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.wantErrOut)
			}
		})
	}
}

func TestRunManyHostsOneFails(t *testing.T) {
	a := sshtest.Start(t)
	b := sshtest.Start(t)
	b.Stop()
	args := []string{"run", "--host", a.Target(), "--host", b.Target(), "--identity", a.ClientKeyPath,
		"--known-hosts", a.KnownHostsPath, "--ssh-config", "none", "--connect-timeout", "1s", "--", "echo", "hi"}
	out, errOut, code := berth(t, args...)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if out != a.Target()+": hi\n" {
		t.Errorf("stdout %q", out)
	}
	if !strings.Contains(errOut, b.Target()) || !strings.Contains(errOut, "1 of 2 hosts failed") {
		t.Errorf("stderr does not name the failed host: %q", errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no targets", []string{"run", "--", "true"}, "no targets"},
		{"no command", []string{"run", "--local"}, "no command"},
		{"bad host", []string{"run", "--host", "a b", "--", "true"}, "--host"},
		{"unknown flag", []string{"deploy", "--nope"}, "nope"},
		{"bad var", []string{"plan", "--local", "--var", "novalue"}, "key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := berth(t, tt.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Fatalf("stderr %q does not mention %q", errOut, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out, _, code := berth(t, "version")
	if code != 0 || !strings.HasPrefix(out, "berth ") {
		t.Fatalf("version: %d %q", code, out)
	}
}
