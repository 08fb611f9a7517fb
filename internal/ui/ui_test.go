package ui

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestHumanRoutesByKind(t *testing.T) {
	tests := []struct {
		name             string
		quiet            bool
		ev               Event
		wantOut, wantErr string
	}{
		{"plan to stdout", false, Event{Kind: KindPlan, Host: "h1", Message: "+ volume v\n= network n"}, "h1: + volume v\nh1: = network n\n", ""},
		{"progress to stderr", false, Event{Kind: KindProgress, Host: "h1", Message: "observing"}, "", "h1: observing\n"},
		{"quiet drops progress", true, Event{Kind: KindProgress, Host: "h1", Message: "observing"}, "", ""},
		{"quiet keeps errors", true, Event{Kind: KindError, Host: "h1", Message: "boom"}, "", "h1: error: boom\n"},
		{"no host no prefix", false, Event{Kind: KindResult, Message: "x"}, "x\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			NewHuman(&out, &errOut, tt.quiet).Report(tt.ev)
			if out.String() != tt.wantOut || errOut.String() != tt.wantErr {
				t.Fatalf("out=%q err=%q, want out=%q err=%q", out.String(), errOut.String(), tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestJSONOneObjectPerLine(t *testing.T) {
	var out bytes.Buffer
	j := NewJSON(&out)
	j.Report(Event{Kind: KindPlan, Host: "h", Message: "+ volume v", Data: map[string]any{"changes": 1}})
	j.Report(Event{Kind: KindSummary, Host: "h", Message: "done"})
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %s", len(lines), out.String())
	}
	var e Event
	if err := json.Unmarshal(lines[0], &e); err != nil {
		t.Fatal(err)
	}
	if e.Kind != KindPlan || e.Host != "h" || e.Time.IsZero() {
		t.Fatalf("bad event %+v", e)
	}
}

func TestPrefixWriterWholeLines(t *testing.T) {
	var out bytes.Buffer
	p := NewPrefixWriter(&out, "h1: ")
	p.Write([]byte("hel"))
	p.Write([]byte("lo\nwor"))
	p.Write([]byte("ld\n\nlast"))
	p.Close()
	want := "h1: hello\nh1: world\nh1: \nh1: last\n"
	if out.String() != want {
		t.Fatalf("got %q want %q", out.String(), want)
	}
}

func TestLiveKeepsStatusLineBelowOutput(t *testing.T) {
	var term bytes.Buffer
	l := NewLive(NewHuman(&term, &term, false), &term, 2)
	l.Report(Event{Kind: KindProgress, Host: "a", Message: "creating"})
	l.HostDone()
	l.Report(Event{Kind: KindProgress, Host: "b", Message: "creating"})
	l.HostDone()
	l.Close()
	want := "a: creating\n[0/2 hosts done]\r\033[K[1/2 hosts done]\r\033[Kb: creating\n[1/2 hosts done]\r\033[K"
	if term.String() != want {
		t.Fatalf("got %q\nwant %q", term.String(), want)
	}
}
