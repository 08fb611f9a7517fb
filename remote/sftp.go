package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path"

	"github.com/pkg/sftp"
)

// Upload writes data to dst atomically: a temp file in the same directory,
// chmod to mode before any data is written, then a rename over dst. Readers
// see the old file or the new one, never a partial one. With Sudo the write
// goes through a command run as root instead, since SFTP runs as the login user.
func (s *SSH) Upload(ctx context.Context, dst string, data []byte, mode os.FileMode) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upload %s to %s: %w", dst, s.host, err)
	}
	if s.sudo {
		return uploadViaCommand(ctx, s, dst, data, mode)
	}
	c, err := s.sftpClient()
	if err != nil {
		// Some hardened hosts disable the sftp subsystem; a shell still works.
		return uploadViaCommand(ctx, s, dst, data, mode)
	}
	s.count(func(st *Stats) { st.Uploads++ })
	if err := sftpWrite(ctx, c, dst, data, mode); err != nil {
		return fmt.Errorf("upload %s to %s: %w", dst, s.host, s.lostOr(err))
	}
	return nil
}

// sftpClient starts the SFTP subsystem on first use and reuses it.
func (s *SSH) sftpClient() (*sftp.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sftp != nil || s.sftpErr != nil {
		return s.sftp, s.sftpErr
	}
	select {
	case <-s.done:
		return nil, fmt.Errorf("start sftp on %s: connection closed", s.host)
	default:
	}
	c, err := sftp.NewClient(s.client)
	if err != nil {
		s.sftpErr = fmt.Errorf("start sftp on %s: %w", s.host, err)
		return nil, s.sftpErr
	}
	s.sftp = c
	return c, nil
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
