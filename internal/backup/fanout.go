package backup

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// fanout sizes: chunks of this many bytes, this many in flight. The reader
// of the SSH stream only copies into a chunk; the file (or S3) write and the
// sha256 run in their own goroutines, so neither holds up receiving. A
// lockstep io.Pipe stalled the stream on every write whenever the two cores
// were busy with sshd and tar.
const (
	fanoutChunk = 256 << 10
	fanoutDepth = 16
)

// fanout writes everything written to it to each of its writers, each in
// its own goroutine, in order. Close flushes and waits; the first error of
// any writer is returned by the next Write or by Close.
type fanout struct {
	queues []chan *fanChunk
	free   chan *fanChunk
	cur    *fanChunk
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
	failed atomic.Bool
	closed bool
}

type fanChunk struct {
	b    []byte
	refs atomic.Int32
}

func newFanout(ws ...io.Writer) *fanout {
	f := &fanout{free: make(chan *fanChunk, fanoutDepth)}
	for range fanoutDepth {
		f.free <- &fanChunk{b: make([]byte, 0, fanoutChunk)}
	}
	for _, w := range ws {
		q := make(chan *fanChunk, fanoutDepth)
		f.queues = append(f.queues, q)
		f.wg.Add(1)
		go f.drain(w, q)
	}
	return f
}

// drain writes q's chunks to w; after a failure it only releases them, so
// the writer is never left waiting for a free chunk.
func (f *fanout) drain(w io.Writer, q <-chan *fanChunk) {
	defer f.wg.Done()
	for c := range q {
		if !f.failed.Load() {
			if _, err := w.Write(c.b); err != nil {
				f.fail(err)
			}
		}
		if c.refs.Add(-1) == 0 {
			f.free <- c
		}
	}
}

func (f *fanout) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
	f.failed.Store(true)
}

func (f *fanout) firstErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fanout) Write(p []byte) (int, error) {
	if f.closed {
		return 0, errors.New("write to a closed fanout")
	}
	n := 0
	for len(p) > 0 {
		if f.failed.Load() {
			return n, f.firstErr()
		}
		if f.cur == nil {
			f.cur = <-f.free
			f.cur.b = f.cur.b[:0]
		}
		k := copy(f.cur.b[len(f.cur.b):cap(f.cur.b)], p)
		f.cur.b = f.cur.b[:len(f.cur.b)+k]
		p, n = p[k:], n+k
		if len(f.cur.b) == cap(f.cur.b) {
			f.send()
		}
	}
	return n, nil
}

func (f *fanout) send() {
	c := f.cur
	f.cur = nil
	if len(f.queues) == 0 {
		f.free <- c
		return
	}
	c.refs.Store(int32(len(f.queues)))
	for _, q := range f.queues {
		q <- c
	}
}

// Close sends what is buffered, waits for every writer to have written it
// and returns the first error. It is safe to call more than once.
func (f *fanout) Close() error {
	if !f.closed {
		f.closed = true
		if f.cur != nil && len(f.cur.b) > 0 {
			f.send()
		}
		for _, q := range f.queues {
			close(q)
		}
		f.wg.Wait()
	}
	return f.firstErr()
}
