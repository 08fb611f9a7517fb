package ui

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Live keeps a status line at the bottom of a terminal while the handler it
// wraps prints lines above it: hosts done and, while containers are being
// waited for, the oldest wait's elapsed time and limit, redrawn every second.
// Only for terminals: plain logs get plain lines.
type Live struct {
	mu     sync.Mutex
	next   Handler
	term   io.Writer
	now    func() time.Time
	done   int
	total  int
	waits  map[string]liveWait // by host and container
	showed bool
	stop   chan struct{}
	closed bool
}

type liveWait struct {
	host, container string
	since           time.Time
	timeout         time.Duration
}

// NewLive wraps next; term is the terminal the status line is drawn on.
// Close stops it.
func NewLive(next Handler, term io.Writer, total int) *Live {
	l := &Live{next: next, term: term, total: total, now: time.Now, waits: map[string]liveWait{}, stop: make(chan struct{})}
	go l.tick()
	return l
}

// tick redraws the line every second, so elapsed times move during a wait.
func (l *Live) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if len(l.waits) > 0 {
				l.clear()
				l.draw()
			}
			l.mu.Unlock()
		}
	}
}

func (l *Live) Handle(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w, ok := e.(Wait); ok {
		l.track(w)
	}
	l.clear()
	l.next.Handle(e)
	l.draw()
}

// track keeps the waits in progress, from their start and end events.
func (l *Live) track(w Wait) {
	key := w.Host + "\x00" + w.Container
	if w.Status != WaitStarted {
		delete(l.waits, key)
		return
	}
	l.waits[key] = liveWait{host: w.Host, container: w.Container, since: l.now(), timeout: time.Duration(w.Timeout)}
}

// HostDone counts one more finished host.
func (l *Live) HostDone() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done++
	l.clear()
	l.draw()
}

// Close removes the status line and stops redrawing; it may be called again.
func (l *Live) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clear()
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
}

func (l *Live) clear() {
	if l.showed {
		fmt.Fprint(l.term, "\r\033[K")
		l.showed = false
	}
}

func (l *Live) draw() {
	if l.closed || l.done >= l.total {
		return
	}
	fmt.Fprintf(l.term, "[%d/%d hosts done]", l.done, l.total)
	var oldest *liveWait
	for _, w := range l.waits {
		if oldest == nil || w.since.Before(oldest.since) {
			oldest = &w
		}
	}
	if oldest != nil {
		host := ""
		if oldest.host != "" {
			host = " on " + oldest.host
		}
		fmt.Fprintf(l.term, " waiting for %s%s: %s of up to %s", oldest.container, host,
			l.now().Sub(oldest.since).Round(time.Second), oldest.timeout)
		if n := len(l.waits) - 1; n > 0 {
			fmt.Fprintf(l.term, " (and %d more)", n)
		}
	}
	l.showed = true
}
