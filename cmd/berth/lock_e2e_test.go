package main

import (
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
	if !strings.Contains(out, "waiting for the deploy lock") {
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

func TestUnlockBreaksAStaleLock(t *testing.T) {
	e := newStackEnv(t)
	lock := filepath.Join(e.stateDir, e.prefix+"stack", "lock")
	if err := os.MkdirAll(lock, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lock, "info"), []byte("ghost@crashed pid=1 run=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(lock, old, old)
	_, errOut, code := berth(t, e.args("deploy", "--lock-stale", "30m")...)
	if code != exitLockHeld || !strings.Contains(errOut, "stale") || !strings.Contains(errOut, "ghost@crashed") {
		t.Fatalf("deploy against a stale lock: exit %d, %s", code, errOut)
	}
	out, _, code := berth(t, e.args("unlock")...)
	if code != 0 || !strings.Contains(out, "removed the lock held by ghost@crashed") {
		t.Fatalf("unlock: exit %d, %s", code, out)
	}
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("deploy after unlock: exit %d", code)
	}
}
