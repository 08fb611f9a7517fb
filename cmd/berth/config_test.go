package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigSettings: berth.yaml is read like a playbook: errors carry
// file:line:col and a hint. None of these reach Docker: config errors stop
// the run first, and hosts only lists targets.
func TestConfigSettings(t *testing.T) {
	tests := []struct {
		name, yaml string
		cmd        []string
		wantCode   int
		wantErr    string // after "PATH:"
	}{
		{"typo suggested", "parallel: 2\nparalel: 3\n", []string{"plan"}, exitUsage, `2:1: unknown setting "paralel" (did you mean parallel?)`},
		{"playbook var at top level", "http_port: 8080\n", []string{"plan"}, exitUsage, `1:1: unknown setting "http_port" (http_port is a playbook var: put it under vars:)`},
		{"var: instead of vars:", "var:\n  http_port: 8080\n", []string{"plan"}, exitUsage, `1:1: var: want a value or a list, not a map (did you mean vars:?)`},
		{"syntax error on its line", "parallel: 2\nhost: [a\n", []string{"plan"}, exitUsage, `2: did not find expected ',' or ']'`},
		{"wrong type at its value", "parallel: 2\nvars: [a]\n", []string{"plan"}, exitUsage, `2:7: vars: cannot unmarshal`},
		{"bad flag value at its key", "local: maybe\n", []string{"plan"}, exitUsage, `1:1: local: invalid value "maybe"`},
		{"not a mapping", "- a\n", []string{"plan"}, exitUsage, `1:1: expected a mapping of settings, got a list`},
		{"set twice", "parallel: 2\nparallel: 3\n", []string{"plan"}, exitUsage, `2:1: parallel is set twice`},
		{"another command's setting ignored", "volumes: true\nvars: {http_port: \"8080\"}\n", []string{"hosts", "--local"}, exitOK, ""},
		{"per-host vars need a valid host", "hosts:\n  - host: 'a b'\n", []string{"hosts"}, exitUsage, "hosts[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "berth.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := berth(t, append(tt.cmd, "--config", path)...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tt.wantCode, errOut, tt.wantErr)
			}
			if tt.wantErr != "" && !strings.Contains(errOut, path+":"+tt.wantErr) && tt.name != "per-host vars need a valid host" {
				t.Errorf("stderr %q does not start the message with %s:%s", errOut, path, tt.wantErr)
			}
		})
	}
}
