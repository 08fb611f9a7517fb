// Package ui renders what berth does: human lines (progress to stderr, results
// to stdout, each per-host line naming its host) or a JSON event stream.
package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Kind says what an event is about; it decides where a human sees it.
type Kind string

const (
	KindProgress Kind = "progress" // something started or finished on a host
	KindPlan     Kind = "plan"     // one line of a host's plan (a result)
	KindResult   Kind = "result"   // a result line: status rows, command output
	KindWarn     Kind = "warning"
	KindError    Kind = "error"
	KindSummary  Kind = "summary" // one host's outcome, or the run's
	KindWait     Kind = "wait"    // a wait for a container started or ended (Data: see Wait)
)

// Wait is the Data of a KindWait event: which container, which wait (Docker's
// health check or the ready probe), how long it may take, and how it ended.
type Wait struct {
	Container string
	Phase     string // "health" or "ready"
	Status    string // WaitStarted, WaitReady or WaitFailed
	Timeout   time.Duration
	Elapsed   time.Duration
}

// Wait statuses.
const (
	WaitStarted = "waiting"
	WaitReady   = "ready"
	WaitFailed  = "failed"
)

// Data is the event data of a wait, in the JSON stream's units.
func (w Wait) Data() map[string]any {
	return map[string]any{"container": w.Container, "phase": w.Phase, "status": w.Status,
		"timeout_ms": w.Timeout.Milliseconds(), "elapsed_ms": w.Elapsed.Milliseconds()}
}

// Event is one thing that happened. Data carries machine-readable details for
// --json; humans see Message.
type Event struct {
	Time    time.Time      `json:"time"`
	Kind    Kind           `json:"event"`
	Host    string         `json:"host,omitempty"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data,omitempty"`
}

// Reporter receives events from many hosts at once.
type Reporter interface {
	Report(Event)
}

// Human prints progress to errOut and results to out, one line per event,
// prefixed with the host.
type Human struct {
	mu    sync.Mutex
	out   io.Writer
	err   io.Writer
	quiet bool
}

// NewHuman returns a reporter for people. Quiet drops progress lines.
func NewHuman(out, errOut io.Writer, quiet bool) *Human {
	return &Human{out: out, err: errOut, quiet: quiet}
}

func (h *Human) Report(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.err
	switch e.Kind {
	case KindPlan, KindResult:
		w = h.out
	case KindProgress, KindSummary, KindWait:
		if h.quiet {
			return
		}
	}
	prefix := ""
	if e.Host != "" {
		prefix = e.Host + ": "
	}
	switch e.Kind {
	case KindWarn:
		prefix += "warning: "
	case KindError:
		prefix += "error: "
	}
	for _, line := range strings.Split(strings.TrimRight(e.Message, "\n"), "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}

// JSON writes one JSON object per event and line to out.
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func NewJSON(out io.Writer) *JSON { return &JSON{enc: json.NewEncoder(out)} }

func (j *JSON) Report(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(e) // a broken stdout cannot be reported anywhere better
}

// Host binds a reporter to one host, for code that works on one host.
type Host struct {
	R    Reporter
	Name string
}

func (h Host) Progress(format string, args ...any) {
	h.R.Report(Event{Kind: KindProgress, Host: h.Name, Message: fmt.Sprintf(format, args...)})
}

func (h Host) Warn(format string, args ...any) {
	h.R.Report(Event{Kind: KindWarn, Host: h.Name, Message: fmt.Sprintf(format, args...)})
}

func (h Host) Emit(kind Kind, msg string, data map[string]any) {
	h.R.Report(Event{Kind: kind, Host: h.Name, Message: msg, Data: data})
}

// Discard drops every event.
type Discard struct{}

func (Discard) Report(Event) {}
