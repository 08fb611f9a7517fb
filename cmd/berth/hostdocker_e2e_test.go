package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/internal/testenv"
)

// TestHostWithoutUsableDocker: a host without docker, and one where docker
// refuses the user, each get an error naming the fix.
func TestHostWithoutUsableDocker(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		testenv.Missing(t, "busybox", err.Error())
	}
	// A PATH with a shell and the usual tools, and no docker at all.
	tools := t.TempDir()
	if out, err := exec.Command(busybox, "--install", "-s", tools).CombinedOutput(); err != nil {
		t.Fatalf("busybox --install: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(tools, "docker"))
	// A docker that answers like a daemon refusing a user outside the docker group.
	denied := t.TempDir()
	fake := "#!/bin/sh\necho 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(denied, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"no docker", tools, "berth bootstrap"},
		{"permission denied", denied + ":" + tools, "docker group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sshtest.Start(t, sshtest.Config("SetEnv PATH="+tt.path))
			args := append([]string{"plan"}, sshFlags(s)...)
			args = append(args, "--playbook", "testdata/stack.yaml", "--state-dir", t.TempDir())
			_, errOut, code := berth(t, args...)
			if code != exitFailure {
				t.Fatalf("exit %d, want %d", code, exitFailure)
			}
			if !strings.Contains(errOut, tt.want) || !strings.Contains(errOut, s.Target()) {
				t.Errorf("error does not name the host and the fix %q: %s", tt.want, errOut)
			}
		})
	}
}
