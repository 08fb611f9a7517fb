package ui

import (
	"fmt"
	"io"
	"sync"
)

// Live keeps a "N/M hosts done" line at the bottom of a terminal while the
// reporter it wraps prints lines above it. Only for terminals: plain logs get
// plain lines.
type Live struct {
	mu     sync.Mutex
	next   Reporter
	term   io.Writer
	done   int
	total  int
	showed bool
}

// NewLive wraps next; term is the terminal the status line is drawn on.
func NewLive(next Reporter, term io.Writer, total int) *Live {
	return &Live{next: next, term: term, total: total}
}

func (l *Live) Report(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
	l.next.Report(e)
	l.draw()
}

// HostDone counts one more finished host.
func (l *Live) HostDone() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done++
	l.clear()
	l.draw()
}

// Close removes the status line.
func (l *Live) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
}

func (l *Live) clear() {
	if l.showed {
		fmt.Fprint(l.term, "\r\033[K")
		l.showed = false
	}
}

func (l *Live) draw() {
	if l.done < l.total {
		fmt.Fprintf(l.term, "[%d/%d hosts done]", l.done, l.total)
		l.showed = true
	}
}
