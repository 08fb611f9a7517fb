package testimage

import (
	"os/exec"
	"strings"
	"testing"
)

func TestBuildRunsHealthCheckShell(t *testing.T) {
	ref := Build(t, "selftest", "selftest")
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "/bin/sh", ref, "-c", "/app health http://127.0.0.1:1/ || echo unhealthy-as-expected").CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "unhealthy-as-expected") {
		t.Fatalf("unexpected output: %s", out)
	}
}
