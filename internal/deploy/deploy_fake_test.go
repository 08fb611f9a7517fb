package deploy

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/fakeconn"
	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/remote"
)

// TestDeployConverges: each deploy sends exactly the commands its plan
// needs, leaves the host running what the playbook says, touches nothing
// else, and frees the lock.
func TestDeployConverges(t *testing.T) {
	swapWeb := []string{"swap-out web", "upload web.env", "wait web run", "docker rm web.berth-old"}
	tests := []struct {
		name    string
		host    func(t *testing.T) *fakeconn.Host
		vars    []string
		opts    func(o *Options)
		steps   []string
		applied int
		changes int               // in the plan returned
		running map[string]string // container -> image, every running one
		same    []string          // containers that must keep their ID
		check   func(t *testing.T, h *fakeconn.Host)
	}{
		{
			name: "cold", host: fakeHost,
			steps: []string{"observe peek", "observe take", "upload secrets.env", "docker volume create data", "docker network create net",
				"upload db.env", "wait db run", "upload web.env", "wait web run", "release"},
			applied: 4, changes: 4, running: map[string]string{"db": "db:1", "web": "web:1"},
			check: func(t *testing.T, h *fakeconn.Host) {
				if b, _ := h.ReadFile(stackDir + "/secrets.env"); !strings.HasPrefix(string(b), "db_password=") {
					t.Errorf("stored secrets %q", b)
				}
				if b, _ := h.ReadFile(stackDir + "/key"); len(b) != 64 {
					t.Errorf("digest key %q", b)
				}
				h.Do(func(h *fakeconn.Host) {
					if h.Volumes["data"].Labels[docker.LabelStack] != "shop" || h.Networks["net"].Labels[docker.LabelStack] != "shop" {
						t.Errorf("volume or network not labelled with the stack")
					}
				})
			},
		},
		{
			name: "no-op costs one round trip", host: deployed,
			steps: []string{"observe peek"}, running: map[string]string{"db": "db:1", "web": "web:1"}, same: []string{"db", "web"},
		},
		{
			name: "one container changed", host: deployed, vars: []string{"greeting", "hi"},
			steps:   slices.Concat([]string{"observe peek", "observe take"}, swapWeb, []string{"release"}),
			applied: 1, changes: 1, running: map[string]string{"db": "db:1", "web": "web:1"}, same: []string{"db"},
		},
		{
			name: "dry run changes nothing", host: deployed, vars: []string{"greeting", "hi"}, opts: func(o *Options) { o.DryRun = true },
			steps: []string{"observe peek"}, changes: 1, running: map[string]string{"db": "db:1", "web": "web:1"}, same: []string{"db", "web"},
		},
		{
			name: "stopped container is started", host: func(t *testing.T) *fakeconn.Host {
				h := deployed(t)
				h.Containers["web"].Status = "exited"
				return h
			},
			steps:   []string{"observe peek", "observe take", "wait web start", "release"},
			applied: 1, changes: 1, running: map[string]string{"db": "db:1", "web": "web:1"}, same: []string{"db", "web"},
		},
		{
			name: "orphan removed", host: func(t *testing.T) *fakeconn.Host {
				h := deployed(t)
				h.Containers["cache"] = &fakeconn.Container{ID: "c0", Name: "cache", Image: "db:1", Status: "running", Labels: map[string]string{docker.LabelStack: "shop"}}
				return h
			},
			steps:   []string{"observe peek", "observe take", "docker rm cache", "release"},
			applied: 1, changes: 1, running: map[string]string{"db": "db:1", "web": "web:1"}, same: []string{"db", "web"},
		},
		{
			name: "pull brings a new image under the same tag", host: func(t *testing.T) *fakeconn.Host {
				h := deployed(t)
				h.Registry["db:1"], h.Registry["web:1"] = "sha256:d1", "sha256:w1b"
				return h
			},
			opts:    func(o *Options) { o.Pull = true },
			steps:   slices.Concat([]string{"observe peek", "observe take"}, swapWeb, []string{"release"}),
			applied: 1, changes: 1, running: map[string]string{"db": "db:1", "web": "web:1"}, same: []string{"db"},
			check: func(t *testing.T, h *fakeconn.Host) {
				if id := h.Containers["web"].ImageID; id != "sha256:w1b" {
					t.Errorf("web runs image %s, want the pulled sha256:w1b", id)
				}
			},
		},
		{
			name: "failed pull keeps the local image", host: deployed, opts: func(o *Options) { o.Pull = true },
			steps: []string{"observe peek"}, running: map[string]string{"db": "db:1", "web": "web:1"}, same: []string{"db", "web"},
		},
		{
			name: "rotated secret recreates its users", host: deployed,
			opts: func(o *Options) {
				o.LookupEnv = func(k string) (string, bool) { return "rotated", k == "BERTH_SECRET_DB_PASSWORD" }
			},
			steps: []string{"observe peek", "observe take", "upload secrets.env",
				"swap-out db", "upload db.env", "wait db run", "docker rm db.berth-old",
				"swap-out web", "upload web.env", "wait web run", "docker rm web.berth-old", "release"},
			applied: 2, changes: 2, running: map[string]string{"db": "db:1", "web": "web:1"},
			check: func(t *testing.T, h *fakeconn.Host) {
				if b, _ := h.ReadFile(stackDir + "/secrets.env"); string(b) != "db_password=rotated\n" {
					t.Errorf("stored secrets %q", b)
				}
				if b, _ := h.ReadFile(stackDir + "/web.env"); string(b) != "DB_PASSWORD=rotated\n" {
					t.Errorf("web's env file %q", b)
				}
			},
		},
		{
			name: "secrets moved from the old per-user place", host: func(t *testing.T) *fakeconn.Host {
				h := fakeHost(t)
				h.Home = "/home/ops"
				h.Files["/home/ops/.berth/shop/secrets.env"] = &fakeconn.File{Data: []byte("db_password=old\n")}
				return h
			},
			steps: []string{"observe peek", "observe take", "docker volume create data", "docker network create net",
				"upload db.env", "wait db run", "upload web.env", "wait web run", "release"},
			applied: 4, changes: 4, running: map[string]string{"db": "db:1", "web": "web:1"},
			check: func(t *testing.T, h *fakeconn.Host) {
				if b, _ := h.ReadFile(stackDir + "/secrets.env"); string(b) != "db_password=old\n" {
					t.Errorf("stored secrets %q, want the old file's", b)
				}
				if _, ok := h.ReadFile("/home/ops/.berth/shop/secrets.env.migrated"); !ok {
					t.Error("the old file was not kept as .migrated")
				}
			},
		},
		{
			name: "adopt replaces an unlabelled container", host: func(t *testing.T) *fakeconn.Host {
				h := deployed(t)
				h.Containers["web"].Labels = map[string]string{}
				return h
			},
			opts:    func(o *Options) { o.Adopt = true },
			steps:   slices.Concat([]string{"observe peek", "observe take"}, swapWeb, []string{"release"}),
			applied: 1, changes: 1, running: map[string]string{"db": "db:1", "web": "web:1"}, same: []string{"db"},
			check: func(t *testing.T, h *fakeconn.Host) {
				if h.Containers["web"].Labels[docker.LabelStack] != "shop" {
					t.Error("adopted web is not labelled")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.host(t)
			ids := map[string]string{}
			for _, name := range tt.same {
				ids[name] = containerID(h, name)
			}
			opts := testOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			conn := fakeConn(h)
			res, err := Deploy(context.Background(), conn, shop(t, tt.vars...), opts)
			if err != nil {
				t.Fatalf("deploy: %v", err)
			}
			if got := steps(conn.Calls()); !slices.Equal(got, tt.steps) {
				t.Errorf("commands:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.steps, "\n  "))
			}
			if res.Applied != tt.applied || res.Plan.Changes() != tt.changes {
				t.Errorf("applied %d of %d changes, want %d of %d", res.Applied, res.Plan.Changes(), tt.applied, tt.changes)
			}
			// Nothing to do: the look without the lock. Anything to do: that,
			// the look under the lock, and one batch for all of it.
			trips := 1
			if len(tt.steps) > 1 {
				trips = 3
			}
			if res.Stats != conn.Stats() || res.Stats.RoundTrips() != trips {
				t.Errorf("result counts %+v, the host saw %+v, want %d round trips", res.Stats, conn.Stats(), trips)
			}
			st := stateOf(h)
			if !maps.Equal(st.images, tt.running) || len(st.others) > 0 || st.locked {
				t.Errorf("host runs %v (others %v, locked %v), want %v, unlocked", st.images, st.others, st.locked, tt.running)
			}
			for name, id := range ids {
				if got := containerID(h, name); got != id {
					t.Errorf("%s was replaced (%s -> %s)", name, id, got)
				}
			}
			if tt.check != nil {
				tt.check(t, h)
			}
		})
	}
}

// TestDeployConvergesOnce: after any of the deploys above, a second run
// with the same playbook changes nothing, in one round trip.
func TestDeployConvergesOnce(t *testing.T) {
	for _, vars := range [][]string{nil, {"greeting", "hi"}, {"web", "web:2"}} {
		h := deployedWith(t, vars...)
		conn := fakeConn(h)
		res, err := Deploy(context.Background(), conn, shop(t, vars...), testOptions())
		if err != nil || res.Applied != 0 || res.Stats.RoundTrips() != 1 {
			t.Errorf("vars %v: second run: %v, applied %d in %d round trips", vars, err, res.Applied, res.Stats.RoundTrips())
		}
	}
}

// TestDeployStopsBeforeChanging: what a deploy refuses, it refuses before
// it changes anything on the host.
func TestDeployStopsBeforeChanging(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *fakeconn.Host, c *fakeconn.Conn)
		opts  func(o *Options)
		steps []string
		want  func(err error) bool
	}{
		{"docker missing", func(h *fakeconn.Host, _ *fakeconn.Conn) { h.DockerErr = "docker-not-found" }, nil,
			[]string{"observe peek"}, func(err error) bool { return errors.Is(err, docker.ErrDockerNotFound) }},
		{"docker refuses the user", func(h *fakeconn.Host, _ *fakeconn.Conn) { h.DockerErr = "docker-permission" }, nil,
			[]string{"observe peek"}, func(err error) bool { return errors.Is(err, docker.ErrDockerPermission) }},
		{"foreign container", func(h *fakeconn.Host, _ *fakeconn.Conn) {
			h.Containers["web"] = &fakeconn.Container{ID: "x", Name: "web", Image: "web:1", Status: "running", Labels: map[string]string{}}
		}, nil, []string{"observe peek"}, func(err error) bool { var f *plan.ForeignError; return errors.As(err, &f) }},
		{"volume of another stack", func(h *fakeconn.Host, _ *fakeconn.Conn) {
			h.Volumes["data"] = &fakeconn.Volume{Labels: map[string]string{docker.LabelStack: "other"}}
		}, func(o *Options) { o.Adopt = true }, []string{"observe peek"}, func(err error) bool { var f *plan.ForeignError; return errors.As(err, &f) }},
		{"data without its secrets", func(h *fakeconn.Host, _ *fakeconn.Conn) {
			h.Volumes["data"] = &fakeconn.Volume{Labels: map[string]string{docker.LabelStack: "shop"}}
		}, nil, []string{"observe peek"}, func(err error) bool { var m *SecretsMissingError; return errors.As(err, &m) }},
		{"bad secret from the environment", nil, func(o *Options) {
			o.LookupEnv = func(k string) (string, bool) { return "two\nlines", true }
		}, []string{"observe peek"}, func(err error) bool { return err != nil && !strings.Contains(err.Error(), "two") }},
		{"state directory not writable", func(h *fakeconn.Host, _ *fakeconn.Conn) {
			h.Dirs[DefaultStateDir], h.Denied[DefaultStateDir] = time.Time{}, true
		}, nil, []string{"observe peek", "observe take"}, func(err error) bool {
			var d *StateDirError
			return errors.As(err, &d) && !d.Missing && d.User == "root"
		}},
		{"state directory cannot be made", func(h *fakeconn.Host, _ *fakeconn.Conn) {
			h.User, h.Dirs["/var/lib"], h.Denied["/var/lib"] = "ops", time.Time{}, true
		}, nil, []string{"observe peek", "observe take"}, func(err error) bool {
			var d *StateDirError
			return errors.As(err, &d) && d.Missing && d.User == "ops"
		}},
		{"pull fails and no local image", func(h *fakeconn.Host, _ *fakeconn.Conn) { delete(h.Images, "db:1") }, func(o *Options) { o.Pull = true },
			[]string{"observe peek"}, func(err error) bool { return err != nil && strings.Contains(err.Error(), "pull db:1") }},
		{"bad stack name", nil, func(o *Options) { o.Stack = "../etc" }, nil, func(err error) bool { return err != nil }},
		{"docker fails after the lock was taken", func(h *fakeconn.Host, c *fakeconn.Conn) {
			c.Before = func(_ context.Context, call fakeconn.Call) error {
				if steps([]fakeconn.Call{call})[0] == "observe take" {
					h.Do(func(h *fakeconn.Host) { h.DockerErr = "docker-unavailable" })
				}
				return nil
			}
		}, nil, []string{"observe peek", "observe take", "release"}, func(err error) bool { return errors.Is(err, docker.ErrDockerUnavailable) }},
		{"observe fails", func(_ *fakeconn.Host, c *fakeconn.Conn) { c.Before = failOn("observe peek") }, nil, []string{"observe peek"}, func(err error) bool {
			var x *remote.ExitError
			return errors.As(err, &x)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeHost(t)
			conn := fakeConn(h)
			if tt.setup != nil {
				tt.setup(h, conn)
			}
			before := snapshot(h)
			opts := testOptions()
			if tt.opts != nil {
				tt.opts(&opts)
			}
			_, err := Deploy(context.Background(), conn, shop(t), opts)
			if !tt.want(err) {
				t.Errorf("deploy: %v", err)
			}
			if got := steps(conn.Calls()); !slices.Equal(got, tt.steps) {
				t.Errorf("commands %q, want %q", got, tt.steps)
			}
			if after := snapshot(h); after != before {
				t.Errorf("the host changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

// snapshot names every Docker object and the lock, for "nothing changed".
func snapshot(h *fakeconn.Host) string {
	var b strings.Builder
	h.Do(func(h *fakeconn.Host) {
		for _, n := range slices.Sorted(maps.Keys(h.Containers)) {
			c := h.Containers[n]
			b.WriteString("container " + n + " " + c.ID + " " + c.Status + "\n")
		}
		for _, n := range slices.Sorted(maps.Keys(h.Volumes)) {
			b.WriteString("volume " + n + "\n")
		}
		for _, n := range slices.Sorted(maps.Keys(h.Networks)) {
			b.WriteString("network " + n + "\n")
		}
		_, locked := h.Dirs[lockDir]
		if locked {
			b.WriteString("locked\n")
		}
	})
	return b.String()
}
