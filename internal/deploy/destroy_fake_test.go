package deploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/fakeconn"
	"github.com/berth-sh/berth/internal/plan"
)

// TestDestroy: destroy removes the stack's containers and networks under the
// lock, its volumes and stored secrets only with volumes, nothing of another
// stack's, and nothing at all in a dry run.
func TestDestroy(t *testing.T) {
	rmAll := []string{"docker rm web", "docker rm db", "docker network rm net"}
	tests := []struct {
		name    string
		setup   func(h *fakeconn.Host, c *fakeconn.Conn)
		volumes bool
		dryRun  bool
		steps   []string
		err     func(error) bool
		left    string // snapshot afterwards
		secrets bool   // the stored secrets are kept
	}{
		{name: "containers and networks",
			steps: slices.Concat([]string{"observe take"}, rmAll, []string{"release"}),
			left:  "volume data\n", secrets: true},
		{name: "with volumes", volumes: true,
			steps: slices.Concat([]string{"observe take", "docker system {{json .Volumes}}"}, rmAll, []string{"docker volume rm data", "release", "forget"})},
		{name: "dry run", dryRun: true, volumes: true,
			steps: []string{"observe peek", "docker system {{json .Volumes}}"},
			left:  "container db\ncontainer web\nvolume data\nnetwork net\n", secrets: true},
		{name: "volume sizes unreadable", volumes: true,
			setup: func(_ *fakeconn.Host, c *fakeconn.Conn) { c.Before = failOn("docker system {{json .Volumes}}") },
			steps: slices.Concat([]string{"observe take", "docker system {{json .Volumes}}"}, rmAll, []string{"docker volume rm data", "release", "forget"})},
		{name: "a volume of another stack keeps the secrets", volumes: true,
			setup: func(h *fakeconn.Host, _ *fakeconn.Conn) { h.Volumes["data"].Labels[docker.LabelStack] = "other" },
			steps: slices.Concat([]string{"observe take"}, rmAll, []string{"release"}),
			left:  "volume data\n", secrets: true},
		{name: "a removal fails",
			setup: func(_ *fakeconn.Host, c *fakeconn.Conn) { c.Before = failOn("docker rm db") },
			steps: []string{"observe take", "docker rm web", "docker rm db", "release"},
			err:   isExit, left: "container db\nvolume data\nnetwork net\n", secrets: true},
		{name: "lock held",
			setup: func(h *fakeconn.Host, _ *fakeconn.Conn) { h.SetLock(stackDir, "alice", time.Now()) },
			steps: []string{"observe take"},
			err:   func(err error) bool { var l *LockHeldError; return errors.As(err, &l) },
			left:  "container db\ncontainer web\nvolume data\nnetwork net\nlocked\n", secrets: true},
		{name: "docker missing", dryRun: true,
			setup: func(h *fakeconn.Host, _ *fakeconn.Conn) { h.DockerErr = "docker-not-found" },
			steps: []string{"observe peek"},
			err:   func(err error) bool { return errors.Is(err, docker.ErrDockerNotFound) },
			left:  "container db\ncontainer web\nvolume data\nnetwork net\n", secrets: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := deployed(t)
			h.Volumes["data"].Size = "12.5MB"
			conn := fakeConn(h)
			if tt.setup != nil {
				tt.setup(h, conn)
			}
			opts := testOptions()
			opts.DryRun = tt.dryRun
			res, err := Destroy(context.Background(), conn, shop(t), tt.volumes, opts)
			if (tt.err == nil && err != nil) || (tt.err != nil && !tt.err(err)) {
				t.Fatalf("destroy: %v", err)
			}
			if got := steps(conn.Calls()); !slices.Equal(got, tt.steps) {
				t.Errorf("commands:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.steps, "\n  "))
			}
			if got := objects(h); got != tt.left {
				t.Errorf("left on the host:\n%swant:\n%s", got, tt.left)
			}
			if _, kept := h.ReadFile(stackDir + "/secrets.env"); kept != tt.secrets {
				t.Errorf("secrets kept %v, want %v", kept, tt.secrets)
			}
			if !tt.secrets && h.IsDir(stackDir) {
				t.Error("the stack's state directory is still there")
			}
			if tt.err == nil && tt.volumes && !strings.Contains(tt.name, "unreadable") && res.Plan.Count(plan.Remove) > 0 {
				for _, a := range res.Plan.Actions {
					if a.Object == plan.Volume && a.Kind == plan.Remove && !slices.Contains(a.Reasons, "holds 12.5MB") {
						t.Errorf("volume removal %+v does not say how much it deletes", a)
					}
				}
			}
		})
	}
}

// TestUnlock reports exactly what it removed.
func TestUnlock(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name  string
		setup func(h *fakeconn.Host)
		want  Unlocked
	}{
		{"no lock", func(*fakeconn.Host) {}, Unlocked{Dir: lockDir}},
		{"a run's lock", func(h *fakeconn.Host) { h.SetLock(stackDir, "alice run=a", now.Add(-90*time.Second)) },
			Unlocked{Dir: lockDir, Removed: true, Holder: "alice run=a", Age: 90 * time.Second}},
		{"a lock without holder", func(h *fakeconn.Host) { h.SetLock(stackDir, "", now.Add(-time.Hour)) },
			Unlocked{Dir: lockDir, Removed: true, Age: time.Hour}},
		{"a dead breaker's leftover", func(h *fakeconn.Host) {
			h.SetLock(stackDir, "alice", now)
			h.Dirs[stackDir+"/lock.break"] = now
		}, Unlocked{Dir: lockDir, Removed: true, Holder: "alice", Break: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeHost(t)
			h.Now = func() time.Time { return now }
			tt.setup(h)
			got, err := Unlock(context.Background(), fakeConn(h), "", "shop")
			if err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("unlock: %+v, want %+v", *got, tt.want)
			}
			if h.IsDir(lockDir) || h.IsDir(stackDir+"/lock.break") {
				t.Error("a lock is still there")
			}
		})
	}
	h := fakeHost(t)
	conn := fakeConn(h)
	conn.Before = failOn("break")
	if _, err := Unlock(context.Background(), conn, "", "shop"); !isExit(err) {
		t.Errorf("unlock over a failing command: %v", err)
	}
}

// TestStatus observes in one round trip, takes no lock, writes nothing.
func TestStatus(t *testing.T) {
	tests := []struct {
		name    string
		host    func(t *testing.T) *fakeconn.Host
		serving bool
		foreign int
		err     error
	}{
		{"deployed", deployed, true, 0, nil},
		{"empty host", fakeHost, false, 0, nil},
		{"web unhealthy", func(t *testing.T) *fakeconn.Host {
			h := deployed(t)
			h.Containers["web"].Health = "unhealthy"
			return h
		}, false, 0, nil},
		{"web of someone else", func(t *testing.T) *fakeconn.Host {
			h := deployed(t)
			h.Containers["web"].Labels = map[string]string{docker.LabelStack: "other"}
			return h
		}, false, 1, nil},
		{"docker refuses", func(t *testing.T) *fakeconn.Host {
			h := fakeHost(t)
			h.DockerErr = "docker-permission"
			return h
		}, false, 0, docker.ErrDockerPermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.host(t)
			before := snapshot(h)
			conn := fakeConn(h)
			st, err := Status(context.Background(), conn, shop(t), testOptions())
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("status: %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Serving(shop(t), testOptions()); got != tt.serving {
				t.Errorf("serving %v, want %v", got, tt.serving)
			}
			if got := len(st.Foreign(shop(t), testOptions())); got != tt.foreign {
				t.Errorf("%d foreign objects, want %d", got, tt.foreign)
			}
			if got := steps(conn.Calls()); !slices.Equal(got, []string{"observe peek"}) {
				t.Errorf("commands %q", got)
			}
			if snapshot(h) != before {
				t.Error("status changed the host")
			}
		})
	}
	if _, err := Status(context.Background(), fakeConn(fakeHost(t)), shop(t), Options{Stack: "a/b"}); err == nil {
		t.Error("status of a stack with a bad name")
	}
}

// TestHold: backup and restore hold the lock until they release it, and a
// deploy meanwhile finds it held.
func TestHold(t *testing.T) {
	h := deployed(t)
	conn := fakeConn(h)
	st, release, err := Hold(context.Background(), conn, shop(t), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Lock.Acquired || !h.IsDir(lockDir) {
		t.Fatal("Hold did not take the lock")
	}
	var held *LockHeldError
	if _, err := Deploy(context.Background(), fakeConn(h), shop(t, "greeting", "hi"), testOptions()); !errors.As(err, &held) {
		t.Errorf("deploy during a hold: %v", err)
	}
	release()
	if h.IsDir(lockDir) {
		t.Error("the lock is still held after release")
	}
	h.SetLock(stackDir, "alice", time.Now())
	if _, _, err := Hold(context.Background(), conn, shop(t), testOptions()); !errors.As(err, &held) {
		t.Errorf("hold of a held lock: %v", err)
	}
}

// objects is snapshot without container IDs and states.
func objects(h *fakeconn.Host) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(snapshot(h), "\n") {
		if f := strings.Fields(line); len(f) > 2 {
			line = f[0] + " " + f[1] + "\n"
		}
		b.WriteString(line)
	}
	return b.String()
}
