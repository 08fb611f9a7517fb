// Package testenv decides what an integration test does when a real part it
// needs (sshd, Docker) is missing: skip with a message on a laptop, fail when
// BERTH_E2E=1 (as in CI), so CI never passes by skipping.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// E2E reports whether integration tests must run (BERTH_E2E=1).
func E2E() bool { return os.Getenv("BERTH_E2E") == "1" }

// Missing skips the test, or fails it under BERTH_E2E=1, because part is missing.
func Missing(t testing.TB, part, why string) {
	t.Helper()
	if E2E() {
		t.Fatalf("BERTH_E2E=1 but %s is unavailable: %s", part, why)
	}
	t.Skipf("skipping: %s is unavailable (%s); set BERTH_E2E=1 to make this a failure", part, why)
}

// NeedDocker makes sure a Docker engine answers.
func NeedDocker(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		Missing(t, "docker", err.Error())
		return
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		Missing(t, "the Docker engine", string(out))
	}
}

// NeedSSHD makes sure OpenSSH's sshd can be started.
func NeedSSHD(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		Missing(t, "/usr/sbin/sshd (openssh-server)", err.Error())
	}
}
