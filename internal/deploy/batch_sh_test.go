package deploy

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// stubDocker is a docker for sh that logs its argv and answers from files:
// run fails for a container named in fail-run; inspect says "running
// healthy", or "running unhealthy" while a container's name is in unhealthy
// (rename to it clears that: it is the restored old one).
const stubDocker = `#!/bin/sh
d=$(dirname "$0")
echo "$*" >>"$d/log"
case "$1" in
run)
	for a do [ "$p" = --name ] && n=$a; p=$a; done
	grep -qx "$n" "$d/fail-run" 2>/dev/null && { echo "docker: Error response from daemon: port is already allocated." >&2; exit 125; }
	exit 0 ;;
inspect)
	for a do n=$a; done
	grep -qx "$n" "$d/unhealthy" 2>/dev/null && { echo "running unhealthy"; exit 0; }
	echo "running healthy" ;;
rename) grep -vx "$3" "$d/unhealthy" >"$d/u2" 2>/dev/null; mv -f "$d/u2" "$d/unhealthy" ;;
esac
exit 0
`

// TestBatchScriptInSh runs the real batchScript in sh, with a docker that
// only logs and answers, through the same applier and executor as a deploy,
// and checks the steps it took are the ones fakeconn's model of it takes
// (TestDeployConverges, TestDeployRollback, TestDeployMultiNetwork), its
// errors are the ones a deploy reports, and the lock is released.
func TestBatchScriptInSh(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	pb := shop(t)
	pb.Containers[1].Ready = nil // no probe: nothing listens here
	tests := []struct {
		name     string
		actions  func(t *testing.T) []plan.Action
		unhealth string // a container that comes up unhealthy
		failRun  string
		log      []string // docker commands, by their first two words and last
		err      func(error) bool
	}{
		{
			name:    "cold",
			actions: func(t *testing.T) []plan.Action { return plan.Compute("shop", pb, nil, plan.Options{}).Actions },
			log:     []string{"volume create data", "network create net", "run -d db:1", "inspect --format db", "run -d web:1", "inspect --format web"},
		},
		{
			name:     "replace rolls back",
			actions:  func(t *testing.T) []plan.Action { return []plan.Action{recreate(pb, 1)} },
			unhealth: "web",
			log: []string{"rm -f web.berth-old", "rename web web.berth-old", "stop web.berth-old", "run -d web:1", "inspect --format web",
				"logs --tail web", "rm -f web", "rename web.berth-old web", "start web", "inspect --format web"},
			err: func(err error) bool { var r *RolledBackError; return errors.As(err, &r) && isNotReady(err) },
		},
		{
			name:    "replace whose run fails rolls back",
			actions: func(t *testing.T) []plan.Action { return []plan.Action{recreate(pb, 1)} },
			failRun: "web",
			log: []string{"rm -f web.berth-old", "rename web web.berth-old", "stop web.berth-old", "run -d web:1",
				"rm -f web", "rename web.berth-old web", "start web", "inspect --format web"},
			err: func(err error) bool {
				var r *RolledBackError
				return errors.As(err, &r) && strings.Contains(err.Error(), "port is already allocated")
			},
		},
		{
			name:     "create that never gets healthy is removed",
			actions:  func(t *testing.T) []plan.Action { return plan.Compute("shop", pb, nil, plan.Options{}).Actions[2:3] },
			unhealth: "db",
			log:      []string{"run -d db:1", "inspect --format db", "logs --tail db", "rm -f db"},
			err:      isNotReady,
		},
		{
			name: "replace succeeds",
			actions: func(t *testing.T) []plan.Action {
				return []plan.Action{recreate(pb, 1)}
			},
			log: []string{"rm -f web.berth-old", "rename web web.berth-old", "stop web.berth-old", "run -d web:1", "inspect --format web", "rm -f web.berth-old"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := t.TempDir()
			if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(stubDocker), 0o755); err != nil {
				t.Fatal(err)
			}
			for file, name := range map[string]string{"unhealthy": tt.unhealth, "fail-run": tt.failRun} {
				if name != "" {
					if err := os.WriteFile(filepath.Join(bin, file), []byte(name+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
			dir := t.TempDir()
			info := "test run=1"
			if err := os.MkdirAll(dir+"/lock", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dir+"/lock/info", []byte(info+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}

			conn := remote.NewLocal(false)
			p := &plan.Plan{Stack: "shop", Actions: tt.actions(t)}
			secrets := map[string]string{"db_password": "s3cret"}
			a := &applier{conn: conn, stack: "shop", dir: dir, secrets: secrets, digests: map[string]string{}, rep: ui.Host{R: ui.Or(nil), Name: "local"}}
			ops := newBatch(dir, info)
			ops.file(dir+"/secrets.env", 0o660)
			if err := ops.actions(a, p); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			b := startBatch(ctx, conn, batchBound(p, remote.DefaultCommandTimeout), remote.DefaultCommandTimeout, ops.args)
			a.x = b
			err := b.upload(ctx, dir+"/secrets.env", docker.EnvFile(secrets), 0o660)
			if err == nil {
				_, err = a.apply(ctx, p)
			}
			released, relErr := b.finish(ctx)
			if !released || relErr != nil {
				t.Errorf("lock released %v: %v", released, relErr)
			}
			if _, statErr := os.Stat(dir + "/lock"); !os.IsNotExist(statErr) {
				t.Errorf("the lock is still there: %v", statErr)
			}
			switch {
			case tt.err == nil && err != nil:
				t.Errorf("apply: %v", err)
			case tt.err != nil && !tt.err(err):
				t.Errorf("apply: %v: not the expected error", err)
			}
			b2, _ := os.ReadFile(filepath.Join(bin, "log"))
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(string(b2)), "\n") {
				f := strings.Fields(line)
				if len(f) > 2 {
					f = []string{f[0], f[1], f[len(f)-1]}
				}
				got = append(got, strings.Join(f, " "))
			}
			if !slices.Equal(got, tt.log) {
				t.Errorf("docker commands:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.log, "\n  "))
			}
			if s, _ := os.ReadFile(dir + "/secrets.env"); string(s) != "db_password=s3cret\n" {
				t.Errorf("secrets.env %q", s)
			}
			if tt.name == "cold" {
				st, err := os.Stat(dir + "/web.env")
				if b, _ := os.ReadFile(dir + "/web.env"); err != nil || string(b) != "DB_PASSWORD=s3cret\n" || st.Mode().Perm() != 0o600 {
					t.Errorf("web.env %q (%v), want its secret, 0600", b, err)
				}
			}
		})
	}
}

// recreate is a plan action that replaces pb's container i, which runs.
func recreate(pb *playbooks.Playbook, i int) plan.Action {
	c := &pb.Containers[i]
	return plan.Action{Kind: plan.Recreate, Object: plan.Container, Name: c.Name, Container: c,
		Current: &docker.ContainerState{Name: c.Name, Running: true}}
}

// A batch script that stops on its own (here: an operation it does not
// know) ends the session with an error; berth never waits for it forever,
// also where the session's end waits for its stdin (the local connection).
func TestBatchScriptThatStopsEndsTheSession(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	done := make(chan error, 1)
	go func() {
		ctx := context.Background()
		b := startBatch(ctx, remote.NewLocal(false), time.Minute, time.Minute, []string{t.TempDir(), "info", "bogus"})
		err := b.checkpoint(ctx, 0)
		if released, _ := b.finish(ctx); released {
			err = errors.New("released by a script that stopped")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "ended early") {
			t.Errorf("checkpoint: %v, want the batch ended early", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("still waiting for a script that stopped a minute ago")
	}
}
