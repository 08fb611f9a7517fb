package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sftpStartMax bounds starting the SFTP subsystem, which a healthy sshd does
// at once: a host whose subsystem hangs falls back to commands quickly.
const sftpStartMax = 10 * time.Second

// Upload writes data to dst atomically: a temp file in the same directory,
// chmod to mode before any data is written, then a rename over dst. Readers
// see the old file or the new one, never a partial one. With Sudo the write
// goes through a command run as root instead, since SFTP runs as the login
// user. SFTP that fails to start, or hangs past the command timeout, is given
// up for the connection and the upload goes through a command too.
func (s *SSH) Upload(ctx context.Context, dst string, data []byte, mode os.FileMode) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upload %s to %s: %w", dst, s.host, err)
	}
	if s.sudo {
		return uploadViaCommand(ctx, s, dst, data, mode)
	}
	c, err := s.sftpClient(ctx)
	if ctx.Err() != nil {
		return fmt.Errorf("upload %s to %s: %w", dst, s.host, ctx.Err())
	}
	if err != nil {
		// Some hardened hosts disable the sftp subsystem; a shell still works.
		return uploadViaCommand(ctx, s, dst, data, mode)
	}
	s.count(func(st *Stats) { st.Uploads++ })
	wctx, cancel := withCommandTimeout(ctx, 0, s.cmdTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sftpWrite(wctx, c.Client, dst, data, mode) }()
	select {
	case err = <-done:
	case <-wctx.Done():
		// A request the server never answers blocks until the session goes.
		s.dropSFTP(c, fmt.Errorf("sftp on %s: %w", s.host, context.Cause(wctx)))
		<-done
		if ctx.Err() != nil {
			return fmt.Errorf("upload %s to %s: %w", dst, s.host, ctx.Err())
		}
		return uploadViaCommand(ctx, s, dst, data, mode)
	}
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", dst, s.host, s.lostOr(err))
	}
	return nil
}

// sftpConn is an SFTP client and the session it runs in.
type sftpConn struct {
	*sftp.Client
	sess *ssh.Session
	cut  func()
}

func (c *sftpConn) close() {
	c.cut()
	c.sess.Close()
	c.Client.Close()
}

// errCut is what a cut-off SFTP client's reads and writes fail with.
var errCut = errors.New("sftp stopped: the server did not answer in time")

// cuttable puts pipes between the SFTP client and the session's streams,
// which can be closed from our side: a channel's own Read and Write wait for
// the server, which a hung server never answers, not even a close. The
// copying goroutines end when the connection closes.
func cuttable(r io.Reader, w io.WriteCloser) (io.Reader, io.WriteCloser, func()) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() {
		_, err := io.Copy(inW, r)
		inW.CloseWithError(err)
	}()
	go func() {
		_, err := io.Copy(w, outR)
		outR.CloseWithError(err)
		w.Close()
	}()
	return inR, outW, func() {
		inR.CloseWithError(errCut)
		outW.CloseWithError(errCut)
	}
}

// sftpClient starts the SFTP subsystem on first use and reuses it. Starting
// is bounded by the command timeout (at most sftpStartMax) and by ctx; a
// start that failed or timed out is not tried again on this connection.
func (s *SSH) sftpClient(ctx context.Context) (*sftpConn, error) {
	select {
	case s.sftpStarting <- struct{}{}:
		defer func() { <-s.sftpStarting }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	c, err := s.sftp, s.sftpErr
	s.mu.Unlock()
	if c != nil || err != nil {
		return c, err
	}
	select {
	case <-s.done:
		return nil, fmt.Errorf("start sftp on %s: connection closed", s.host)
	default:
	}
	sctx, cancel := withCommandTimeout(ctx, min(s.cmdTimeout, sftpStartMax), 0)
	defer cancel()
	c, err = startSFTP(sctx, s.client)
	if ctx.Err() != nil {
		return nil, ctx.Err() // cancelled, not broken: a later run may try again
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.sftpErr = fmt.Errorf("start sftp on %s: %w", s.host, err)
		return nil, s.sftpErr
	}
	s.sftp = c
	return c, nil
}

// startSFTP opens a session, requests the subsystem and does the version
// handshake, all of which wait on the server, so each is cut off with ctx.
func startSFTP(ctx context.Context, client *ssh.Client) (*sftpConn, error) {
	type result struct {
		c   *sftpConn
		err error
	}
	var mu sync.Mutex
	var sess *ssh.Session
	cut := func() {}
	abandoned := false
	// stop ends a start that is given up: the goroutine's next wait fails.
	stop := func() {
		cut()
		if sess != nil {
			sess.Close()
		}
	}
	done := make(chan result, 1)
	go func() {
		c, err := func() (*sftpConn, error) {
			ss, err := client.NewSession()
			if err != nil {
				return nil, err
			}
			w, err := ss.StdinPipe()
			if err != nil {
				ss.Close()
				return nil, err
			}
			r, err := ss.StdoutPipe()
			if err != nil {
				ss.Close()
				return nil, err
			}
			r, w, cutIt := cuttable(r, w)
			mu.Lock()
			sess, cut = ss, cutIt
			if abandoned {
				stop()
			}
			mu.Unlock()
			if err := ss.RequestSubsystem("sftp"); err != nil {
				return nil, err
			}
			sc, err := sftp.NewClientPipe(r, w)
			if err != nil {
				return nil, err
			}
			return &sftpConn{Client: sc, sess: ss, cut: cutIt}, nil
		}()
		if err != nil {
			mu.Lock()
			stop()
			mu.Unlock()
		}
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		return r.c, r.err
	case <-ctx.Done():
		mu.Lock()
		abandoned = true
		stop()
		mu.Unlock()
		if r := <-done; r.c != nil {
			r.c.close()
		}
		return nil, context.Cause(ctx)
	}
}

// dropSFTP closes a client that stopped answering; later uploads on this
// connection go through commands.
func (s *SSH) dropSFTP(c *sftpConn, why error) {
	c.close()
	s.mu.Lock()
	if s.sftp == c {
		s.sftp, s.sftpErr = nil, why
	}
	s.mu.Unlock()
}

func sftpWrite(ctx context.Context, c *sftp.Client, dst string, data []byte, mode os.FileMode) error {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("make temp name: %w", err)
	}
	tmp := path.Join(path.Dir(dst), ".berth-upload-"+hex.EncodeToString(rnd[:]))
	f, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = c.Remove(tmp)
		}
	}()
	// Chmod first: the file is still empty, so secrets never sit in it with
	// the server's default (umask) permissions.
	if err := f.Chmod(mode.Perm()); err != nil {
		f.Close()
		return fmt.Errorf("chmod temp file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write temp file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write temp file: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := c.HasExtension("posix-rename@openssh.com"); ok {
		if err := c.PosixRename(tmp, dst); err != nil {
			return fmt.Errorf("rename into place: %w", err)
		}
	} else {
		// Plain SFTP rename refuses to overwrite: remove, then rename (not
		// atomic, but the best such a server allows).
		if err := c.Remove(dst); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("replace %s: %w", dst, err)
		}
		if err := c.Rename(tmp, dst); err != nil {
			return fmt.Errorf("rename into place: %w", err)
		}
	}
	renamed = true
	return nil
}
