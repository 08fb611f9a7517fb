package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// Redacted replaces a secret value wherever berth would print it.
const Redacted = "[redacted]"

// minRedact is the shortest value redacted: shorter ones would garble
// ordinary words and are no secret anyway.
const minRedact = 4

// Redactor knows the secret values of a run, as they are resolved, and
// removes them from text. It is the last line of defence: secrets are kept
// out of messages in the first place. Safe for concurrent use.
type Redactor struct {
	mu       sync.RWMutex
	values   map[string]bool
	replacer *strings.Replacer
}

func NewRedactor() *Redactor { return &Redactor{values: map[string]bool{}} }

// Add makes values secret from now on. A nil Redactor ignores them.
func (r *Redactor) Add(values ...string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	added := false
	for _, v := range values {
		if len(v) < minRedact || r.values[v] {
			continue
		}
		r.values[v] = true
		added = true
	}
	if !added {
		return
	}
	// Longest first, so a secret that contains another goes whole; each
	// value also in the other forms it is printed in.
	var forms []string
	for v := range r.values {
		forms = append(forms, Forms(v)...)
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	r.replacer = strings.NewReplacer(pairs...)
}

// Forms are the ways a value can appear in output: as is, JSON-escaped (as
// --json prints it), and as a list of byte values (as Docker quotes an env
// file line it cannot read).
func Forms(v string) []string {
	forms := []string{v}
	if js, err := json.Marshal(v); err == nil {
		if esc := string(js[1 : len(js)-1]); esc != v {
			forms = append(forms, esc)
		}
	}
	return append(forms, strings.Trim(fmt.Sprint([]byte(v)), "[]"))
}

// Redact returns s with every known secret value replaced.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	rep := r.replacer
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// Writer returns w with every Write redacted. A value split across two Write
// calls is not caught: berth's output is written a line at a time.
func (r *Redactor) Writer(w io.Writer) io.Writer { return &redactWriter{r: r, w: w} }

type redactWriter struct {
	r *Redactor
	w io.Writer
}

func (rw *redactWriter) Write(p []byte) (int, error) {
	s := rw.r.Redact(string(p))
	if _, err := io.WriteString(rw.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap gives the writer underneath, e.g. to ask whether it is a terminal.
func (rw *redactWriter) Unwrap() io.Writer { return rw.w }
