package main

import (
	"context"
	"errors"
	"testing"

	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// TestSummaryNamesHostsByID: a host's summary row has the id every other
// event of the host has (user@host:port), even when it was never reached;
// an EC2 Name tag is an extra field, not the id.
func TestSummaryNamesHostsByID(t *testing.T) {
	opts := remote.SSHOptions{HomeDir: t.TempDir(), User: "admin"}
	tests := []struct {
		target   inventory.Target
		id, name string
	}{
		{inventory.Target{Name: "blog", Addr: "1.2.3.4"}, "admin@1.2.3.4:22", "blog"},
		{inventory.Target{Name: "1.2.3.5", Addr: "1.2.3.5", User: "root", Port: 2222}, "root@1.2.3.5:2222", ""},
		{inventory.Target{Name: localName}, localName, ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			refused := errors.New("connection refused")
			res := rollout.Run(context.Background(), rollout.Options{
				Hosts:   []rollout.Host{{Target: tt.target, Playbook: &playbooks.Playbook{Name: "s"}, ID: hostID(tt.target, opts)}},
				Connect: func(context.Context, inventory.Target) (remote.Conn, error) { return nil, refused },
			})
			var rec ui.Recorder
			summary(&rec, deployRows(res.Hosts), false, false)
			s, ok := rec.Events()[0].(ui.Summary)
			if !ok || s.Host != tt.id || s.Name != tt.name || s.Result != ui.SummaryFailed {
				t.Fatalf("summary %+v, want host %q, name %q, failed", rec.Events()[0], tt.id, tt.name)
			}
		})
	}
}
