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

// One compiled app serves every version: the version file alone must make
// the images, and what the app reports, differ.
func TestBuildVersionsDiffer(t *testing.T) {
	a, b := Build(t, "selftest-a", "va"), Build(t, "selftest-b", "vb")
	t.Cleanup(func() { exec.Command("docker", "image", "rm", "-f", a, b).Run() })
	if ImageID(t, a) == ImageID(t, b) {
		t.Fatal("two versions built the same image")
	}
}
