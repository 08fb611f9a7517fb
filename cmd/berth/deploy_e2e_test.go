package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/internal/testimage"
)

// stackEnv is one test stack deployed through a real sshd onto this machine's
// Docker engine, with its own name prefix, port and state directory.
type stackEnv struct {
	sshd     *sshtest.Server
	prefix   string
	port     string
	stateDir string
	shimLog  string // every docker argv run through sshd, one per line
	shimDir  string // see pauseDocker
}

func newStackEnv(t *testing.T, opts ...sshtest.Option) *stackEnv {
	t.Helper()
	testimage.Build(t, "v1", "v1")
	e := &stackEnv{prefix: testimage.Unique(t), port: freePort(t), stateDir: filepath.Join(t.TempDir(), "state")}
	// A docker shim first on sshd's PATH logs each docker argv, so the test
	// sees every command line berth caused on the host (what ps would show).
	// It also holds a docker subcommand while a pause file for it exists
	// (see pauseDocker), so a test can act in the middle of a step.
	shim := t.TempDir()
	e.shimDir = shim
	e.shimLog = filepath.Join(shim, "argv.log")
	real, err := exec.LookPath("docker")
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + e.shimLog + "\n" +
		"if [ -e " + shim + "/pause-$1 ]; then : > " + shim + "/paused-$1; while [ -e " + shim + "/pause-$1 ]; do sleep 0.05; done; fi\n" +
		"exec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(shim, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	opts = append(opts, sshtest.Config("SetEnv PATH="+shim+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
	e.sshd = sshtest.Start(t, opts...)
	cleanupStack(t, e.prefix)
	watchSecrets(t, e.stateDir)
	return e
}

func (e *stackEnv) args(cmd string, extra ...string) []string {
	return e.argsIn(e.stateDir, cmd, extra...)
}

// argsIn is args with another state directory; "" is berth's default.
func (e *stackEnv) argsIn(stateDir, cmd string, extra ...string) []string {
	a := append([]string{cmd}, sshFlags(e.sshd)...)
	a = append(a, "--playbook", "testdata/stack.yaml", "--var", "prefix="+e.prefix, "--var", "web_port="+e.port)
	if stateDir != "" {
		a = append(a, "--state-dir", stateDir)
	}
	return append(a, extra...)
}

// pauseDocker holds the next `docker SUBCOMMAND` run through sshd until
// release is called; wait returns once one is held.
func (e *stackEnv) pauseDocker(t *testing.T, subcommand string) (wait, release func()) {
	t.Helper()
	pause := filepath.Join(e.shimDir, "pause-"+subcommand)
	if err := os.WriteFile(pause, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	release = func() { os.Remove(pause) }
	t.Cleanup(release)
	wait = func() {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(e.shimDir, "paused-"+subcommand)); err == nil {
				return
			}
		}
		t.Fatalf("no docker %s was run", subcommand)
	}
	return wait, release
}

func (e *stackEnv) url(path string) string { return "http://127.0.0.1:" + e.port + path }

func TestDeployLifecycle(t *testing.T) {
	e := newStackEnv(t)
	db, web := e.prefix+"db", e.prefix+"web"

	t.Run("first deploy creates everything", func(t *testing.T) {
		out, errOut, code := berth(t, e.args("deploy")...)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		// Never silent while waiting: each wait is announced with its limit.
		for _, want := range []string{"waiting up to 35s for " + db + " to be healthy", "waiting up to 35s for " + web + " to be healthy",
			"waiting up to 30s for " + web + " to answer " + e.url("/kv/probe"), db + " is healthy (after"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		for _, want := range []string{"+ volume " + e.prefix + "db-data", "+ network " + e.prefix + "net", "+ container " + db, "+ container " + web} {
			if !strings.Contains(out, want) {
				t.Errorf("plan lacks %q", want)
			}
		}
		// README: a cold deploy costs 3 round trips (look, look under the
		// lock, one batch that applies everything and releases the lock).
		if row := textSummary(out, e.sshd.Target()); len(row) < 4 || row[1] != "5" || row[2] != "1" || row[3] != "3" {
			t.Errorf("summary row %q, want 5 changes, 1 connection, 3 round trips", row)
		}
		if st, body := httpDo(t, "GET", e.url("/"), ""); st != 200 || !strings.Contains(body, "greeting=hello") {
			t.Fatalf("web answers %d %q", st, body)
		}
		if st, body := httpDo(t, "PUT", e.url("/kv/post1"), "my first post"); st != 200 {
			t.Fatalf("write through web: %d %q", st, body)
		}
	})

	t.Run("second deploy changes nothing in one connection and one round trip", func(t *testing.T) {
		before := e.sshd.Connections()
		dbID, webID := containerID(t, db), containerID(t, web)
		out, _, code := berth(t, e.args("deploy", "--json")...)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		if got := e.sshd.Connections() - before; got != 1 {
			t.Errorf("sshd accepted %d connections, want 1", got)
		}
		sum := summaries(t, out)[e.sshd.Target()]
		// README: a run with nothing to change costs one connection and one round trip.
		if sum.Data["changes"].(float64) != 0 || sum.Data["round_trips"].(float64) != 1 || sum.Data["connections"].(float64) != 1 {
			t.Errorf("summary %+v, want 0 changes, 1 connection, 1 round trip", sum.Data)
		}
		if containerID(t, db) != dbID || containerID(t, web) != webID {
			t.Error("a container was recreated by a no-op deploy")
		}
		_, _, code = berth(t, e.args("plan")...)
		if code != 0 {
			t.Errorf("plan on a converged host exits %d, want 0", code)
		}
	})

	t.Run("one env var change recreates only that container", func(t *testing.T) {
		dbID, webID := containerID(t, db), containerID(t, web)
		out, _, code := berth(t, e.args("plan", "--var", "greeting=changed")...)
		if code != exitDrift || !strings.Contains(out, "env GREETING changed") {
			t.Fatalf("plan: exit %d, want %d and a reason naming GREETING", code, exitDrift)
		}
		out, _, code = berth(t, e.args("deploy", "--json", "--var", "greeting=changed")...)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		// --json: the waits are events, each naming host, container and phase.
		var waits []string
		for _, ev := range events(t, out) {
			if ev.Type == "wait" {
				waits = append(waits, fmt.Sprintf("%s %s %s %s", ev.Host, ev.Data["container"], ev.Data["phase"], ev.Data["status"]))
			}
		}
		h := e.sshd.Target()
		// README: a one-container change costs 3 round trips.
		if sum := summaries(t, out)[h]; sum.Data["round_trips"] != 3.0 || sum.Data["connections"] != 1.0 {
			t.Errorf("summary %+v, want 1 connection, 3 round trips", sum.Data)
		}
		if want := []string{h + " " + web + " health waiting", h + " " + web + " health ready", h + " " + web + " ready waiting", h + " " + web + " ready ready"}; !slices.Equal(waits, want) {
			t.Errorf("wait events %q, want %q", waits, want)
		}
		if containerID(t, db) != dbID {
			t.Error("db was recreated although only web changed")
		}
		if containerID(t, web) == webID {
			t.Error("web was not recreated")
		}
		if _, body := httpDo(t, "GET", e.url("/"), ""); !strings.Contains(body, "greeting=changed") {
			t.Errorf("web serves %q", body)
		}
	})

	t.Run("a new version that never gets healthy leaves the old one serving", func(t *testing.T) {
		webID := containerID(t, web)
		_, errOut, code := berth(t, e.args("deploy", "--var", "greeting=changed", "--var", "fail_health=yes")...)
		if code != exitFailure {
			t.Fatalf("exit %d, want %d", code, exitFailure)
		}
		if !strings.Contains(errOut, "previous version restored") {
			t.Errorf("stderr does not say the old version was restored: %q", errOut)
		}
		if containerID(t, web) != webID {
			t.Error("the old web container was not kept")
		}
		if st, body := httpDo(t, "GET", e.url("/"), ""); st != 200 || !strings.Contains(body, "greeting=changed") {
			t.Errorf("after rollback web answers %d %q", st, body)
		}
		if containerID(t, web+".berth-old") != "" {
			t.Error("a backup container was left behind")
		}
	})

	t.Run("status shows volume mountpoints", func(t *testing.T) {
		out, _, code := berth(t, e.args("status")...)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		mp := dockerOut(t, "volume", "inspect", "--format", "{{.Mountpoint}}", e.prefix+"db-data")
		if !strings.Contains(out, mp) {
			t.Errorf("status lacks the mountpoint %s", mp)
		}
		if !strings.Contains(out, "healthy") {
			t.Error("status lacks container health")
		}
		if want := "127.0.0.1:" + e.port + ":8080/tcp"; !strings.Contains(out, want) {
			t.Errorf("status lacks the published port %s", want)
		}
	})

	t.Run("data survives destroy and redeploy", func(t *testing.T) {
		if _, _, code := berth(t, e.args("destroy")...); code != 0 {
			t.Fatalf("destroy exit %d", code)
		}
		if containerID(t, db) != "" || containerID(t, web) != "" {
			t.Fatal("containers survived destroy")
		}
		dockerOut(t, "volume", "inspect", e.prefix+"db-data")
		if _, _, code := berth(t, e.args("deploy")...); code != 0 {
			t.Fatalf("redeploy exit %d", code)
		}
		// The stored password was reused: the db (which kept its first one) lets web in.
		if st, body := httpDo(t, "GET", e.url("/kv/post1"), ""); st != 200 || body != "my first post" {
			t.Fatalf("after destroy+deploy: %d %q", st, body)
		}
	})

	t.Run("secrets never on a command line or in output", func(t *testing.T) {
		stored, err := os.ReadFile(filepath.Join(e.stateDir, e.prefix+"stack", "secrets.env"))
		if err != nil {
			t.Fatal(err)
		}
		_, secret, _ := strings.Cut(strings.TrimSpace(string(stored)), "=")
		if len(secret) < 16 {
			t.Fatalf("stored secret too short: %d chars", len(secret))
		}
		// Host-wide: root and the docker group, nobody else.
		for path, want := range map[string]os.FileMode{
			e.stateDir: os.ModeDir | os.ModeSetgid | 0o770, filepath.Join(e.stateDir, e.prefix+"stack"): os.ModeDir | os.ModeSetgid | 0o770,
			filepath.Join(e.stateDir, e.prefix+"stack", "secrets.env"): 0o660, filepath.Join(e.stateDir, e.prefix+"stack", "key"): 0o660,
		} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != want {
				t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
			}
			if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != dockerGID(t) {
				t.Errorf("%s: group %d, want docker's %d", path, gid, dockerGID(t))
			}
		}
		argv, err := os.ReadFile(e.shimLog)
		if err != nil || !strings.Contains(string(argv), "run -d") {
			t.Fatalf("docker shim saw no docker run: %v", err)
		}
		if strings.Contains(string(argv), secret) {
			t.Error("a secret value appeared on a docker command line")
		}
		out, errOut, _ := berth(t, e.args("deploy", "--json", "--var", "greeting=again")...)
		if strings.Contains(out+errOut, secret) {
			t.Error("a secret value appeared in berth's output")
		}
	})

	t.Run("destroy --volumes removes the data", func(t *testing.T) {
		// The confirmation names every volume it would delete, on its host, with its size.
		h := e.sshd.Target()
		_, errOut, code := berth(t, e.args("destroy", "--volumes")...)
		if code != exitUsage || !strings.Contains(errOut, "--yes") {
			t.Fatalf("destroy --volumes without --yes: exit %d", code)
		}
		for _, v := range []string{"db-data", "web-content"} {
			if want := h + ": volume " + e.prefix + v + " (data deleted, holds "; !strings.Contains(errOut, want) {
				t.Errorf("confirmation lacks %q", want)
			}
		}
		// So does the plan.
		out, _, code := berth(t, e.args("destroy", "--volumes", "--dry-run")...)
		if want := h + ": - volume " + e.prefix + "db-data (data deleted, holds "; code != exitDrift || !strings.Contains(out, want) {
			t.Fatalf("destroy --volumes --dry-run: exit %d, plan lacks %q", code, want)
		}
		if _, _, code := berth(t, e.args("destroy", "--volumes", "--yes")...); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if out, err := exec.Command("docker", "volume", "inspect", e.prefix+"db-data").CombinedOutput(); err == nil {
			t.Fatalf("volume still exists: %s", out)
		}
	})
}

func TestHostileNamesRefused(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"$(reboot)", "a;b", "`id`", "a b"} {
		t.Run(name, func(t *testing.T) {
			pb := "name: x\ncontainers:\n  - name: " + quoteYAML(name) + "\n    image: busybox\n"
			path := filepath.Join(dir, "p.yaml")
			if err := os.WriteFile(path, []byte(pb), 0o644); err != nil {
				t.Fatal(err)
			}
			_, errOut, code := berth(t, "plan", "--local", "--playbook", path)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(errOut, "p.yaml:") {
				t.Errorf("error does not point into the file: %q", errOut)
			}
		})
	}
}

func quoteYAML(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func TestInterruptedReplacementIsSettled(t *testing.T) {
	e := newStackEnv(t)
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	web := e.prefix + "web"
	webID := containerID(t, web)
	// As if berth died right after moving web aside.
	dockerOut(t, "rename", web, web+".berth-old")
	dockerOut(t, "stop", web+".berth-old")
	_, errOut, code := berth(t, e.args("deploy")...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut, "restoring "+web) {
		t.Errorf("the restore is not reported: %s", errOut)
	}
	if containerID(t, web) != webID {
		t.Error("the backup was not restored; a new container was made instead")
	}
	if containerID(t, web+".berth-old") != "" {
		t.Error("the backup is still there")
	}
	if st, _ := httpDo(t, "GET", e.url("/"), ""); st != 200 {
		t.Errorf("web answers %d", st)
	}
	out, _, code := berth(t, e.args("plan")...)
	if code != 0 {
		t.Errorf("plan after settling: exit %d\n%s", code, out)
	}
}

// textSummary is the fields of host's row in the text summary table (HOST
// CHANGES CONNECTIONS ROUND TRIPS DURATION RESULT).
func textSummary(stdout, host string) []string {
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) == 6 && f[0] == host {
			return f
		}
	}
	return nil
}
