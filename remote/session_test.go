package remote

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/testenv"
)

// TestSessionCommandEveryShell runs sessionCommand the way sshd does, as
// "<login shell> -c <command>", with the header and then data on stdin: the
// argv must arrive intact and the data after it, whatever the shell.
func TestSessionCommandEveryShell(t *testing.T) {
	args := []string{"printf", `%s\0`, `x\`, ";touch pwned;#", "$(id)", "`id`", "'", `"`, "a\nb", "\n", "!", "!!", "{a,b}", "*", "~", "%s", "日本語", "", "-n"}
	for _, shell := range []string{"/bin/sh", "/bin/bash", "/usr/bin/fish", "/usr/bin/tcsh"} {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			if _, err := os.Stat(shell); err != nil {
				testenv.Missing(t, shell, err.Error())
			}
			dir := t.TempDir()
			header, err := sessionHeader(append(args, "--", "then stdin:"))
			if err != nil {
				t.Fatal(err)
			}
			// What follows the header is the command's stdin.
			script, err := sessionHeader([]string{"cat"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				header []byte
				argv   []string
			}{{header, append(args[2:], "--", "then stdin:")}, {script, nil}} {
				cmd := exec.Command(shell, "-c", sessionCommand)
				cmd.Dir = dir
				cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
				cmd.Stdin = bytes.NewReader(append(tc.header, "data\nmore"...))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", shell, err, out)
				}
				want := strings.Join(tc.argv, "\x00")
				if tc.argv != nil {
					want += "\x00"
				} else {
					want = "data\nmore"
				}
				if string(out) != want {
					t.Fatalf("got %q\nwant %q", out, want)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
				t.Fatal("an argument was run as a command")
			}
		})
	}
}
