package main

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestArgumentsAndFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // in stderr
		wantOut  string // in stdout
	}{
		{"extra word refused, named", []string{"deploy", "--local", "extra-arg"}, exitUsage, `unexpected argument "extra-arg"`, ""},
		{"word before flags refused, named", []string{"plan", "foo", "--local"}, exitUsage, `unexpected argument "foo"`, ""},
		{"status takes no words", []string{"status", "--local", "x"}, exitUsage, `status: unexpected argument "x"`, ""},
		{"schedule takes no words", []string{"schedule", "--every", "1h", "--local", "--print", "x"}, exitUsage, `schedule: unexpected argument "x"`, ""},
		{"subcommand typo suggested", []string{"playbooks", "shwo"}, exitUsage, "did you mean berth playbooks show?", ""},
		{"unknown command suggested", []string{"deplyo"}, exitUsage, `unknown command "deplyo" (did you mean deploy?)`, ""},
		{"unknown command, nothing close", []string{"zzzzzz"}, exitUsage, `unknown command "zzzzzz" (see berth --help)`, ""},
		{"unknown flag suggested", []string{"deploy", "--paralel", "3"}, exitUsage, "unknown flag --paralel (did you mean --parallel?)", ""},
		{"playbook var as a flag", []string{"deploy", "--http-port", "8080"}, exitUsage, "did you mean --var http_port=...?", ""},
		{"var of the named playbook", []string{"plan", "--playbook", "testdata/stack.yaml", "--web-port", "1"}, exitUsage, "did you mean --var web_port=...?", ""},
		{"unknown flag, nothing close", []string{"status", "--zzzzzz"}, exitUsage, "unknown flag --zzzzzz (see berth status --help)", ""},
		{"help for an unknown command", []string{"help", "deplyo"}, exitUsage, `unknown command "deplyo" (did you mean deploy?)`, ""},
		{"help for a command", []string{"help", "destroy"}, exitOK, "", "berth destroy - remove"},
		{"unknown global flag", []string{"-x"}, exitUsage, "unknown flag -x (see berth --help)", ""},
		{"global flag suggested", []string{"--verison"}, exitUsage, "unknown flag --verison (did you mean --version?)", ""},
		{"--version", []string{"--version"}, exitOK, "", "berth dev\n"},
		{"version", []string{"version"}, exitOK, "", "berth dev\n"},
		{"run keeps its words", []string{"run"}, exitUsage, "run: no command given", ""},
		{"move onto its own source", []string{"move", "--from", "root@10.0.0.1", "--to", "root@10.0.0.1:22", "--playbook", "testdata/stack.yaml"}, exitUsage, "--from and --to are the same host", ""},
		{"move: --volumes only with --destroy-source", []string{"move", "--from", "a", "--to", "b", "--volumes", "--yes"}, exitUsage, "needs --destroy-source", ""},
		{"move: --volumes needs --yes", []string{"move", "--from", "a", "--to", "b", "--destroy-source", "--volumes"}, exitUsage, "pass --yes", ""},
		{"help for move explains the order", []string{"help", "move"}, exitOK, "", "only then points the DNS record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := berth(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) || !strings.Contains(out, tt.wantOut) {
				t.Fatalf("exit %d (want %d)\nstderr %q (want %q)\nstdout %q (want %q)", code, tt.wantCode, errOut, tt.wantErr, out, tt.wantOut)
			}
		})
	}
}

// TestHelpText renders every command's help: each flag that takes a value
// names it (no bare "value"), and no default is printed twice.
func TestHelpText(t *testing.T) {
	valuePlaceholder := regexp.MustCompile(`--[a-z-]+(, -[a-z])? value\b`)
	app := NewApp(strings.NewReader(""), io.Discard, io.Discard).cliApp()
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			if cmd.Hidden {
				continue // __complete: for the completion scripts, not people
			}
			args := append(append([]string{}, path...), cmd.Name)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				out, _, code := berth(t, append(args, "--help")...)
				if code != exitOK || !strings.Contains(out, "USAGE") {
					t.Fatalf("exit %d, no help shown", code)
				}
				for _, line := range strings.Split(out, "\n") {
					if valuePlaceholder.MatchString(line) {
						t.Errorf("bare value placeholder: %q", line)
					}
					if strings.Count(line, "(default") > 1 {
						t.Errorf("default shown twice: %q", line)
					}
				}
			})
			walk(args, cmd.Subcommands)
		}
	}
	walk(nil, app.Commands)
}
