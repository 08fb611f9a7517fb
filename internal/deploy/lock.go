package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/berth-sh/berth/remote"
)

// The deploy lock is a directory created atomically (mkdir) under the stack's
// state directory on the host itself, so every berth, from any machine, sees
// it. Taking it rides on the observe round trip; see observePrelude.

// releaseScript removes the lock only when it is still ours.
// Args: STATE_DIR(absolute) LOCK_INFO
const releaseScript = `d="$1/lock"
[ -d "$d" ] || exit 0
if [ "$(cat "$d/info" 2>/dev/null)" = "$2" ]; then rm -rf "$d"; fi
`

// breakScript removes the lock whoever holds it. Args: STATE_DIR STACK
const breakScript = `state=$1
[ -n "$state" ] || state="$HOME/.berth"
d="$state/$2/lock"
if [ -d "$d" ]; then cat "$d/info" 2>/dev/null; rm -rf "$d"; echo removed; else echo none; fi
`

// LockHeldError says another run holds the deploy lock of a stack on a host.
type LockHeldError struct {
	Host   string
	Holder string
	Age    time.Duration
	Stale  bool // older than the stale limit: `berth unlock` may break it
}

func (e *LockHeldError) Error() string {
	msg := fmt.Sprintf("%s: deploy lock held for %s by %s", e.Host, e.Age.Round(time.Second), e.Holder)
	if e.Stale {
		msg += "; it looks stale: run `berth unlock` on this host if no deploy is running"
	}
	return msg
}

// lockInfo names this run: who, where, when, which berth, and a random id
// that makes the release check exact.
func lockInfo(version string, now time.Time) string {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	var id [6]byte
	_, _ = rand.Read(id[:])
	return fmt.Sprintf("%s@%s pid=%d at=%s berth=%s run=%s", who, host, os.Getpid(), now.UTC().Format(time.RFC3339), version, hex.EncodeToString(id[:]))
}

// releaseLock runs even when ctx is cancelled (Ctrl-C), with a short deadline
// of its own, so an interrupted deploy leaves no lock behind.
func releaseLock(ctx context.Context, conn remote.Conn, dir, info string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if err := remote.Script(ctx, conn, releaseScript, nil, dir, info); err != nil {
		return fmt.Errorf("release deploy lock: %w", err)
	}
	return nil
}

// Unlock breaks the deploy lock of stack on the host and returns who held it.
func Unlock(ctx context.Context, conn remote.Conn, stateDir, stack string) (string, error) {
	var out bytes.Buffer
	if err := remote.Script(ctx, conn, breakScript, &out, stateDir, stack); err != nil {
		return "", fmt.Errorf("unlock %s: %w", stack, err)
	}
	return out.String(), nil
}
