package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/remote"
)

// The deploy lock is a directory created atomically (mkdir) under the stack's
// state directory on the host itself, so every berth, from any machine and
// whoever it logs in as, sees it. Taking it (and breaking a stale one) rides
// on the observe round trip; see observePrelude. Its holder touches the info
// file as a heartbeat; a lock whose heartbeat is older than the stale limit
// belongs to a run that is gone.

// releaseScript removes the lock only when it is still ours.
// Args: STATE_DIR(absolute) LOCK_INFO
const releaseScript = `d="$1/lock"
[ -d "$d" ] || exit 0
if [ "$(cat "$d/info" 2>/dev/null)" = "$2" ]; then rm -rf "$d"; fi
`

// heartbeatScript refreshes the lock's info file while it is still ours, and
// exits 3 when it is not (another run broke it). Args: STATE_DIR LOCK_INFO
const heartbeatScript = `[ "$(cat "$1/lock/info" 2>/dev/null)" = "$2" ] || exit 3
touch "$1/lock/info"
`

// breakScript removes the lock (and a leftover lock.break) whoever holds it,
// and says what it removed: "removed AGE", "holder INFO" when it had one,
// "removed-break". Args: DIR
const breakScript = `d="$1/lock"
if [ -d "$d" ]; then
	t=$(stat -c %Y "$d/info" 2>/dev/null || stat -c %Y "$d" 2>/dev/null) || t=$(date +%s)
	echo "removed $(( $(date +%s) - t ))"
	[ -f "$d/info" ] && echo "holder $(head -n 1 "$d/info")"
	rm -rf "$d" || exit 1
fi
if [ -d "$1/lock.break" ]; then rmdir "$1/lock.break" && echo removed-break; fi
exit 0
`

// LockHeldError says another run holds the deploy lock of a stack on a host.
type LockHeldError struct {
	Host   string
	Holder string // "" when the lock has no info (a run crashed while taking it)
	Age    time.Duration
}

func (e *LockHeldError) Error() string {
	return fmt.Sprintf("%s: deploy lock held by %s (last heartbeat %s ago)", e.Host, ui.HolderName(e.Holder), e.Age.Round(time.Second))
}

// ErrLockLost says another run broke this run's lock (its heartbeat had
// stopped for longer than the other run's stale limit).
var ErrLockLost = errors.New("the deploy lock was taken over by another run")

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

// heartbeatEvery is how often a holder refreshes its lock: several times
// within the stale limit, so a slow round trip never makes a live run stale.
func heartbeatEvery(stale time.Duration) time.Duration {
	if stale <= 0 {
		return time.Minute
	}
	return min(stale/4, time.Minute)
}

// heartbeat refreshes the lock every interval over conn until stop is called.
// When the lock is no longer ours it cancels the run with ErrLockLost.
func heartbeat(ctx context.Context, cancel context.CancelCauseFunc, conn remote.Conn, dir, info string, every time.Duration, rep ui.Host) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := remote.Script(ctx, conn, heartbeatScript, nil, dir, info)
			var exit *remote.ExitError
			if errors.As(err, &exit) && exit.Code == 3 {
				rep.Warn("%v: stopping", ErrLockLost)
				cancel(ErrLockLost)
				return
			}
		}
	}()
	return func() { close(done); <-finished }
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

// Unlocked is what Unlock removed.
type Unlocked struct {
	Dir     string        // the lock directory looked at
	Removed bool          // a lock was there and is gone
	Holder  string        // its holder's info; "" when it had none
	Age     time.Duration // since its last heartbeat (or since it was made)
	Break   bool          // a leftover lock.break (from a run killed while breaking a stale lock) was removed too
}

// Unlock breaks the deploy lock of stack on the host, whoever holds it.
// stateDir "" means DefaultStateDir.
func Unlock(ctx context.Context, conn remote.Conn, stateDir, stack string) (*Unlocked, error) {
	dir := stateRoot(stateDir) + "/" + stack
	var out bytes.Buffer
	if err := remote.Script(ctx, conn, breakScript, &out, dir); err != nil {
		return nil, fmt.Errorf("unlock %s: %w", stack, err)
	}
	u := &Unlocked{Dir: dir + "/lock"}
	for _, line := range strings.Split(out.String(), "\n") {
		word, rest, _ := strings.Cut(line, " ")
		switch word {
		case "removed":
			secs, _ := strconv.Atoi(rest)
			u.Removed, u.Age = true, time.Duration(secs)*time.Second
		case "holder":
			u.Holder = strings.TrimSpace(rest)
		case "removed-break":
			u.Break = true
		}
	}
	return u, nil
}
