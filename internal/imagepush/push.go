package imagepush

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berth-sh/berth/remote"
	"github.com/klauspost/compress/gzip"
)

// chunk is the size of every write into the connection: OpenSSH stalled on a
// stream of small channel writes (gzip's are a few KiB), so they are gathered.
const chunk = 64 << 10

// progressEvery is how often Push reports the bytes sent so far.
const progressEvery = 2 * time.Second

// Result is what one push sent.
type Result struct {
	Layers   int   // the image's layers
	Omitted  int   // of which the host had this many, so they did not travel
	Sent     int64 // bytes on the wire (compressed), a retry's included
	Retried  bool  // the host refused an archive without its layers; the whole image was sent
	Duration time.Duration
}

// LoadError is a `docker load` on the host that failed. docker load tags an
// image only once all of it is stored, so nothing was tagged and whatever
// the host ran before is untouched.
type LoadError struct {
	Host, Ref string
	Err       error
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("%s: push %s: docker load failed, nothing was tagged and the running version is untouched: %v", e.Host, e.Ref, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// errLoadEnded tells the archive writer that the host stopped reading.
var errLoadEnded = errors.New("docker load on the host ended")

// Progress is how far a push is.
type Progress struct {
	Sent    int64 // bytes on the wire
	Read    int64 // of the archive, layers left out included
	Total   int64 // the archive's estimated size; 0: unknown
	Elapsed time.Duration
}

// Left estimates the time to go from the pace of reading the archive, which
// sending holds back; 0 when unknown.
func (p Progress) Left() time.Duration {
	if p.Total <= 0 || p.Read <= 0 || p.Read >= p.Total {
		return 0
	}
	return time.Duration(float64(p.Elapsed) * float64(p.Total-p.Read) / float64(p.Read))
}

// Options shape one push.
type Options struct {
	// Have lists the diff IDs of each image the host holds: the layers an
	// image shares with one of them, base first, are left out.
	Have [][]string
	// Progress, when set, is called every few seconds.
	Progress func(Progress)
	// Spool, when set, shares one local read of each image among the hosts
	// of a run; nil: each push reads the image itself.
	Spool *Spool
}

// Push streams img from the local engine (or its archive file) into
// `docker load` on the host behind conn, leaving out the layers the host
// already has. Memory stays bounded: the archive is never held whole, only a
// chunk at a time.
func Push(ctx context.Context, conn remote.Conn, img Image, opts Options) (Result, error) {
	res, err := push(ctx, conn, img, opts)
	var le *LoadError
	if res.Omitted > 0 && errors.As(err, &le) && strings.Contains(le.Err.Error(), "no such file or directory") {
		// An engine that does not reuse the layers it has (the containerd
		// image store) wants every layer's file: send the whole image.
		opts.Have = nil
		full, err := push(ctx, conn, img, opts)
		full.Sent += res.Sent
		full.Retried = true
		return full, err
	}
	return res, err
}

func push(ctx context.Context, conn remote.Conn, img Image, opts Options) (Result, error) {
	start := time.Now()
	res := Result{Layers: len(img.Layers)}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	archive, wait, err := source(ctx, img, opts.Spool)
	if err != nil {
		return res, fmt.Errorf("push %s: %w", img.Ref, err)
	}

	pr, pw := io.Pipe()
	sent := &counter{w: pw}
	read := &readCounter{r: archive}
	type local struct {
		st  FilterStats
		err error
	}
	// hostEnded is set once docker load returned: a local error after that is
	// its consequence (a closed pipe, a killed docker save), not a cause.
	var hostEnded atomic.Bool
	done := make(chan local, 1)
	go func() {
		buf := bufio.NewWriterSize(sent, chunk)
		gz, _ := gzip.NewWriterLevel(buf, gzip.BestSpeed) // a valid level: no error
		st, err := Filter(gz, read, img.Layers, Omit(img.Layers, opts.Have))
		if err == nil {
			err = gz.Close()
		}
		if err == nil {
			err = buf.Flush()
		}
		if err != nil {
			cancel() // docker save may be blocked on a pipe nobody reads
		}
		// wait: for docker save, after its output was read to the end
		if werr := wait(); err == nil && werr != nil {
			err = werr
		}
		consequence := hostEnded.Load() // before the host can see our error
		pw.CloseWithError(err)          // nil: the host reads the end of the archive
		if consequence {
			err = nil
		}
		done <- local{st, err}
	}()

	stopProgress := reportEvery(opts.Progress, func() Progress {
		return Progress{Sent: sent.n.Load(), Read: read.n.Load(), Total: img.Size, Elapsed: time.Since(start)}
	})
	var out bytes.Buffer
	runErr := conn.Run(ctx, remote.Cmd{Args: []string{"docker", "load"}, Stdin: pr, Stdout: &out})
	stopProgress()
	hostEnded.Store(true)
	pr.CloseWithError(errLoadEnded)
	if runErr != nil {
		cancel()
	}
	l := <-done
	res.Omitted, res.Sent, res.Duration = l.st.Omitted, sent.n.Load(), time.Since(start)
	if l.err != nil {
		// The host saw a truncated archive, which docker load refuses.
		return res, fmt.Errorf("push %s to %s: read the local image: %w (nothing was tagged on the host)", img.Ref, conn.Host(), l.err)
	}
	if runErr != nil {
		return res, &LoadError{Host: conn.Host(), Ref: img.Ref, Err: runErr}
	}
	return res, nil
}

// source opens the archive of img: its file, the spool, or `docker save` of
// it. wait ends the reading and says whether the source failed.
func source(ctx context.Context, img Image, spool *Spool) (io.Reader, func() error, error) {
	switch {
	case img.Archive != "":
		return openArchive(img.Archive)
	case spool != nil:
		return spool.open(ctx, img)
	}
	save := exec.CommandContext(ctx, "docker", "save", img.Ref)
	var stderr bytes.Buffer
	save.Stderr = &stderr
	out, err := save.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := save.Start(); err != nil {
		return nil, nil, fmt.Errorf("docker save: %w", err)
	}
	return out, func() error {
		if err := save.Wait(); err != nil {
			return fmt.Errorf("docker save %s: %w: %s", img.Ref, err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}, nil
}

// reportEvery calls progress with now() every few seconds until stopped.
func reportEvery(progress func(Progress), now func() Progress) (stop func()) {
	if progress == nil {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				progress(now())
			}
		}
	}()
	return func() { close(quit); <-finished }
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n atomic.Int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// readCounter counts the bytes read through it.
type readCounter struct {
	r io.Reader
	n atomic.Int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
