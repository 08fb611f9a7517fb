package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
)

// benchUser is the deploy user every tool logs in as, unless BENCH_USER says
// otherwise: a plain account whose login shell (sh) reads no profile for a
// command, in the docker group. sshd runs every command through the user's
// login shell, and a heavy ~/.bashrc (root's here runs pyenv init) would be
// paid on every session by every tool.
const benchUser = "benchuser"

// deployUser makes sure the deploy user exists and can read what sshd and
// the tools need. It creates benchuser if missing (and records that, so
// cleanup and bench/run's trap remove it again).
func (b *bench) deployUser(ctx context.Context) error {
	if _, err := user.Lookup(b.user); err != nil {
		if b.user != benchUser {
			return fmt.Errorf("BENCH_USER %s: %v", b.user, err)
		}
		logf("creating user %s (sh, docker group)", b.user)
		if _, err := run(ctx, "/", nil, "useradd", "--create-home", "--shell", "/bin/sh", "--groups", "docker",
			// "*", not useradd's locked "!": sshd without PAM refuses locked accounts.
			"--password", "*", b.user); err != nil {
			return err
		}
		b.createdUser = true
		_ = os.WriteFile(b.path("user"), []byte(b.user+"\n"), 0o644)
	}
	u, err := user.Lookup(b.user)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	// sshd reads authorized_keys as the user; the remote side writes the
	// tools' state directories as the user.
	if err := os.Chmod(b.work, 0o711); err != nil {
		return err
	}
	if err := os.Chmod(b.path("authorized_keys"), 0o644); err != nil {
		return err
	}
	for _, d := range []string{"state", "astate", "fstate"} {
		if err := os.Chown(b.path(d), uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// removeUser deletes the user deployUser created, with its home.
func (b *bench) removeUser() {
	if !b.createdUser {
		return
	}
	if out, err := exec.Command("userdel", "--remove", b.user).CombinedOutput(); err != nil {
		logf("userdel %s: %v: %s", b.user, err, out)
	}
}
