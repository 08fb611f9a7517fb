package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Local runs commands on this machine, without SSH and without a shell:
// argv goes straight to exec.
type Local struct {
	Sudo bool // prefix commands with "sudo -n --"
	// CommandTimeout bounds each command that sets no Timeout; zero: none.
	CommandTimeout time.Duration

	mu    sync.Mutex
	stats Stats
}

// NewLocal returns a Conn for this machine.
func NewLocal(sudo bool) *Local { return &Local{Sudo: sudo} }

func (l *Local) Host() string { return "local" }

func (l *Local) Run(ctx context.Context, c Cmd) error {
	if len(c.Args) == 0 {
		return errors.New("run: empty command")
	}
	args := c.Args
	if l.Sudo {
		args = append([]string{"sudo", "-n", "--"}, args...)
	}
	for _, a := range args {
		if _, err := QuoteWord(a); err != nil {
			return fmt.Errorf("run %s: %w", c.Args[0], err)
		}
	}
	l.count(func(s *Stats) { s.Commands++ })
	ctx, cancel := withCommandTimeout(ctx, c.Timeout, l.CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = c.Stdin
	stdout := &errWriter{w: c.Stdout}
	if stdout.w == nil {
		stdout.w = io.Discard
	}
	cmd.Stdout = stdout
	var tail *tailBuffer
	if c.Stderr != nil {
		cmd.Stderr = c.Stderr
	} else {
		tail = newTailBuffer(4096)
		cmd.Stderr = tail
	}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("run %s: %w", c.Args[0], context.Cause(ctx))
	}
	if stdout.err != nil {
		// The command died of the closed pipe; the writer's error says why.
		return fmt.Errorf("run %s: %w", c.Args[0], stdout.err)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		x := &ExitError{Host: l.Host(), Args: c.Args, Code: ee.ExitCode()}
		if tail != nil {
			x.Stderr = tail.String()
		}
		return x
	}
	return fmt.Errorf("run %s: %w", c.Args[0], err)
}

// Upload writes the file through a temporary file in the same directory and a
// rename, so readers never see a partial file.
func (l *Local) Upload(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	if l.Sudo {
		// Writing as root goes through a command like any other (counted there).
		return uploadViaCommand(ctx, l, path, data, mode)
	}
	l.count(func(s *Stats) { s.Uploads++ })
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".berth-upload-*")
	if err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("upload %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("upload %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	return nil
}

func (l *Local) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (l *Local) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *Local) count(f func(*Stats)) {
	l.mu.Lock()
	f(&l.stats)
	l.mu.Unlock()
}

func (l *Local) Close() error { return nil }

// errWriter remembers the first error of w; exec's copy goroutine is its only writer.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}
