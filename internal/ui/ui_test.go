package ui

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestTextRoutes(t *testing.T) {
	plan := Plan{Host: "h1", Actions: []PlanAction{{Kind: "create", Object: "volume", Name: "v"}, {Kind: "keep", Object: "network", Name: "n"}}}
	tests := []struct {
		name             string
		quiet            bool
		ev               Event
		wantOut, wantErr string
	}{
		{"plan to stdout", false, plan, "h1: + volume v\nh1: = network n\nh1: Plan: 1 to create, 0 to recreate, 0 to start, 0 to remove, 1 unchanged.\n", ""},
		{"progress to stderr", false, Progress{Host: "h1", Message: "observing"}, "", "h1: observing\n"},
		{"quiet drops progress", true, Progress{Host: "h1", Message: "observing"}, "", ""},
		{"quiet drops actions", true, Action{Host: "h1", Kind: "create", Object: "volume", Name: "v"}, "", ""},
		{"quiet keeps warnings", true, Warning{Host: "h1", Message: "boom"}, "", "h1: warning: boom\n"},
		{"no host no prefix", false, Warning{Message: "x"}, "", "warning: x\n"},
		{"quiet keeps results", true, Bootstrap{Host: "h1", Docker: "27.1"}, "h1: ready: Docker 27.1, nothing to change\n", ""},
		{"rows wait for the run's summary", false, Summary{Host: "h1", Result: SummaryOK}, "", ""},
		{"a run summary without rows is its cost", false, RunSummary{Hosts: 2, Connections: 2, RoundTrips: 3}, "", "2 host(s): 2 SSH connection(s), 3 round trip(s)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			NewText(&out, &errOut, tt.quiet).Handle(tt.ev)
			if out.String() != tt.wantOut || errOut.String() != tt.wantErr {
				t.Fatalf("out=%q err=%q, want out=%q err=%q", out.String(), errOut.String(), tt.wantOut, tt.wantErr)
			}
		})
	}
}

// TestJSONOneObjectPerLine: each event is one line, type and time first,
// the host on every per-host event.
func TestJSONOneObjectPerLine(t *testing.T) {
	var out bytes.Buffer
	j := NewJSON(&out)
	j.Handle(Plan{Host: "h", Actions: []PlanAction{{Kind: "create", Object: "volume", Name: "v"}}, Changes: 1})
	j.Handle(RunSummary{Hosts: 1})
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %s", len(lines), out.String())
	}
	var e map[string]any
	if err := json.Unmarshal(lines[0], &e); err != nil {
		t.Fatal(err)
	}
	if e["type"] != "plan" || e["host"] != "h" || e["time"] == nil || e["changes"] != 1.0 {
		t.Fatalf("bad event %s", lines[0])
	}
	if !bytes.HasPrefix(lines[0], []byte(`{"type":"plan","time":`)) {
		t.Errorf("type and time do not lead: %s", lines[0])
	}
}

// writeLog records each Write it gets.
type writeLog struct{ writes []string }

func (w *writeLog) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func TestPrefixWriter(t *testing.T) {
	long := strings.Repeat("x", MaxLine)
	tests := []struct {
		name   string
		writes []string
		want   []string // the Write calls the underlying writer gets
	}{
		{name: "whole lines", writes: []string{"hel", "lo\nwor", "ld\n\nlast"},
			want: []string{"h: hello\n", "h: world\nh: \n", "h: last\n"}},
		{name: "lines of one write in one write", writes: []string{"a\nb\nc\n"},
			want: []string{"h: a\nh: b\nh: c\n"}},
		{name: "a line of MaxLine bytes stays whole", writes: []string{long[:10], long[10:], "\n"},
			want: []string{"h: " + long + "\n"}},
		{name: "a longer line is split", writes: []string{long + "yz", "\n"},
			want: []string{"h: " + long + "\n", "h: yz\n"}},
		{name: "split where the write ends", writes: []string{long, "y\n"},
			want: []string{"h: " + long + "\n", "h: y\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w writeLog
			p := NewPrefixWriter(&w, "h: ")
			for _, s := range tt.writes {
				if n, err := p.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			if strings.Join(w.writes, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("writes\n%q\nwant\n%q", w.writes, tt.want)
			}
		})
	}
}

// Output without newlines must not pile up: what the writer holds stays
// under MaxLine, and each write to the terminal is bounded too.
func TestPrefixWriterBoundedMemory(t *testing.T) {
	var w writeLog
	p := NewPrefixWriter(&w, "h: ")
	chunk := bytes.Repeat([]byte{0}, 32<<10)
	total := 0
	for range 200 {
		p.Write(chunk)
		total += len(chunk)
		if len(p.line) > MaxLine || cap(p.line) > 2*MaxLine || cap(p.out) > 4*MaxLine {
			t.Fatalf("after %d bytes the writer holds line %d (cap %d), out cap %d", total, len(p.line), cap(p.line), cap(p.out))
		}
		w.writes = w.writes[:0]
	}
}

func TestLiveKeepsStatusLineBelowOutput(t *testing.T) {
	var term bytes.Buffer
	l := NewLive(NewText(&term, &term, false), &term, 2)
	l.Handle(Progress{Host: "a", Message: "creating"})
	l.HostDone()
	l.Handle(Progress{Host: "b", Message: "creating"})
	l.HostDone()
	l.Close()
	want := "a: creating\n[0/2 hosts done]\r\033[K[1/2 hosts done]\r\033[Kb: creating\n[1/2 hosts done]\r\033[K"
	if term.String() != want {
		t.Fatalf("got %q\nwant %q", term.String(), want)
	}
}
