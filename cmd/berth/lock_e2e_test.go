package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/testimage"
)

// waitFor polls until cond observes the state named by what, or fails the
// test after a minute: synchronisation on what the host shows, not on time.
func (e *stackEnv) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForLock blocks until a deploy holds the stack's lock on the host.
func (e *stackEnv) waitForLock(t *testing.T) {
	t.Helper()
	e.waitFor(t, "a deploy to take the lock", e.lockExists)
}

func containerExists(name string) bool {
	return exec.Command("docker", "container", "inspect", name).Run() == nil
}

func (e *stackEnv) lockExists() bool {
	_, err := os.Stat(filepath.Join(e.stateDir, e.prefix+"stack", "lock"))
	return err == nil
}

func TestConcurrentDeploysNeverInterleave(t *testing.T) {
	e := newStackEnv(t)
	var wg sync.WaitGroup
	var firstCode int
	var firstDone time.Time
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _, firstCode = berth(t, e.args("deploy")...)
		firstDone = time.Now()
	}()
	e.waitForLock(t)

	_, errOut, code := berth(t, e.args("deploy", "--lock-wait", "0")...)
	if code != exitLockHeld {
		t.Errorf("second deploy without waiting: exit %d, want %d", code, exitLockHeld)
	}
	if !strings.Contains(errOut, "deploy lock held") || !strings.Contains(errOut, "pid=") {
		t.Errorf("second deploy does not report the holder: %q", errOut)
	}

	out, errOut, code := berth(t, e.args("deploy", "--lock-wait", "2m", "--json")...)
	secondDone := time.Now()
	wg.Wait()
	if firstCode != 0 || code != 0 {
		t.Fatalf("exit codes %d and %d, want 0 and 0", firstCode, code)
	}
	if secondDone.Before(firstDone) {
		t.Error("the waiting deploy finished before the lock holder")
	}
	waited := false
	for _, ev := range events(t, out) {
		waited = waited || ev.Type == "lock" && ev.Data["status"] == "waiting" && strings.Contains(ev.Data["holder"].(string), "pid=")
	}
	if !waited {
		t.Error("the second deploy did not wait for the lock")
	}
	if c := summaries(t, out)[e.sshd.Target()].Data["changes"].(float64); c != 0 {
		t.Errorf("the waiting deploy applied %v changes after the first converged, want 0", c)
	}
	if e.lockExists() {
		t.Error("a lock was left behind")
	}
}

func TestSIGINTReleasesLockAndRerunConverges(t *testing.T) {
	e := newStackEnv(t)
	cmd := exec.Command(berthBinary(t), e.args("deploy")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Into the apply: db exists, and its health wait (1s interval) has begun.
	e.waitFor(t, "the apply to create db", func() bool { return containerExists(e.prefix + "db") })
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	t.Logf("interrupted berth: %v, exit %d\n%s", err, code, stderr.String())
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d", code, exitInterrupted)
	}
	if e.lockExists() {
		t.Fatal("SIGINT left the deploy lock behind")
	}
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("rerun exit %d", code)
	}
	if st, _ := httpDo(t, "GET", e.url("/"), ""); st != 200 {
		t.Fatalf("web answers %d after the rerun", st)
	}
}

func TestPullRecreatesOnlyTheRebuiltImage(t *testing.T) {
	e := newStackEnv(t)
	webImage := testimage.BuildRef(t, testimage.LocalRegistry+strings.TrimSuffix(e.prefix, "-")+"web:v1", "v1")
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", webImage).Run() })
	args := func(extra ...string) []string {
		return e.args("deploy", append([]string{"--var", "web_image=" + webImage}, extra...)...)
	}
	if _, _, code := berth(t, args()...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	db, web := containerID(t, e.prefix+"db"), containerID(t, e.prefix+"web")

	testimage.BuildRef(t, webImage, "v2")
	out, errOut, code := berth(t, args("--pull")...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "image updated") {
		t.Errorf("plan does not say the image was updated:\n%s", out)
	}
	if !strings.Contains(errOut, "keeping the local image") {
		t.Errorf("the failed pull (no registry) is not reported:\n%s", errOut)
	}
	if containerID(t, e.prefix+"db") != db {
		t.Error("db was recreated although its image did not change")
	}
	if containerID(t, e.prefix+"web") == web {
		t.Error("web was not recreated")
	}
	if _, body := httpDo(t, "GET", e.url("/"), ""); !strings.HasPrefix(body, "web v2") {
		t.Errorf("web serves %q, want v2", body)
	}
}

// makeLock leaves a lock as a run that died would: with holder info or
// without (killed between mkdir and writing it), last touched age ago.
func (e *stackEnv) makeLock(t *testing.T, holder string, age time.Duration) {
	t.Helper()
	lock := filepath.Join(e.stateDir, e.prefix+"stack", "lock")
	if err := os.MkdirAll(lock, 0o770); err != nil {
		t.Fatal(err)
	}
	then := time.Now().Add(-age)
	if holder != "" {
		info := filepath.Join(lock, "info")
		if err := os.WriteFile(info, []byte(holder+"\n"), 0o660); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(info, then, then)
	}
	os.Chtimes(lock, then, then)
}

func TestStaleLockIsBrokenByTheNextDeploy(t *testing.T) {
	tests := []struct {
		name, holder, want string
	}{
		{"with holder", "ghost@crashed pid=1 run=x", "broke the stale deploy lock held by ghost@crashed pid=1 run=x: no heartbeat for 1h"},
		{"without info", "", "broke the stale deploy lock held by a run that left no holder information: no heartbeat for 1h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newStackEnv(t)
			e.makeLock(t, tt.holder, time.Hour)
			_, errOut, code := berth(t, e.args("deploy", "--lock-stale", "30m")...)
			if code != 0 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("deploy against a stale lock: exit %d, want 0 and a warning %q", code, tt.want)
			}
			if e.lockExists() {
				t.Error("the deploy left a lock behind")
			}
			if st, _ := httpDo(t, "GET", e.url("/"), ""); st != 200 {
				t.Errorf("web answers %d", st)
			}
		})
	}
}

// A lock younger than --lock-stale is held, however old: 20m against 30m, so
// a limit read in the wrong unit (30 s, say) breaks it and fails the test.
func TestFreshLockIsNotBroken(t *testing.T) {
	for _, holder := range []string{"ghost@busy pid=1 run=x", ""} {
		t.Run("holder="+holder, func(t *testing.T) {
			e := newStackEnv(t)
			e.makeLock(t, holder, 20*time.Minute)
			_, errOut, code := berth(t, e.args("deploy", "--lock-stale", "30m")...)
			if code != exitLockHeld || !strings.Contains(errOut, "deploy lock held by") {
				t.Fatalf("deploy against a fresh lock: exit %d, want %d", code, exitLockHeld)
			}
			if !e.lockExists() {
				t.Error("a fresh lock was broken")
			}
		})
	}
}

func TestUnlockSaysWhatItRemoved(t *testing.T) {
	e := newStackEnv(t)
	lock := filepath.Join(e.stateDir, e.prefix+"stack", "lock")
	e.makeLock(t, "ghost@busy pid=1 run=x", time.Minute)
	// Taken an hour ago, last heartbeat (the info file) a minute ago: the age
	// said is the heartbeat's.
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(lock, hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	out, _, code := berth(t, e.args("unlock")...)
	if code != 0 || !strings.Contains(out, "removed the lock "+lock+" held by ghost@busy pid=1 run=x (last heartbeat 1m") {
		t.Fatalf("unlock: exit %d, %s", code, out)
	}
	if e.lockExists() {
		t.Fatal("the lock is still there")
	}
	if out, _, _ := berth(t, e.args("unlock")...); !strings.Contains(out, "no lock was held") {
		t.Errorf("unlock without a lock: %s", out)
	}
	e.makeLock(t, "", time.Minute)
	if out, _, _ := berth(t, e.args("unlock")...); !strings.Contains(out, "removed the lock "+lock+", which named no holder") || e.lockExists() {
		t.Errorf("unlock of a lock without info: %s", out)
	}
}

// A deploy killed outright (no chance to release its lock) does not wedge a
// schedule: once its heartbeat is older than --lock-stale, the next run breaks
// the lock, says whose it was, and converges, with no berth unlock.
func TestKilledDeployDoesNotWedgeTheNextRun(t *testing.T) {
	e := newStackEnv(t)
	cmd := exec.Command(berthBinary(t), e.args("deploy", "--lock-stale", "2s")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.waitForLock(t)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	t.Logf("killed berth:\n%s", stderr.String())
	assertNoSecrets(t, stderr.String())
	if !e.lockExists() {
		t.Fatal("the killed deploy left no lock: nothing to test")
	}
	// The host counts whole seconds: one more than --lock-stale is surely past it.
	e.waitLockOlderThan(t, 3*time.Second)

	_, errOut, code := berth(t, e.args("deploy", "--quiet", "--lock-stale", "2s")...)
	if code != 0 {
		t.Fatalf("scheduled run after the stale age: exit %d", code)
	}
	if !strings.Contains(errOut, "broke the stale deploy lock held by ") || !strings.Contains(errOut, fmt.Sprintf("pid=%d ", cmd.Process.Pid)) {
		t.Errorf("the broken lock's holder (pid %d) is not named: %s", cmd.Process.Pid, errOut)
	}
	if st, _ := httpDo(t, "GET", e.url("/"), ""); st != 200 {
		t.Errorf("web answers %d", st)
	}
	if e.lockExists() {
		t.Error("a lock was left behind")
	}
}

// waitLockOlderThan waits until the lock's heartbeat (its info file, else
// the directory) is older than age.
func (e *stackEnv) waitLockOlderThan(t *testing.T, age time.Duration) {
	t.Helper()
	lock := filepath.Join(e.stateDir, e.prefix+"stack", "lock")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		fi, err := os.Stat(filepath.Join(lock, "info"))
		if err != nil {
			fi, err = os.Stat(lock)
		}
		if err != nil || time.Since(fi.ModTime()) > age {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the lock's heartbeat kept going")
}

// A deploy that runs longer than --lock-stale keeps its lock: its heartbeat
// refreshes it, so a run that starts meanwhile waits (here: exits 3) instead
// of breaking it.
func TestLongDeployKeepsItsLock(t *testing.T) {
	e := newStackEnv(t)
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	// Make web's next start fail its ready probe (a wrong database password)
	// so the deploy waits, holding the lock, for the probe's 30 s.
	pw := filepath.Join(dockerOut(t, "volume", "inspect", "--format", "{{.Mountpoint}}", e.prefix+"db-data"), ".password")
	good, err := os.ReadFile(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("not-the-password"), 0o600); err != nil {
		t.Fatal(err)
	}
	dockerOut(t, "restart", e.prefix+"db")
	done := make(chan int)
	go func() {
		_, _, code := berth(t, e.args("deploy", "--lock-stale", "2s", "--var", "greeting=slow")...)
		done <- code
	}()
	e.waitForLock(t)
	lock := filepath.Join(e.stateDir, e.prefix+"stack", "lock")
	fi, err := os.Stat(lock)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the lock itself is older than the stale limit.
	for time.Since(fi.ModTime()) < 3*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	_, errOut, code := berth(t, e.args("deploy", "--lock-stale", "2s", "--lock-wait", "0")...)
	if code != exitLockHeld || strings.Contains(errOut, "broke") {
		t.Errorf("a run during a live deploy: exit %d, want %d (the lock kept by its heartbeat); stderr %s", code, exitLockHeld, errOut)
	} else if !e.lockExists() {
		t.Fatal("the long deploy ended before the check: nothing was tested")
	}
	// The database takes the right password again: the deploy finishes.
	if err := os.WriteFile(pw, good, 0o600); err != nil {
		t.Fatal(err)
	}
	dockerOut(t, "restart", e.prefix+"db")
	if code := <-done; code != 0 {
		t.Errorf("the long deploy: exit %d", code)
	}
}
