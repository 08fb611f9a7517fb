package backup

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

func TestFanoutWritesEverythingToEachWriter(t *testing.T) {
	data := make([]byte, 3*fanoutChunk*fanoutDepth+12345)
	for i := range data {
		data[i] = byte(i*7 + i/fanoutChunk)
	}
	for _, tc := range []struct {
		name  string
		write int // bytes per Write
	}{
		{"one byte", 1},
		{"smaller than a chunk", 4096},
		{"a chunk", fanoutChunk},
		{"larger than a chunk", fanoutChunk + 17},
		{"all at once", len(data)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := data
			if tc.write == 1 {
				in = data[:100000] // a byte at a time is slow
			}
			var a bytes.Buffer
			h := sha256.New()
			f := newFanout(&a, h)
			for p := in; len(p) > 0; {
				k := min(tc.write, len(p))
				n, err := f.Write(p[:k])
				if err != nil || n != k {
					t.Fatalf("Write = %d, %v; want %d", n, err, k)
				}
				p = p[k:]
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), in) {
				t.Errorf("writer got %d bytes, not what was written (%d)", a.Len(), len(in))
			}
			if want := sha256.Sum256(in); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Error("hash differs from the data's")
			}
		})
	}
}

type failAfter struct {
	n   int
	err error
}

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		return 0, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

// A failing writer must surface its error and never leave Write waiting for
// a chunk the failed writer will not release.
func TestFanoutReportsTheFirstError(t *testing.T) {
	boom := errors.New("disk full")
	f := newFanout(&failAfter{n: fanoutChunk, err: boom}, io.Discard)
	buf := make([]byte, 64<<10)
	var err error
	for range 4 * fanoutDepth * fanoutChunk / len(buf) {
		if _, err = f.Write(buf); err != nil {
			break
		}
	}
	cerr := f.Close()
	if !errors.Is(cerr, boom) {
		t.Errorf("Close = %v, want %v", cerr, boom)
	}
	if err != nil && !errors.Is(err, boom) {
		t.Errorf("Write = %v, want %v", err, boom)
	}
	if _, err := f.Write(buf); err == nil {
		t.Error("Write after Close succeeded")
	}
}

// blockedFail fails its first write once every chunk is taken, so the
// fanout's Write is (or is about to be) waiting for a free one.
type blockedFail struct{ f *fanout }

func (w *blockedFail) Write([]byte) (int, error) {
	for len(w.f.free) > 0 {
		runtime.Gosched()
	}
	return 0, errors.New("disk full")
}

func TestFanoutFailureReleasesAWaitingWrite(t *testing.T) {
	bf := &blockedFail{}
	f := newFanout(bf, io.Discard)
	bf.f = f
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, fanoutChunk)
		for range 4 * fanoutDepth {
			if _, err := f.Write(buf); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Write never reported the failure")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write still waits for a chunk after a writer failed")
	}
	f.Close()
}
