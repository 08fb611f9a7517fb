package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// JSON writes each event as one JSON object on a line of its own: "type" and
// "time" first, then the event's fields (snake_case).
type JSON struct {
	mu  sync.Mutex
	out io.Writer
	now func() time.Time
}

func NewJSON(out io.Writer) *JSON { return &JSON{out: out, now: time.Now} }

func (j *JSON) Handle(e Event) {
	line, err := encode(e, j.now().UTC())
	if err != nil {
		return // every event type marshals; nothing better to do with a bug here
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.out.Write(line) // a broken stdout cannot be reported anywhere better
}

// encode puts type and time in front of the event's own fields.
func encode(e Event, at time.Time) ([]byte, error) {
	body, err := marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", e.EventType(), err)
	}
	head, _ := marshal(struct {
		Type string    `json:"type"`
		Time time.Time `json:"time"`
	}{e.EventType(), at})
	var b bytes.Buffer
	b.Write(head[:len(head)-1])
	if len(body) > 2 {
		b.WriteByte(',')
		b.Write(body[1:])
	} else {
		b.WriteByte('}')
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escapes: "a -> b" stays readable.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Host binds a handler to one host, for code that works on one host.
type Host struct {
	R    Handler
	Name string
}

func (h Host) Progress(format string, args ...any) {
	h.R.Handle(Progress{Host: h.Name, Message: fmt.Sprintf(format, args...)})
}

func (h Host) Warn(format string, args ...any) {
	h.R.Handle(Warning{Host: h.Name, Message: fmt.Sprintf(format, args...)})
}

// Discard drops every event.
type Discard struct{}

func (Discard) Handle(Event) {}

// Or is h, or Discard when h is nil.
func Or(h Handler) Handler {
	if h != nil {
		return h
	}
	return Discard{}
}

// Recorder keeps every event, for tests.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *Recorder) Handle(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events returns what was recorded so far, in order.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}
