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
			var rec ui.Recorder
			waitReady(context.Background(), direct{waitConn{tt.err}}, waitConn{tt.err}, ui.Host{R: &rec, Name: "h1"}, tt.c, nil)
			evs := rec.Events()
			if len(evs) != 2 {
				t.Fatalf("got %d events, want a start and an end: %+v", len(evs), evs)
			}
			first, ok1 := evs[0].(ui.Wait)
			last, ok2 := evs[1].(ui.Wait)
			if !ok1 || !ok2 {
				t.Fatalf("events %+v, want two waits", evs)
			}
			if first.Host != "h1" || !strings.Contains(text(first), tt.first) ||
				first.Status != ui.WaitStarted || time.Duration(first.Timeout) != tt.timeout || first.Container != tt.c.Name {
				t.Errorf("start event %+v, want %q with timeout %s", first, tt.first, tt.timeout)
			}
			if !strings.Contains(text(last), tt.last) || last.Status != tt.lastStat {
				t.Errorf("end event %+v (%q), want %q, status %s", last, text(last), tt.last, tt.lastStat)
			}
		})
	}
}

// text is how people see an event.
func text(e ui.Event) string {
	var out, errOut strings.Builder
	ui.NewText(&out, &errOut, false).Handle(e)
	return out.String() + errOut.String()
}
