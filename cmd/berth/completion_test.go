package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/testenv"
)

// TestCompleteCandidates: what `berth __complete` offers for the words typed
// so far (the last one being completed).
func TestCompleteCandidates(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		want  []string // exactly, in order
	}{
		{"commands", []string{""}, []string{"deploy", "plan", "status", "destroy", "hosts", "bootstrap", "dns", "run", "schedule", "backup", "restore", "move", "unlock", "playbooks", "completion", "version"}},
		{"command prefix", []string{"de"}, []string{"deploy", "destroy"}},
		{"hidden command not offered", []string{"__"}, nil},
		{"flag prefix", []string{"deploy", "--pl"}, []string{"--playbook"}},
		{"flags of a command", []string{"status", "--js"}, []string{"--json"}},
		{"global flags", []string{"--v"}, []string{"--version"}},
		{"playbook names", []string{"deploy", "--playbook", ""}, []string{"wordpress"}},
		{"playbook names after -p", []string{"plan", "-p", "w"}, []string{"wordpress"}},
		{"vars of the default playbook", []string{"deploy", "--var", ""}, []string{"db_image=", "domain=", "http_port=", "wp_image="}},
		{"vars of the named playbook", []string{"deploy", "--playbook", "testdata/stack.yaml", "--var", "web"}, []string{"web_bind=", "web_image=", "web_port="}},
		{"var after other flags", []string{"deploy", "--local", "--var", "ht"}, []string{"http_port="}},
		{"host key policies", []string{"deploy", "--host-key-policy", ""}, []string{"strict", "accept-new", "insecure-ignore-host-key"}},
		{"subcommands", []string{"playbooks", ""}, []string{"show"}},
		{"playbooks show NAME", []string{"playbooks", "show", ""}, []string{"wordpress"}},
		{"shells", []string{"completion", ""}, []string{"bash", "zsh", "fish"}},
		{"a flag value is not a command", []string{"deploy", "--stack", "de"}, nil},
		{"run's command is not ours", []string{"run", "--local", "--", "do"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, code := berth(t, append([]string{"__complete"}, tt.words...)...)
			got := strings.Fields(out)
			if code != 0 || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("exit %d, candidates %q, want %q", code, got, tt.want)
			}
		})
	}
}

// TestCompletionScripts runs each script in its real shell, with berth
// replaced by a function that records the words it is given and offers two
// candidates: the shell must pass the words typed so far and show what
// berth offers.
func TestCompletionScripts(t *testing.T) {
	tests := []struct {
		shell string
		run   string // completes "berth deploy --pl"; SCRIPT, ARGS are set
	}{
		{"bash", `source "$SCRIPT"
berth() { printf '%s\n' "$@" > "$ARGS"; printf -- '--playbook\n--plonk\n'; }
COMP_WORDS=(berth deploy --pl); COMP_CWORD=2; _berth
printf '%s\n' "${COMPREPLY[@]}"`},
		{"zsh", `compdef() { :; }
source "$SCRIPT"
berth() { printf '%s\n' "$@" > "$ARGS"; printf -- '--playbook\n--plonk\n'; }
compadd() { print -l -- "${(@P)${@[-1]}}"; }
words=(berth deploy --pl); CURRENT=3; _berth`},
		{"fish", `source $SCRIPT
function berth; printf '%s\n' $argv > $ARGS; printf '%s\n' --playbook --plonk; end
complete -C 'berth deploy --pl'`},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			sh, err := exec.LookPath(tt.shell)
			if err != nil {
				testenv.Missing(t, tt.shell, err.Error())
			}
			script, _, code := berth(t, "completion", tt.shell)
			if code != 0 {
				t.Fatalf("completion %s: exit %d", tt.shell, code)
			}
			dir := t.TempDir()
			scriptPath, argsPath := filepath.Join(dir, "berth."+tt.shell), filepath.Join(dir, "args")
			if err := os.WriteFile(scriptPath, []byte(script), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(sh, "-c", tt.run)
			cmd.Env = append(os.Environ(), "SCRIPT="+scriptPath, "ARGS="+argsPath)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tt.shell, err, out)
			}
			if got := strings.Fields(string(out)); strings.Join(got, " ") != "--playbook --plonk" {
				t.Errorf("%s offers %q, want the candidates berth printed", tt.shell, got)
			}
			args, err := os.ReadFile(argsPath)
			if err != nil {
				t.Fatalf("%s never called berth: %v", tt.shell, err)
			}
			if got := strings.Fields(string(args)); strings.Join(got, " ") != "__complete deploy --pl" {
				t.Errorf("%s called berth %q, want __complete deploy --pl", tt.shell, got)
			}
		})
	}
}

// TestCompletionNeedsAShell: no shell, another shell or two shells are a
// usage error, and print no script (a script on stdout would be sourced).
func TestCompletionNeedsAShell(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if out, _, code := berth(t, args...); code != exitUsage || out != "" {
				t.Errorf("berth %s: exit %d, stdout %d bytes; want %d and nothing", strings.Join(args, " "), code, len(out), exitUsage)
			}
		})
	}
	if out, _, code := berth(t, "completion", "bash"); code != 0 || out != bashCompletion {
		t.Errorf("berth completion bash: exit %d, and not the bash script", code)
	}
}
