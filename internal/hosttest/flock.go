package hosttest

import (
	"errors"
	"os"
	"syscall"
)

// errBusy: the lock is held by another process (non-blocking attempt).
var errBusy = errors.New("lock held by another process")

// lockFile takes an exclusive flock on path, waiting when wait is set. The
// kernel releases it if the process dies, so a crashed run never leaves a
// stale lock behind.
func lockFile(path string, wait bool) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errBusy
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}
