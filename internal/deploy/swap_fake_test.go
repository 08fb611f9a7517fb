package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/fakeconn"
	"github.com/berth-sh/berth/remote"
)

// TestDeployRollback replaces web:1 with web:2 in ways that fail: the old
// container comes back (same container, running, ready) whenever it can,
// RolledBackError is said only then, and the lock is always released.
func TestDeployRollback(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(h *fakeconn.Host, c *fakeconn.Conn)
		steps   []string
		rolled  bool              // a *RolledBackError
		cause   func(error) bool  // what the error wraps
		running map[string]string // afterwards
		backup  bool              // web.berth-old is left (stopped)
		// fails makes the ready probe fail fast: it waits its whole timeout.
		fails bool
	}{
		{
			name:  "new version never healthy",
			setup: func(h *fakeconn.Host, _ *fakeconn.Conn) { h.Broken["web:2"] = true },
			steps: []string{"observe peek", "observe take", "swap-out web", "upload web.env", "wait web run", "rollback web", "wait web", "release"},
			// The old one publishes the ready probe's port: it is probed again (no command).
			rolled: true, cause: isNotReady, running: map[string]string{"db": "db:1", "web": "web:1"},
		},
		{
			name:   "new version never answers the ready probe",
			setup:  func(h *fakeconn.Host, _ *fakeconn.Conn) { h.Unready["web:2"] = true },
			steps:  []string{"observe peek", "observe take", "swap-out web", "upload web.env", "wait web run", "rollback web", "wait web", "release"},
			rolled: true, cause: isNotReady, running: map[string]string{"db": "db:1", "web": "web:1"}, fails: true,
		},
		{
			name:  "old version does not answer after the rollback",
			setup: func(h *fakeconn.Host, _ *fakeconn.Conn) { h.Unready["web:2"], h.Unready["web:1"] = true, true },
			steps: []string{"observe peek", "observe take", "swap-out web", "upload web.env", "wait web run", "rollback web", "wait web", "release"},
			cause: isNotReady, running: map[string]string{"db": "db:1", "web": "web:1"}, fails: true,
		},
		{
			name:   "new version cannot be run",
			setup:  func(h *fakeconn.Host, _ *fakeconn.Conn) { delete(h.Images, "web:2") },
			steps:  []string{"observe peek", "observe take", "swap-out web", "upload web.env", "wait web run", "rollback web", "wait web", "release"},
			rolled: true, cause: func(err error) bool { return strings.Contains(err.Error(), "Unable to find image") },
			running: map[string]string{"db": "db:1", "web": "web:1"},
		},
		{
			name: "rollback fails",
			setup: func(h *fakeconn.Host, c *fakeconn.Conn) {
				h.Broken["web:2"] = true
				fail := failOn("rollback web")
				c.Before = func(ctx context.Context, call fakeconn.Call) error {
					if err := fail(ctx, call); err != nil {
						// The script's rm -f of the failed successor worked, its rename did not.
						h.Do(func(h *fakeconn.Host) { delete(h.Containers, "web") })
						return err
					}
					return nil
				}
			},
			steps: []string{"observe peek", "observe take", "swap-out web", "upload web.env", "wait web run", "rollback web", "release"},
			cause: isExit, running: map[string]string{"db": "db:1"}, backup: true,
		},
		{
			name: "old version does not come back healthy",
			setup: func(h *fakeconn.Host, c *fakeconn.Conn) {
				h.Broken["web:2"] = true
				c.Before = func(_ context.Context, call fakeconn.Call) error {
					if call.Script == fakeconn.Rollback {
						h.Do(func(h *fakeconn.Host) { h.Broken["web:1"] = true })
					}
					return nil
				}
			},
			steps: []string{"observe peek", "observe take", "swap-out web", "upload web.env", "wait web run", "rollback web", "wait web", "release"},
			cause: isNotReady, running: map[string]string{"db": "db:1"},
		},
		{
			name:  "old version cannot be moved aside",
			setup: func(_ *fakeconn.Host, c *fakeconn.Conn) { c.Before = failOn("swap-out web") },
			steps: []string{"observe peek", "observe take", "swap-out web", "release"},
			cause: isExit, running: map[string]string{"db": "db:1", "web": "web:1"},
		},
		{
			name:    "new version ready but its backup stays",
			setup:   func(_ *fakeconn.Host, c *fakeconn.Conn) { c.Before = failOn("docker rm web.berth-old") },
			steps:   []string{"observe peek", "observe take", "swap-out web", "upload web.env", "wait web run", "docker rm web.berth-old", "release"},
			running: map[string]string{"db": "db:1", "web": "web:2"}, backup: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := deployed(t)
			oldWeb := containerID(h, "web")
			conn := fakeConn(h)
			tt.setup(h, conn)
			pb := shop(t, "web", "web:2")
			if tt.fails {
				pb.Containers[1].Ready.Timeout = 100 * time.Millisecond
			}
			_, err := Deploy(context.Background(), conn, pb, testOptions())

			var rolled *RolledBackError
			switch {
			case tt.cause == nil && err != nil:
				t.Fatalf("deploy: %v", err)
			case tt.cause != nil && !tt.cause(err):
				t.Errorf("deploy: %v: not the expected cause", err)
			}
			if got := errors.As(err, &rolled); got != tt.rolled || (got && rolled.Container != "web") {
				t.Errorf("deploy: %v; RolledBackError %v, want %v", err, got, tt.rolled)
			}
			if got := steps(conn.Calls()); !slices.Equal(got, tt.steps) {
				t.Errorf("commands:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.steps, "\n  "))
			}
			st := stateOf(h)
			if !maps.Equal(st.images, tt.running) || st.locked {
				t.Errorf("host runs %v (locked %v), want %v, unlocked", st.images, st.locked, tt.running)
			}
			if tt.rolled && containerID(h, "web") != oldWeb {
				t.Error("the web serving after the rollback is not the old container")
			}
			if got := containerID(h, "web.berth-old") != ""; got != tt.backup {
				t.Errorf("backup left: %v, want %v", got, tt.backup)
			}
			// Whatever happened, a good run converges and leaves no backup.
			h.Do(func(h *fakeconn.Host) {
				h.Broken, h.Unready = map[string]bool{}, map[string]bool{}
				h.Images["web:2"] = "sha256:w2"
			})
			if _, err := Deploy(context.Background(), fakeConn(h), shop(t, "web", "web:2"), testOptions()); err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if st := stateOf(h); st.images["web"] != "web:2" || len(st.others) > 0 {
				t.Errorf("after the rerun the host runs %v, others %v", st.images, st.others)
			}
		})
	}
}

func isNotReady(err error) bool { var n *NotReadyError; return errors.As(err, &n) }
func isExit(err error) bool     { var x *remote.ExitError; return errors.As(err, &x) }

// TestDeployCancelAtEachCommand replaces web (web:1 -> web:2, which needs
// a new env file, a swap and the lock) and cancels the run right after its
// Nth command, for every N. Whatever the point, once Deploy returns the
// lock is free, exactly one web runs (old or new) and no backup is left;
// and a rerun converges, then changes nothing.
func TestDeployCancelAtEachCommand(t *testing.T) {
	clean := fakeConn(deployed(t))
	if _, err := Deploy(context.Background(), clean, shop(t, "web", "web:2"), testOptions()); err != nil {
		t.Fatal(err)
	}
	all := steps(clean.Calls())
	for n := 1; n <= len(all); n++ {
		t.Run(fmt.Sprintf("%d %s", n, all[n-1]), func(t *testing.T) {
			h := deployed(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			conn := fakeConn(h)
			sent := 0
			conn.After = func(context.Context, fakeconn.Call) {
				if sent++; sent == n {
					cancel()
				}
			}
			_, err := Deploy(ctx, conn, shop(t, "web", "web:2"), testOptions())
			t.Logf("cancelled after %q: %v", all[n-1], err)
			st := stateOf(h)
			if st.locked {
				t.Error("the lock was left behind")
			}
			if img := st.images["web"]; (img != "web:1" && img != "web:2") || len(st.others) > 0 {
				t.Errorf("web runs %q, others %v: want web:1 or web:2 serving, nothing else", img, st.others)
			}
			if res, err := Deploy(context.Background(), fakeConn(h), shop(t, "web", "web:2"), testOptions()); err != nil || stateOf(h).images["web"] != "web:2" {
				t.Fatalf("rerun: %v, %+v", err, res)
			}
			res, err := Deploy(context.Background(), fakeConn(h), shop(t, "web", "web:2"), testOptions())
			if err != nil || res.Stats.RoundTrips() != 1 {
				t.Errorf("second rerun: %v in %d round trips", err, res.Stats.RoundTrips())
			}
		})
	}
}

// TestSettleLeftovers: a backup an interrupted run left is removed when its
// container exists, and restored when it does not, before the plan runs.
func TestSettleLeftovers(t *testing.T) {
	// crashAfterSwapOut leaves web moved aside and stopped, as a run killed
	// right after the swap-out does.
	crashAfterSwapOut := func(h *fakeconn.Host) {
		w := h.Containers["web"]
		delete(h.Containers, "web")
		w.Name, w.Status = "web.berth-old", "exited"
		h.Containers[w.Name] = w
	}
	// crashAfterStart leaves the new web running beside the old one's backup.
	crashAfterStart := func(h *fakeconn.Host) {
		b := *h.Containers["web"]
		b.ID, b.Name, b.Status = "b4c", "web.berth-old", "exited"
		h.Containers[b.Name] = &b
	}
	tests := []struct {
		name    string
		crash   func(h *fakeconn.Host)
		vars    []string
		fail    string
		steps   []string
		image   string // web's afterwards
		sameWeb bool   // web is the container it was before the crash
	}{
		{"backup beside its successor", crashAfterStart, nil, "",
			[]string{"observe peek", "observe take", "docker rm web.berth-old", "observe peek", "release"}, "web:1", true},
		{"backup alone comes back", crashAfterSwapOut, nil, "",
			[]string{"observe peek", "observe take", "rollback web", "observe peek", "release"}, "web:1", true},
		{"backup alone comes back, then is replaced", crashAfterSwapOut, []string{"web", "web:2"}, "",
			[]string{"observe peek", "observe take", "rollback web", "observe peek",
				"swap-out web", "upload web.env", "wait web run", "docker rm web.berth-old", "release"}, "web:2", false},
		{"backup beside an unhealthy successor comes back", then(crashAfterStart, health("web", "unhealthy")), nil, "",
			[]string{"observe peek", "observe take", "rollback web", "observe peek", "release"}, "web:1", false},
		{"backup beside a successor still starting comes back", then(crashAfterStart, health("web", "starting")), nil, "",
			[]string{"observe peek", "observe take", "rollback web", "observe peek", "release"}, "web:1", false},
		{"backup beside an exited successor comes back", then(crashAfterStart, exited("web")), nil, "",
			[]string{"observe peek", "observe take", "rollback web", "observe peek", "release"}, "web:1", false},
		{"removing it fails", crashAfterStart, nil, "docker rm web.berth-old",
			[]string{"observe peek", "observe take", "docker rm web.berth-old", "release"}, "web:1", true},
		{"restoring it fails", crashAfterSwapOut, nil, "rollback web",
			[]string{"observe peek", "observe take", "rollback web", "release"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := deployed(t)
			webID := containerID(h, "web")
			h.Do(tt.crash)
			conn := fakeConn(h)
			if tt.fail != "" {
				conn.Before = failOn(tt.fail)
			}
			_, err := Deploy(context.Background(), conn, shop(t, tt.vars...), testOptions())
			if (err != nil) != (tt.fail != "") {
				t.Errorf("deploy: %v", err)
			}
			if got := steps(conn.Calls()); !slices.Equal(got, tt.steps) {
				t.Errorf("commands:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.steps, "\n  "))
			}
			st := stateOf(h)
			if st.images["web"] != tt.image || st.locked {
				t.Errorf("web runs %q (locked %v), want %q", st.images["web"], st.locked, tt.image)
			}
			if got := containerID(h, "web") == webID; got != tt.sameWeb {
				t.Errorf("web is the container from before the crash: %v, want %v", got, tt.sameWeb)
			}
			if tt.fail == "" && containerID(h, "web.berth-old") != "" {
				t.Error("the backup is still there")
			}
		})
	}
}

func then(fs ...func(h *fakeconn.Host)) func(h *fakeconn.Host) {
	return func(h *fakeconn.Host) {
		for _, f := range fs {
			f(h)
		}
	}
}

func health(name, status string) func(h *fakeconn.Host) {
	return func(h *fakeconn.Host) { h.Containers[name].Health = status }
}

func exited(name string) func(h *fakeconn.Host) {
	return func(h *fakeconn.Host) { h.Containers[name].Status = "exited" }
}
