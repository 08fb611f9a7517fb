package main

import (
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/sshtest"
)

func TestCommandTimeoutFlag(t *testing.T) {
	s := sshtest.Start(t)
	t.Run("a hung command fails the host", func(t *testing.T) {
		args := append(append([]string{"run"}, sshFlags(s)...), "--command-timeout", "300ms", "--", "sleep", "60")
		_, errOut, code := berth(t, args...)
		if code != exitFailure || !strings.Contains(errOut, "command timeout of 300ms") || !strings.Contains(errOut, s.Target()) {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
	})
	for _, bad := range []string{"0s", "-1s"} {
		t.Run(bad, func(t *testing.T) {
			args := append(append([]string{"run"}, sshFlags(s)...), "--command-timeout", bad, "--", "true")
			if _, errOut, code := berth(t, args...); code != exitUsage || !strings.Contains(errOut, "--command-timeout") {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
		})
	}
}
