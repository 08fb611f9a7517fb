package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/internal/testimage"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// TestCancelAfterEachSwapStep replaces the test stack's web container again
// and again, each time cancelling the run right after one more step of the
// swap. Each time the old or the new version answers on its port once Deploy
// returns, the lock is free, and a rerun converges.
func TestCancelAfterEachSwapStep(t *testing.T) {
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Minute)
	defer stop()
	f := newSwapFixture(ctx, t)
	conn, opts, port, prefix := f.conn, f.opts, f.port, f.prefix
	load := func(greeting string) *playbooks.Playbook { return f.load(t, "greeting", greeting) }
	if _, err := Deploy(ctx, conn, load("g0"), opts); err != nil {
		t.Fatalf("first deploy: %v", err)
	}

	// One undisturbed replacement names the steps.
	var steps []string
	record := opts
	record.afterStep = func(step string) { steps = append(steps, step) }
	if _, err := Deploy(ctx, conn, load("g1"), record); err != nil {
		t.Fatalf("recorded deploy: %v", err)
	}
	want := []string{"moved aside", "env uploaded", "healthy", "ready", "backup removed"}
	if !slices.Equal(steps, want) {
		t.Fatalf("steps %q, want %q", steps, want)
	}

	serving := "g1"
	for i, step := range steps {
		t.Run(step, func(t *testing.T) {
			next := fmt.Sprintf("g%d", i+2)
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			o := opts
			o.afterStep = func(s string) {
				if s == step {
					cancel()
				}
			}
			_, err := Deploy(runCtx, conn, load(next), o)
			t.Logf("interrupted after %q: %v", step, err)
			body := get(t, "http://127.0.0.1:"+port+"/")
			if !strings.Contains(body, "greeting="+serving) && !strings.Contains(body, "greeting="+next) {
				t.Fatalf("after a cancel at %q web serves %q, want greeting %s or %s", step, body, serving, next)
			}
			st, err := Status(ctx, conn, load(next), opts)
			if err != nil {
				t.Fatal(err)
			}
			if st.Lock.Held {
				t.Error("the lock was not released")
			}
			if _, ok := st.Docker.Containers[playbooks.BackupName(prefix+"web")]; ok {
				t.Error("a backup was left behind")
			}
			if _, err := Deploy(ctx, conn, load(next), opts); err != nil {
				t.Fatalf("rerun: %v", err)
			}
			res, err := Deploy(ctx, conn, load(next), opts)
			if err != nil || !res.Plan.InSync() {
				t.Fatalf("after the rerun: %v, in sync %v", err, res != nil && res.Plan.InSync())
			}
			if body := get(t, "http://127.0.0.1:"+port+"/"); !strings.Contains(body, "greeting="+next) {
				t.Errorf("after the rerun web serves %q", body)
			}
			serving = next
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func pickPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// removeStack removes every container, network and volume named with prefix.
func removeStack(prefix string) {
	for _, kind := range []string{"container", "network", "volume"} {
		out, _ := exec.Command("docker", kind, "ls", "-aq", "--filter", "name="+prefix).Output()
		if kind != "container" {
			out, _ = exec.Command("docker", kind, "ls", "-q", "--filter", "name="+prefix).Output()
		}
		for _, id := range strings.Fields(string(out)) {
			if kind == "container" {
				_ = exec.Command("docker", "rm", "-f", id).Run()
			} else {
				_ = exec.Command("docker", kind, "rm", id).Run()
			}
		}
	}
}

// After a failed replacement, "previous version restored and serving" is
// only said once the old container is healthy and ready again.
func TestRollbackReportsOnlyWhenTheOldVersionIsReady(t *testing.T) {
	ctx, stop := context.WithTimeout(context.Background(), 5*time.Minute)
	defer stop()
	f := newSwapFixture(ctx, t)
	conn, opts, port, prefix := f.conn, f.opts, f.port, f.prefix
	load := func(failHealth string) *playbooks.Playbook { return f.load(t, "fail_health", failHealth) }
	if _, err := Deploy(ctx, conn, load("no"), opts); err != nil {
		t.Fatalf("first deploy: %v", err)
	}
	_, err := Deploy(ctx, conn, load("yes"), opts)
	var rolled *RolledBackError
	if !errors.As(err, &rolled) {
		t.Fatalf("deploy of a failing version: %v", err)
	}
	// Checked the moment Deploy returns: the restarted old container must
	// already be healthy (its check runs every second) and answering.
	out, err := exec.Command("docker", "inspect", "--format", "{{.State.Health.Status}}", prefix+"web").CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != "healthy" {
		t.Errorf("old web is %q (%v) when berth says it serves", got, err)
	}
	if body := get(t, "http://127.0.0.1:"+port+"/"); !strings.Contains(body, "greeting=") {
		t.Errorf("old web serves %q", body)
	}
}

// swapFixture is the test stack on a real sshd and the local engine, under a
// unique prefix, with one connection and the options every run shares.
type swapFixture struct {
	ref, prefix, port string
	conn              *remote.SSH
	opts              Options
}

func newSwapFixture(ctx context.Context, t *testing.T) *swapFixture {
	t.Helper()
	f := &swapFixture{ref: testimage.Build(t, "v1", "v1"), prefix: testimage.Unique(t), port: pickPort(t)}
	srv := sshtest.Start(t)
	t.Cleanup(func() { removeStack(f.prefix) })
	conn, err := remote.DialSSH(ctx, srv.Target(), srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f.conn = conn
	f.opts = Options{StateDir: t.TempDir(), Version: "test", LookupEnv: func(string) (string, bool) { return "", false }}
	return f
}

// load renders the test stack with one more variable set.
func (f *swapFixture) load(t *testing.T, key, value string) *playbooks.Playbook {
	t.Helper()
	pb, err := playbooks.Load(filepath.Join("..", "..", "cmd", "berth", "testdata", "stack.yaml"), map[string]string{
		"prefix": f.prefix, "image": f.ref, "web_image": f.ref, "web_port": f.port, key: value,
	})
	if err != nil {
		t.Fatal(err)
	}
	return pb
}
