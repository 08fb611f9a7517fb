package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigSettings(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantCode   int
		wantErr    string
	}{
		{"typo refused", "paralel: 3\n", exitUsage, `unknown setting "paralel"`},
		{"another command's setting ignored", "volumes: true\nvars: {http_port: \"8080\"}\n", exitDrift, ""},
		{"per-host vars need a valid host", "hosts:\n  - host: 'a b'\n", exitUsage, "hosts[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "berth.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"plan", "--config", path}
			if !strings.Contains(tt.yaml, "hosts:") {
				args = append(args, "--local", "--state-dir", t.TempDir(), "--stack", "bt-config-never-deployed")
			}
			_, errOut, code := berth(t, args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tt.wantCode, errOut, tt.wantErr)
			}
		})
	}
}
