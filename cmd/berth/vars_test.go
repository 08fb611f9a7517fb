package main

import (
	"testing"
)

// TestVarPrecedence: --var > the host's own vars (berth.yaml hosts[].vars,
// EC2 tags berth:var:KEY) > berth.yaml vars: > the playbook's defaults.
func TestVarPrecedence(t *testing.T) {
	tests := []struct {
		name                string
		config, host, flags map[string]string
		want                string
	}{
		{"playbook default", nil, nil, nil, "18080"},
		{"berth.yaml vars over the default", map[string]string{"web_port": "80"}, nil, nil, "80"},
		{"host vars over berth.yaml vars", map[string]string{"web_port": "80"}, map[string]string{"web_port": "8080"}, nil, "8080"},
		{"--var over host vars", map[string]string{"web_port": "80"}, map[string]string{"web_port": "8080"}, map[string]string{"web_port": "9090"}, "9090"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := playVars{config: tt.config, flags: tt.flags}
			pb, err := loadPlaybook("testdata/stack.yaml", v.forHost(tt.host))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := pb.Containers[1].Ports[0], "127.0.0.1:"+tt.want+":8080"; got != want {
				t.Fatalf("web publishes %q, want %q", got, want)
			}
		})
	}
	t.Run("--domain over everything", func(t *testing.T) {
		v := playVars{flags: map[string]string{"domain": "a.example.com"}, domain: "b.example.com"}
		if got := v.forHost(map[string]string{"domain": "c.example.com"})["domain"]; got != "b.example.com" {
			t.Fatalf("domain %q", got)
		}
	})
}
