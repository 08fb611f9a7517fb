package deploy

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// waitConn answers every command with err, as the wait script's exit would.
type waitConn struct{ err error }

func (waitConn) Host() string                                              { return "h1" }
func (c waitConn) Run(context.Context, remote.Cmd) error                   { return c.err }
func (waitConn) Upload(context.Context, string, []byte, os.FileMode) error { return nil }
func (waitConn) Close() error                                              { return nil }

type recorder struct{ evs []ui.Event }

func (r *recorder) Report(e ui.Event) { r.evs = append(r.evs, e) }

// TestWaitReadyAnnouncesWaits: every wait says when it starts (with its
// limit, from the playbook's defaults) and how it ended.
func TestWaitReadyAnnouncesWaits(t *testing.T) {
	pb, err := playbooks.Parse("t.yaml", []byte(`name: t
containers:
  - name: checked
    image: busybox:1
    health: { cmd: ["true"] }
  - name: plain
    image: busybox:1
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	checked, plain := &pb.Containers[0], &pb.Containers[1]
	// One home for the defaults: the parsed playbook's, 30 retries of 5s.
	defaultHealth := playbooks.DefaultHealthInterval*time.Duration(playbooks.DefaultHealthRetries+2) + 30*time.Second
	tests := []struct {
		name     string
		c        *playbooks.Container
		err      error
		timeout  time.Duration
		first    string
		last     string
		lastStat string
	}{
		{"healthy", checked, nil, defaultHealth, "waiting up to 3m10s for checked to be healthy", "checked is healthy", ui.WaitReady},
		{"unhealthy", checked, &remote.ExitError{Code: 1}, defaultHealth, "for checked to be healthy", "checked: not ready", ui.WaitFailed},
		{"no health check", plain, nil, runningTimeout, "waiting up to 30s for plain to be running", "plain is running", ui.WaitReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			waitReady(context.Background(), waitConn{tt.err}, ui.Host{R: &rec, Name: "h1"}, tt.c, nil)
			if len(rec.evs) != 2 {
				t.Fatalf("got %d events, want a start and an end: %+v", len(rec.evs), rec.evs)
			}
			first, last := rec.evs[0], rec.evs[1]
			if first.Kind != ui.KindWait || first.Host != "h1" || !strings.Contains(first.Message, tt.first) ||
				first.Data["status"] != ui.WaitStarted || first.Data["timeout_ms"] != tt.timeout.Milliseconds() || first.Data["container"] != tt.c.Name {
				t.Errorf("start event %+v, want %q with timeout %s", first, tt.first, tt.timeout)
			}
			if last.Kind != ui.KindWait || !strings.Contains(last.Message, tt.last) || last.Data["status"] != tt.lastStat {
				t.Errorf("end event %+v, want %q, status %s", last, tt.last, tt.lastStat)
			}
		})
	}
}
