package sshtest

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/berth-sh/berth/internal/testenv"
)

// LoginShell makes the server's user one whose login shell is shell (e.g.
// /usr/bin/fish), which sshd hands every command string to. The user,
// "berth-<shell name>", is an alias of root (uid 0, home /root) so that
// everything else (files, Docker) behaves as in the other tests; it is
// created on first use and left for the next run. Needs root.
func LoginShell(shell string) Option {
	return func(c *config) { c.loginShell = shell }
}

// loginUser returns the user for shell, creating it if needed.
func loginUser(t testing.TB, shell string) string {
	t.Helper()
	if _, err := os.Stat(shell); err != nil {
		testenv.Missing(t, "the shell "+shell, err.Error())
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "a login user with shell "+shell, "creating it needs root")
	}
	name := "berth-" + filepath.Base(shell)
	// Test binaries of several packages may run at once: one useradd at a time.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "berth-sshtest-users.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("sshtest: lock users: %v", err)
	}
	if u, err := user.Lookup(name); err == nil {
		if u.Uid != "0" {
			t.Fatalf("sshtest: user %s exists with uid %s, want an alias of root", name, u.Uid)
		}
		return name
	}
	out, err := exec.Command("useradd", "--non-unique", "--uid", "0", "--gid", "0",
		"--home-dir", "/root", "--no-create-home", "--shell", shell,
		// "*": no password, but not locked ("!"), which sshd refuses without PAM.
		"--password", "*", name).CombinedOutput()
	if err != nil {
		testenv.Missing(t, "useradd", err.Error()+": "+string(out))
	}
	return name
}
