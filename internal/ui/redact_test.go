package ui

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := NewRedactor()
	r.Add("hunter2-long", "hunter2", "a\"b<c>d", "abc")
	tests := []struct{ in, want string }{
		{"password is hunter2-long.", "password is [redacted]."},
		{"hunter2 and hunter2", "[redacted] and [redacted]"},
		{`json: "a\"b\u003cc\u003ed"`, `json: "[redacted]"`},
		{"a\"b<c>d", "[redacted]"},
		{"abc is too short to be redacted", "abc is too short to be redacted"},
		{"invalid utf8 bytes at line 1: [104 117 110 116 101 114 50 45 108 111 110 103]", "invalid utf8 bytes at line 1: [[redacted]]"},
	}
	for _, tt := range tests {
		if got := r.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var nilR *Redactor
	nilR.Add("x-secret")
	if nilR.Redact("x-secret") != "x-secret" {
		t.Error("a nil redactor changed text")
	}
}

func TestRedactorWriterConcurrent(t *testing.T) {
	r := NewRedactor()
	var buf bytes.Buffer
	w := NewSyncWriter(r.Writer(NewSyncWriter(&buf)))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Add("s3cret-value")
			for j := 0; j < 100; j++ {
				w.Write([]byte("line with s3cret-value\n"))
			}
		}()
	}
	wg.Wait()
	if strings.Contains(buf.String(), "s3cret") {
		t.Error("a secret got through the writer")
	}
	if n := strings.Count(buf.String(), "line with [redacted]\n"); n != 800 {
		t.Errorf("%d redacted lines, want 800", n)
	}
}
