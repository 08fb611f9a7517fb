package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestLiveShowsWaits: while a container is waited for, the status line says
// which, for how long so far and up to how long; when the wait ends, it goes.
func TestLiveShowsWaits(t *testing.T) {
	var term, out bytes.Buffer
	l := NewLive(NewText(&out, &term, false), &term, 2)
	defer l.Close()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := start
	l.mu.Lock()
	l.now = func() time.Time { return now }
	l.mu.Unlock()
	wait := func(status string) Event {
		return Wait{Host: "h1", Container: "web", Phase: WaitHealth, Until: "healthy", Status: status, Timeout: Duration(190 * time.Second)}
	}
	steps := []struct {
		name string
		at   time.Duration
		ev   Event
		want string // in the last drawn status line
		not  string
	}{
		{"wait starts", 0, wait(WaitStarted), "[0/2 hosts done] waiting for web on h1: 0s of up to 3m10s", ""},
		{"time passes", 12 * time.Second, Progress{Host: "h2", Message: "observing"}, "waiting for web on h1: 12s of up to 3m10s", ""},
		{"wait ends", 15 * time.Second, wait(WaitReady), "[0/2 hosts done]", "waiting"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			// The ticker draws on term too: touch it only under the lock.
			l.mu.Lock()
			now = start.Add(st.at)
			term.Reset()
			l.mu.Unlock()
			l.Handle(st.ev)
			l.mu.Lock()
			line := term.String()[strings.LastIndex(term.String(), "\n")+1:]
			l.mu.Unlock()
			if !strings.Contains(line, st.want) || (st.not != "" && strings.Contains(line, st.not)) {
				t.Errorf("status line %q, want %q (and no %q)", line, st.want, st.not)
			}
		})
	}
}
