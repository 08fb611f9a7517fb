package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// hookRun runs argv wrapped by --on-failure with a hook that records what it
// was told; it returns the wrapper's exit code, its stderr and the record
// ("" when the hook did not run).
func hookRun(t *testing.T, argv []string, start func(*exec.Cmd)) (int, string, string) {
	t.Helper()
	record := filepath.Join(t.TempDir(), "hook.out")
	wrapped := withOnFailure("berth-blog", `printf '%s|%s|%s' "$BERTH_SCHEDULE" "$BERTH_EXIT_CODE" "$BERTH_SUMMARY" > `+record, argv)
	cmd := exec.Command(wrapped[0], wrapped[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if start != nil {
		start(cmd)
	} else if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(record)
	return cmd.ProcessState.ExitCode(), stderr.String(), string(got)
}

func TestOnFailureHook(t *testing.T) {
	t.Run("a failed run calls the hook and keeps its exit code and stderr", func(t *testing.T) {
		code, stderr, hook := hookRun(t, []string{"/bin/sh", "-c", `echo progress >&2; printf 'berth: 1 error occurred:\n\t* web: 100%% down\n\n' >&2; exit 3`}, nil)
		if code != 3 {
			t.Errorf("exit %d, want 3", code)
		}
		if !strings.Contains(stderr, "progress") || !strings.Contains(stderr, "web: 100% down") {
			t.Errorf("the run's stderr was not passed on: %q", stderr)
		}
		if want := "berth-blog|3|web: 100% down"; hook != want {
			t.Errorf("hook saw %q, want %q", hook, want)
		}
	})
	t.Run("a run that succeeds does not call the hook", func(t *testing.T) {
		code, _, hook := hookRun(t, []string{"/bin/sh", "-c", "echo fine >&2"}, nil)
		if code != 0 || hook != "" {
			t.Errorf("exit %d, hook saw %q; want 0 and no call", code, hook)
		}
	})
	// systemd stops a run past TimeoutStartSec with SIGTERM to every process
	// of the unit: the hook must still be told. The run stands in for berth,
	// which exits 130 on SIGTERM after releasing its locks.
	t.Run("a run stopped by SIGTERM calls the hook", func(t *testing.T) {
		berthLike := `trap 'echo "berth: interrupted" >&2; exit 130' TERM; echo started; sleep 600 & wait`
		code, _, hook := hookRun(t, []string{"/bin/sh", "-c", berthLike}, func(cmd *exec.Cmd) {
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if line, err := bufio.NewReader(out).ReadString('\n'); line != "started\n" {
				t.Fatalf("read %q: %v", line, err)
			}
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			cmd.Wait() //nolint:errcheck // the exit code is checked below
		})
		if want := "berth-blog|130|berth: interrupted"; hook != want || code != 130 {
			t.Errorf("exit %d, hook saw %q; want 130 and %q", code, hook, want)
		}
	})
}
