package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	backoffStart = 250 * time.Millisecond
	backoffMax   = 5 * time.Second
	// attemptMax bounds one TCP dial, so a host that drops SYNs while it boots
	// still gets several attempts within ConnectTimeout.
	attemptMax = 10 * time.Second
)

// DialSSH opens one SSH connection to target ([user@]host[:port] or an ssh
// config Host alias), through the jump hosts if any, retrying transient
// network errors until opts.ConnectTimeout. Host key and authentication
// failures are returned at once.
func DialSSH(ctx context.Context, target string, opts SSHOptions) (*SSH, error) {
	opts, cfg, ep, err := resolveTarget(target, opts)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", target, err)
	}
	jumpSpec := opts.Jump
	if jumpSpec == "" {
		jumpSpec = ep.proxyJump
	}
	var hops []endpoint
	if jumpSpec != "" && jumpSpec != "none" {
		for _, j := range strings.Split(jumpSpec, ",") {
			// Jump hosts take their user and port from their own spec and
			// config, not from the target's, like ssh -J.
			je, err := resolveEndpoint(strings.TrimSpace(j), "", 0, cfg, opts.HomeDir)
			if err != nil {
				return nil, fmt.Errorf("connect %s: jump host: %w", ep, err)
			}
			hops = append(hops, je)
		}
	}
	hops = append(hops, ep)

	hk, err := newHostKeys(opts.KnownHostsFile, opts.HostKeyPolicy, opts.Warn)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", ep, err)
	}
	au := newAuth(opts)
	defer au.close() // the agent is only needed while authenticating

	dctx, cancel := context.WithTimeout(ctx, opts.ConnectTimeout)
	defer cancel()
	var clients []*ssh.Client
	closeAll := func() {
		for i := len(clients) - 1; i >= 0; i-- {
			clients[i].Close()
		}
	}
	for i, hop := range hops {
		var via *ssh.Client
		if i > 0 {
			via = clients[i-1]
		}
		c, err := dialHop(ctx, dctx, via, hop, hk, au, opts.ConnectTimeout, opts.Warn)
		if err != nil {
			closeAll()
			if i < len(hops)-1 {
				return nil, fmt.Errorf("connect %s: jump host %s: %w", ep, hop, err)
			}
			return nil, fmt.Errorf("connect %s: %w", ep, err)
		}
		clients = append(clients, c)
	}
	return newSSH(ep.String(), ep.host, clients, opts), nil
}

// dialHop connects and authenticates to e, directly or through via, retrying
// transient errors with exponential backoff until dctx expires. One line on
// warn says when retrying starts, so a long wait is never silent.
func dialHop(ctx, dctx context.Context, via *ssh.Client, e endpoint, hk *hostKeys, au *auth, timeout time.Duration, warn io.Writer) (*ssh.Client, error) {
	methods, problems := au.methods(e)
	if len(methods) == 0 {
		return nil, noCredentialsError(problems)
	}
	cfg := &ssh.ClientConfig{
		User:              e.user,
		Auth:              methods,
		HostKeyCallback:   hk.callback(e.addr()),
		HostKeyAlgorithms: hk.algorithms(e.addr()),
	}
	backoff := backoffStart
	deadline := deadlineOf(dctx, time.Now().Add(timeout))
	var lastErr error
	for attempt := 1; ; attempt++ {
		c, err := dialOnce(dctx, via, e.addr(), cfg)
		if err == nil {
			return c, nil
		}
		if isAuthError(err) && len(problems) > 0 {
			return nil, fmt.Errorf("%w (also skipped: %s)", err, strings.Join(problems, "; "))
		}
		if !retryable(err) {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w after %d attempts: %v", ctx.Err(), attempt, err)
		}
		// An attempt cut short by the deadline says less than the one
		// before it ("i/o timeout" vs "connection refused").
		if dctx.Err() == nil || lastErr == nil {
			lastErr = err
		}
		if attempt == 1 {
			fmt.Fprintf(warn, "berth: %s: %v; retrying until %s (%s left)\n",
				e, err, deadline.Format("15:04:05"), time.Until(deadline).Round(time.Second))
		}
		wait, last := backoff, false
		if rem := time.Until(deadline); rem <= wait {
			wait, last = rem, true
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-dctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w after %d attempts: %v", ctx.Err(), attempt, lastErr)
		}
		if last || dctx.Err() != nil {
			return nil, giveUp(timeout, attempt, lastErr)
		}
		backoff = min(backoff*2, backoffMax)
	}
}

func giveUp(timeout time.Duration, attempts int, err error) error {
	return fmt.Errorf("gave up after %s (%d attempts): %w", timeout, attempts, err)
}

func deadlineOf(ctx context.Context, def time.Time) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return def
}

// dialOnce makes one TCP (or tunnelled) connection and SSH handshake. The
// handshake has no context of its own, so the conn is closed when dctx ends.
func dialOnce(dctx context.Context, via *ssh.Client, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	actx, cancel := context.WithTimeout(dctx, attemptMax)
	defer cancel()
	var conn net.Conn
	var err error
	if via == nil {
		var d net.Dialer
		conn, err = d.DialContext(actx, "tcp", addr)
	} else {
		conn, err = via.DialContext(actx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(dctx, func() { conn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		conn.Close()
		return nil, fmt.Errorf("ssh handshake with %s: %w", addr, dctx.Err())
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

// retryable reports errors that a host still booting or a busy sshd gives,
// which are worth another attempt.
func retryable(err error) bool {
	var hkErr *HostKeyError
	if errors.As(err, &hkErr) || isAuthError(err) {
		return false
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ETIMEDOUT, io.EOF, io.ErrUnexpectedEOF,
		context.DeadlineExceeded} {
		if errors.Is(err, e) {
			return true
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTemporary || dnsErr.IsTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// Through a jump host, "connection refused" arrives as a channel open failure.
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) && oce.Reason == ssh.ConnectionFailed {
		return true
	}
	return false
}
