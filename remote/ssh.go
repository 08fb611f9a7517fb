package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSH is one SSH connection to a host, kept for the whole run: every command
// is a session on it, every upload goes through one SFTP client on it.
type SSH struct {
	host       string
	addr       string // the address the connection reached; see Addr
	sudo       bool
	cmdTimeout time.Duration
	client     *ssh.Client
	jumps      []*ssh.Client // closed after client, innermost first
	slots      chan struct{} // concurrent sessions, under sshd's MaxSessions
	done       chan struct{} // closed by Close; stops the keepalive
	closing    sync.Once

	sftpStarting chan struct{} // one SFTP start at a time

	mu      sync.Mutex
	stats   Stats
	lost    error // why the keepalive gave up on the connection
	sftp    *sftpConn
	sftpErr error // SFTP is not used on this connection, and why
}

var (
	_ Conn      = (*SSH)(nil)
	_ Dialer    = (*SSH)(nil)
	_ Counter   = (*SSH)(nil)
	_ Addresser = (*SSH)(nil)
)

// newSSH takes the connected hops, the target last, and the address the
// last hop was dialed at (host of host:port).
func newSSH(host, dialed string, clients []*ssh.Client, opts SSHOptions) *SSH {
	s := &SSH{
		host:         host,
		addr:         connectedAddr(clients[len(clients)-1], dialed),
		sudo:         opts.Sudo,
		cmdTimeout:   opts.CommandTimeout,
		client:       clients[len(clients)-1],
		jumps:        clients[:len(clients)-1],
		slots:        make(chan struct{}, maxSessions),
		sftpStarting: make(chan struct{}, 1),
		done:         make(chan struct{}),
	}
	s.stats.Connections = len(clients)
	if opts.Keepalive > 0 {
		go s.keepalive(opts.Keepalive)
	}
	return s
}

// Host is user@host:port.
func (s *SSH) Host() string { return s.host }

// Addr is the IP the connection reached (see Addresser).
func (s *SSH) Addr() string { return s.addr }

// connectedAddr is the peer IP of a direct connection. A tunnelled one reports
// no peer (x/crypto/ssh gives it a zero address), so the dialed host stands in.
func connectedAddr(c *ssh.Client, dialed string) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok && a.IP != nil && !a.IP.IsUnspecified() {
		return a.IP.String()
	}
	return dialed
}

// Run runs c as one session. The login shell sees only sessionCommand; the
// argv, quoted once by Quote, reaches /bin/sh on stdin ahead of c.Stdin.
func (s *SSH) Run(ctx context.Context, c Cmd) error {
	if len(c.Args) == 0 {
		return errors.New("run: empty command")
	}
	args := c.Args
	if s.sudo {
		args = append([]string{"sudo", "-n", "--"}, args...)
	}
	header, err := sessionHeader(args)
	if err != nil {
		return fmt.Errorf("run %s on %s: %w", c.Args[0], s.host, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("run %s on %s: %w", c.Args[0], s.host, err)
	}
	ctx, cancel := withCommandTimeout(ctx, c.Timeout, s.cmdTimeout)
	defer cancel()
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		return fmt.Errorf("run %s on %s: %w", c.Args[0], s.host, context.Cause(ctx))
	}
	sess, err := s.client.NewSession()
	if err != nil {
		return fmt.Errorf("run %s on %s: open session: %w", c.Args[0], s.host, s.lostOr(err))
	}
	defer sess.Close()
	s.count(func(st *Stats) { st.Commands++ })

	// The session's copy goroutines may outlive a cancelled Run; the gate
	// keeps them off the caller's reader and writers once Run has returned.
	g := newGate()
	defer g.close()
	var stdin io.Reader = bytes.NewReader(header)
	if c.Stdin != nil {
		stdin = io.MultiReader(stdin, c.Stdin)
	}
	sess.Stdin = gatedReader{g, stdin}
	stdout := c.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	sess.Stdout = gatedWriter{g, stdout}
	var tail *tailBuffer
	if c.Stderr != nil {
		sess.Stderr = gatedWriter{g, c.Stderr}
	} else {
		tail = newTailBuffer(4096)
		sess.Stderr = gatedWriter{g, tail}
	}
	if err := sess.Start(sessionCommand); err != nil {
		return fmt.Errorf("run %s on %s: %w", c.Args[0], s.host, s.lostOr(err))
	}
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()
	var stop error
	select {
	case err = <-waited:
	case <-ctx.Done():
		stop = context.Cause(ctx)
	case <-g.failed:
		// The caller's writer refused output (e.g. a size cap): nobody
		// reads the rest, so the command would block on a full window.
		stop = g.writeErr()
	}
	if stop != nil {
		// Kill the remote process where sshd allows signals (not for root
		// logins, which skip privilege separation), and close the channel
		// either way. The command may run on, detached from us.
		_ = sess.Signal(ssh.SIGKILL)
		sess.Close()
		return fmt.Errorf("run %s on %s: %w", c.Args[0], s.host, stop)
	}
	g.close()
	if werr := g.writeErr(); werr != nil {
		return fmt.Errorf("run %s on %s: %w", c.Args[0], s.host, werr)
	}
	if err == nil {
		return nil
	}
	var xe *ssh.ExitError
	if errors.As(err, &xe) {
		e := &ExitError{Host: s.host, Args: c.Args, Code: xe.ExitStatus()}
		if xe.Signal() != "" {
			e.Code = -1
		}
		if tail != nil {
			e.Stderr = tail.String() // safe: the gate is closed
		}
		return e
	}
	if ctx.Err() != nil {
		return fmt.Errorf("run %s on %s: %w", c.Args[0], s.host, context.Cause(ctx))
	}
	return fmt.Errorf("run %s on %s: connection lost before the command reported its exit status: %w",
		c.Args[0], s.host, s.lostOr(err))
}

// DialContext opens a TCP connection from the remote host (direct-tcpip), for
// readiness probes of services that listen only there.
func (s *SSH) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := s.client.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s via %s: %w", addr, s.host, s.lostOr(err))
	}
	return c, nil
}

// Stats counts connections (including jump hosts), commands and uploads.
func (s *SSH) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *SSH) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// Close closes the SFTP client, the connection and the jump connections.
func (s *SSH) Close() error {
	var err error
	s.closing.Do(func() {
		close(s.done)
		s.mu.Lock()
		if s.sftp != nil {
			s.sftp.close()
		}
		s.mu.Unlock()
		err = s.client.Close()
		for i := len(s.jumps) - 1; i >= 0; i-- {
			s.jumps[i].Close()
		}
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	if err != nil {
		return fmt.Errorf("close %s: %w", s.host, err)
	}
	return nil
}

// keepalive sends keepalive@openssh.com requests and closes the connection
// when one fails or goes unanswered for an interval, so a dead peer shows up
// as an error instead of a hang.
func (s *SSH) keepalive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		replied := make(chan error, 1)
		go func() {
			_, _, err := s.client.SendRequest("keepalive@openssh.com", true, nil)
			replied <- err
		}()
		var err error
		select {
		case <-s.done:
			return
		case err = <-replied:
		case <-time.After(every):
			err = fmt.Errorf("no reply within %s", every)
		}
		if err != nil {
			s.mu.Lock()
			s.lost = fmt.Errorf("keepalive failed: %w", err)
			s.mu.Unlock()
			s.client.Close()
			for _, j := range s.jumps {
				j.Close()
			}
			return
		}
	}
}

// lostOr explains err by the keepalive failure, if there was one.
func (s *SSH) lostOr(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost != nil {
		return fmt.Errorf("%w (%v)", err, s.lost)
	}
	return err
}

// gate cuts a session's streams off from the caller once Run returns, and
// reports the first error of the caller's writers.
type gate struct {
	mu     sync.Mutex
	closed bool
	err    error
	failed chan struct{} // closed when err is set
}

func newGate() *gate { return &gate{failed: make(chan struct{})} }

func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

func (g *gate) writeErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

type gatedWriter struct {
	g *gate
	w io.Writer
}

func (w gatedWriter) Write(p []byte) (int, error) {
	w.g.mu.Lock()
	defer w.g.mu.Unlock()
	if w.g.closed {
		return len(p), nil
	}
	if w.g.err != nil {
		return 0, w.g.err
	}
	n, err := w.w.Write(p)
	if err != nil {
		w.g.err = err
		close(w.g.failed)
	}
	return n, err
}

type gatedReader struct {
	g *gate
	r io.Reader
}

// Read does not hold the lock while reading: a reader that blocks (a
// terminal) must not block close.
func (r gatedReader) Read(p []byte) (int, error) {
	r.g.mu.Lock()
	closed := r.g.closed
	r.g.mu.Unlock()
	if closed {
		return 0, io.EOF
	}
	return r.r.Read(p)
}
