package deploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/fakeconn"
)

// TestDeployLock: a deploy that must change the host waits for another
// run's lock, up to LockWait, breaks it only when it is stale, and never
// changes anything without it.
func TestDeployLock(t *testing.T) {
	now := time.Now()
	const alice = "alice@laptop pid=1 run=a"
	tests := []struct {
		name  string
		setup func(h *fakeconn.Host)
		opts  func(o *Options)
		// before runs before each command; cancel cancels the deploy.
		before  func(h *fakeconn.Host, cancel context.CancelFunc) func(context.Context, fakeconn.Call) error
		takes   int    // observe rounds under "take"; -1: at least 2
		applied bool   // the deploy went through
		holder  string // the LockHeldError's holder, when it did not
		err     error  // what the error wraps, when it did not
		after   string // who holds the lock afterwards ("" none)
		// cancelAfterTake cancels the run shortly after the look under take
		// answered "held": during the pause before the next look.
		cancelAfterTake bool
		same            bool // deploy what runs already: in sync, but the lock is held
	}{
		{name: "in sync but locked", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, alice, now) },
			same: true, takes: 1, holder: alice, after: alice},
		{name: "held by another run", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, alice, now) },
			takes: 1, holder: alice, after: alice},
		{name: "held by a run that left no holder", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, "", now) },
			takes: 1, holder: "", after: "?"},
		{name: "waits, then gives up", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, alice, now) },
			opts: func(o *Options) { o.LockWait = 200 * time.Millisecond }, takes: -1, holder: alice, after: alice},
		{name: "waits until the other run releases", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, alice, now) },
			opts: func(o *Options) { o.LockWait = time.Minute },
			before: func(h *fakeconn.Host, _ context.CancelFunc) func(context.Context, fakeconn.Call) error {
				n := 0
				return func(_ context.Context, c fakeconn.Call) error {
					if steps([]fakeconn.Call{c})[0] == "observe take" {
						if n++; n == 3 {
							h.Do(func(h *fakeconn.Host) { delete(h.Dirs, lockDir); delete(h.Files, lockDir+"/info") })
						}
					}
					return nil
				}
			},
			takes: 3, applied: true},
		{name: "cancelled while waiting", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, alice, now) },
			opts:            func(o *Options) { o.LockWait, o.lockPoll = 2*time.Hour, time.Hour },
			cancelAfterTake: true,
			takes:           1, err: context.Canceled, after: alice},
		{name: "cancelled while looking", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, alice, now) },
			opts: func(o *Options) { o.LockWait = time.Hour },
			before: func(h *fakeconn.Host, cancel context.CancelFunc) func(context.Context, fakeconn.Call) error {
				return func(_ context.Context, c fakeconn.Call) error {
					if steps([]fakeconn.Call{c})[0] == "observe take" {
						cancel()
					}
					return nil
				}
			},
			takes: 1, err: context.Canceled, after: alice},
		{name: "stale lock broken", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, alice, now.Add(-time.Hour)) },
			opts: func(o *Options) { o.LockStale = time.Minute }, takes: 1, applied: true},
		{name: "stale lock kept without --lock-stale", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, alice, now.Add(-time.Hour)) },
			takes: 1, holder: alice, after: alice},
		{name: "fresh lock kept", setup: func(h *fakeconn.Host) { h.SetLock(stackDir, alice, now.Add(-30*time.Second)) },
			opts: func(o *Options) { o.LockStale = time.Minute }, takes: 1, holder: alice, after: alice},
		{name: "stale lock another run is breaking", setup: func(h *fakeconn.Host) {
			h.SetLock(stackDir, alice, now.Add(-time.Hour))
			h.Dirs[stackDir+"/lock.break"] = now
		}, opts: func(o *Options) { o.LockStale = time.Minute }, takes: 1, holder: alice, after: alice},
		{name: "stale lock and a dead breaker's leftover", setup: func(h *fakeconn.Host) {
			h.SetLock(stackDir, alice, now.Add(-time.Hour))
			h.Dirs[stackDir+"/lock.break"] = now.Add(-time.Hour)
		}, opts: func(o *Options) { o.LockStale = time.Minute }, takes: 1, applied: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := deployed(t)
			tt.setup(h)
			webID := containerID(h, "web")
			opts := testOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			conn := fakeConn(h)
			if tt.before != nil {
				conn.Before = tt.before(h, cancel)
			}
			if tt.cancelAfterTake {
				conn.After = func(_ context.Context, c fakeconn.Call) {
					if steps([]fakeconn.Call{c})[0] == "observe take" {
						time.AfterFunc(20*time.Millisecond, cancel)
					}
				}
			}
			pb := shop(t, "greeting", "hi")
			if tt.same {
				pb = shop(t)
			}
			res, err := Deploy(ctx, conn, pb, opts)

			takes := 0
			for _, s := range steps(conn.Calls()) {
				if s == "observe take" {
					takes++
				}
			}
			if takes != tt.takes && (tt.takes != -1 || takes < 2) {
				t.Errorf("observed under take %d times, want %d", takes, tt.takes)
			}
			var held *LockHeldError
			switch {
			case tt.applied:
				if err != nil || res.Applied != 1 {
					t.Fatalf("deploy: %v, applied %d", err, res.Applied)
				}
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Errorf("deploy: %v, want %v", err, tt.err)
				}
			case !errors.As(err, &held) || held.Holder != tt.holder || held.Host != "fake1":
				t.Errorf("deploy: %v, want the lock held by %q", err, tt.holder)
			}
			if !tt.applied && containerID(h, "web") != webID {
				t.Error("web was replaced without the lock")
			}
			_, locked := h.ReadFile(lockDir + "/info")
			locked = locked || h.IsDir(lockDir)
			info, _ := h.ReadFile(lockDir + "/info")
			switch {
			case tt.after == "" && locked:
				t.Errorf("the lock is still held, by %q", info)
			case tt.after == "?" && !locked:
				t.Error("the lock without holder is gone")
			case tt.after != "" && tt.after != "?" && strings.TrimSpace(string(info)) != tt.after:
				t.Errorf("lock holder %q, want %q", info, tt.after)
			}
		})
	}
}

// TestDeployLockLost: when another run takes the lock over (its stale limit
// was shorter than a pause in this run's heartbeats), the heartbeat stops
// this run with ErrLockLost, and this run leaves the other's lock alone.
func TestDeployLockLost(t *testing.T) {
	h := fakeHost(t)
	conn := fakeConn(h)
	const bob = "bob@ci run=b"
	conn.Before = func(ctx context.Context, c fakeconn.Call) error {
		if steps([]fakeconn.Call{c})[0] != "wait db run" {
			return nil
		}
		h.Do(func(h *fakeconn.Host) { h.Files[lockDir+"/info"].Data = []byte(bob + "\n") })
		select { // the heartbeat (every LockStale/4) notices and cancels the run
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(10 * time.Second):
			return errors.New("the heartbeat did not stop the run")
		}
	}
	opts := testOptions()
	opts.LockStale = 40 * time.Millisecond
	_, err := Deploy(context.Background(), conn, shop(t), opts)
	if !errors.Is(err, ErrLockLost) {
		t.Fatalf("deploy: %v, want ErrLockLost", err)
	}
	if info, _ := h.ReadFile(lockDir + "/info"); string(info) != bob+"\n" {
		t.Errorf("lock info %q, want bob's lock untouched", info)
	}
	if got := steps(conn.Calls()); !slices.Contains(got, "heartbeat") {
		t.Errorf("no heartbeat among %q", got)
	}
	if _, ok := h.Containers["web"]; ok {
		t.Error("web was started after the lock was lost")
	}
}
