package ui

import (
	"bytes"
	"io"
	"sync"
)

// SyncWriter serialises writes from many goroutines to one writer.
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func NewSyncWriter(w io.Writer) *SyncWriter { return &SyncWriter{w: w} }

func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// MaxLine bounds what a PrefixWriter holds of one line: a longer line is
// written in pieces of this size, each on a line of its own, so memory stays
// bounded whatever a command prints (500 MB without a newline, say).
const MaxLine = 64 << 10

// PrefixWriter writes each complete line with a prefix. The lines of one
// Write go to the underlying writer together, in one Write call, so lines of
// different hosts never mix. Close flushes a last line without a newline.
type PrefixWriter struct {
	w      io.Writer
	prefix []byte
	line   []byte // the unfinished last line, at most MaxLine
	out    []byte // whole lines waiting for one Write, reused
}

func NewPrefixWriter(w io.Writer, prefix string) *PrefixWriter {
	return &PrefixWriter{w: w, prefix: []byte(prefix)}
}

// Write looks at each byte once: only b is scanned for newlines, never what
// earlier writes left unfinished.
func (p *PrefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		end := i // how much of b belongs to the current line
		if i < 0 {
			end = len(b)
		}
		switch {
		case len(p.line)+end > MaxLine:
			take := MaxLine - len(p.line)
			p.line = append(p.line, b[:take]...)
			b = b[take:]
			p.add(p.line)
			p.line = p.line[:0]
		case i < 0:
			p.line = append(p.line, b...)
			b = nil
		default:
			p.out = append(p.out, p.prefix...)
			p.out = append(p.out, p.line...)
			p.out = append(p.out, b[:i+1]...)
			p.line = p.line[:0]
			b = b[i+1:]
		}
		if len(p.out) >= MaxLine {
			if err := p.flush(); err != nil {
				return n - len(b), err
			}
		}
	}
	return n, p.flush()
}

// add queues line with the prefix and a newline.
func (p *PrefixWriter) add(line []byte) {
	p.out = append(p.out, p.prefix...)
	p.out = append(p.out, line...)
	p.out = append(p.out, '\n')
}

func (p *PrefixWriter) flush() error {
	if len(p.out) == 0 {
		return nil
	}
	_, err := p.w.Write(p.out)
	p.out = p.out[:0]
	return err
}

func (p *PrefixWriter) Close() error {
	if len(p.line) == 0 {
		return nil
	}
	p.add(p.line)
	p.line = p.line[:0]
	return p.flush()
}
