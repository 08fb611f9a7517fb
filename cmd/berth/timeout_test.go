package main

import (
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/sshtest"
)

func TestCommandTimeoutFlag(t *testing.T) {
	s := sshtest.Start(t)
	// A hung command fails its host instead of hanging the run. (Bounds of
	// the flag itself: flagcheck_test.go.)
	args := append(append([]string{"run"}, sshFlags(s)...), "--command-timeout", "300ms", "--", "sleep", "60")
	_, errOut, code := berth(t, args...)
	if code != exitFailure || !strings.Contains(errOut, "command timeout of 300ms") || !strings.Contains(errOut, s.Target()) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}
