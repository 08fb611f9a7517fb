package imagepush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Spool lets the hosts of one run read each image from the local engine
// once. The first push of an image starts `docker save` and writes its
// output to a file in a temporary directory; every push of that image, the
// first included, reads the file, following it while it grows. So hosts
// load in parallel at their own pace, a slow or failing host holds up no
// other, and memory stays bounded (the disk holds one copy of the image).
// Close ends the saves still running and removes the files.
type Spool struct {
	dir string

	mu     sync.Mutex
	files  map[string]*spoolFile // by image ref
	saves  []*exec.Cmd
	closed bool
}

// NewSpool makes a spool under a new temporary directory.
func NewSpool() (*Spool, error) {
	dir, err := os.MkdirTemp("", "berth-push-")
	if err != nil {
		return nil, fmt.Errorf("make push spool: %w", err)
	}
	return &Spool{dir: dir, files: map[string]*spoolFile{}}, nil
}

// Close stops the saves still running and removes the spooled archives. A
// nil Spool closes as nothing.
func (s *Spool) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	s.closed = true
	for _, c := range s.saves {
		if c.Process != nil {
			c.Process.Kill()
		}
	}
	s.mu.Unlock()
	return os.RemoveAll(s.dir)
}

// open returns a reader of img's archive and the function that ends it.
func (s *Spool) open(ctx context.Context, img Image) (io.Reader, func() error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil, errors.New("push spool closed")
	}
	sf, ok := s.files[img.Ref]
	if !ok {
		var err error
		if sf, err = s.start(img); err != nil {
			return nil, nil, err
		}
		s.files[img.Ref] = sf
	}
	f, err := os.Open(sf.path)
	if err != nil {
		return nil, nil, fmt.Errorf("read push spool: %w", err)
	}
	return &follower{stop: ctx.Done(), sf: sf, f: f}, f.Close, nil
}

// start runs docker save of img into a new spool file. s.mu is held.
func (s *Spool) start(img Image) (*spoolFile, error) {
	path := filepath.Join(s.dir, fmt.Sprintf("%d.tar", len(s.files)))
	out, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("make push spool: %w", err)
	}
	// Not tied to any one host's context: the hosts share it; Close ends it.
	save := exec.Command("docker", "save", img.Ref)
	var stderr strings.Builder
	save.Stderr = &stderr
	stdout, err := save.StdoutPipe()
	if err == nil {
		err = save.Start()
	}
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("docker save %s: %w", img.Ref, err)
	}
	s.saves = append(s.saves, save)
	sf := &spoolFile{path: path, changed: make(chan struct{})}
	go func() {
		_, err := io.Copy(&growing{f: out, sf: sf}, stdout)
		if werr := save.Wait(); err == nil && werr != nil {
			err = fmt.Errorf("docker save %s: %w: %s", img.Ref, werr, strings.TrimSpace(stderr.String()))
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		sf.finish(err)
	}()
	return sf, nil
}

var errPushStopped = errors.New("push stopped")

// spoolFile is one archive being written: how much is there, and whether it
// is complete (or failed).
type spoolFile struct {
	path    string
	mu      sync.Mutex
	size    int64
	done    bool
	err     error
	changed chan struct{} // closed and replaced at every change
}

func (sf *spoolFile) grew(n int64) {
	sf.mu.Lock()
	sf.size += n
	close(sf.changed)
	sf.changed = make(chan struct{})
	sf.mu.Unlock()
}

func (sf *spoolFile) finish(err error) {
	sf.mu.Lock()
	sf.done, sf.err = true, err
	close(sf.changed)
	sf.changed = make(chan struct{})
	sf.mu.Unlock()
}

// growing writes to the spool file and says how much is there.
type growing struct {
	f  *os.File
	sf *spoolFile
}

func (g *growing) Write(p []byte) (int, error) {
	n, err := g.f.Write(p)
	g.sf.grew(int64(n))
	return n, err
}

// follower reads a spool file as it grows, until it is complete.
type follower struct {
	stop <-chan struct{} // one push's end: its reads stop with it
	sf   *spoolFile
	f    *os.File
	pos  int64
}

func (r *follower) Read(p []byte) (int, error) {
	for {
		r.sf.mu.Lock()
		size, done, err, changed := r.sf.size, r.sf.done, r.sf.err, r.sf.changed
		r.sf.mu.Unlock()
		if r.pos < size {
			n, rerr := r.f.Read(p[:min(int64(len(p)), size-r.pos)])
			r.pos += int64(n)
			if rerr == io.EOF {
				rerr = nil // the file is longer than the reader saw: read on
			}
			return n, rerr
		}
		if done {
			if err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		select {
		case <-changed:
		case <-r.stop:
			return 0, errPushStopped
		}
	}
}
