package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/awsfake"
)

// TestHostsJSON: hosts --json is JSON lines with the README's snake_case fields,
// each of them shown by one case.
func TestHostsJSON(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "berth.yaml")
	if err := os.WriteFile(cfg, []byte("hosts:\n  - host: deploy@10.0.0.5:2222\n    vars: {http_port: \"8080\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An EC2 target is the one that has every field.
	aws := awsfake.New(t)
	aws.Env(t)
	aws.AddInstance(awsfake.Instance{ID: "i-0abc", PublicIP: "203.0.113.9", PrivateIP: "10.1.2.3", Tags: map[string]string{"Name": "web1", "app": "blog"}})
	tests := []struct {
		name string
		args []string
		want []string // one JSON object per line, exactly
	}{
		{"flags", []string{"--local", "--host", "admin@blog.example:2222"}, []string{
			`{"name":"local"}`,
			`{"name":"blog.example","ssh":"admin@blog.example:2222"}`,
		}},
		{"config with vars", []string{"--config", cfg}, []string{
			`{"name":"10.0.0.5","ssh":"deploy@10.0.0.5:2222","vars":{"http_port":"8080"}}`,
		}},
		{"ec2", []string{"--ec2-tag", "app=blog", "--user", "admin", "--ssh-config", "none"}, []string{
			`{"name":"web1","id":"i-0abc","ssh":"admin@203.0.113.9","public_ip":"203.0.113.9","private_ip":"10.1.2.3","state":"running"}`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, code := berth(t, append([]string{"hosts", "--json"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if strings.Join(lines, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", out, strings.Join(tt.want, "\n"))
			}
			for _, l := range lines {
				if !json.Valid([]byte(l)) {
					t.Errorf("not a JSON line: %q", l)
				}
			}
		})
	}
}
