package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/sshtest"
)

// The reported exploit: for a user whose login shell is fish, \' inside
// single quotes is a quote, so an argument ending in a backslash ended the
// quoting and the next one ran as a command. Each login shell must carry
// both arguments intact and run nothing.
func TestRunSafeWhateverTheLoginShell(t *testing.T) {
	for _, shell := range []string{"/bin/sh", "/bin/bash", "/usr/bin/fish", "/usr/bin/tcsh"} {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			s := sshtest.Start(t, sshtest.LoginShell(shell))
			pwned := filepath.Join(t.TempDir(), "pwned")
			args := append(sshFlags(s), "--", "echo", `x\`, ";touch "+pwned+";#")
			out, _, code := berth(t, append([]string{"run"}, args...)...)
			if code != 0 || out != s.Target()+`: x\ ;touch `+pwned+";#\n" {
				t.Errorf("exit %d, stdout %q", code, out)
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Fatal("an argument was run as a command by the login shell")
			}
		})
	}
}

func TestDeploySafeWhateverTheLoginShell(t *testing.T) {
	for _, shell := range []string{"/usr/bin/fish", "/usr/bin/tcsh"} {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			e := newStackEnv(t, sshtest.LoginShell(shell))
			pwned := filepath.Join(t.TempDir(), "pwned")
			// The repro's --var 'a=x\' --var 'b=;touch /tmp/pwned;#', on vars
			// the stack really uses (the web container's environment).
			vars := []string{"--var", `greeting=x\`, "--var", "fail_health=;touch " + pwned + ";#"}
			if _, _, code := berth(t, e.args("deploy", vars...)...); code != 0 {
				t.Fatalf("deploy: exit %d", code)
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Fatal("a variable was run as a command by the login shell")
			}
			if _, body := httpDo(t, "GET", e.url("/"), ""); !strings.Contains(body, `greeting=x\`+"\n") {
				t.Errorf("web serves %q, want the greeting intact", body)
			}
			if _, _, code := berth(t, e.args("plan", vars...)...); code != 0 {
				t.Errorf("plan after deploy: exit %d, want 0 (nothing to change)", code)
			}
		})
	}
}
