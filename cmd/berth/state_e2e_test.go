package main

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/internal/testenv"
)

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// useDefaultStateDir lets a test use berth's real default state directory:
// the stack's directory goes when the test ends, and the root too when the
// test made it.
func useDefaultStateDir(t *testing.T, stack string) string {
	t.Helper()
	dir := filepath.Join(deploy.DefaultStateDir, stack)
	madeRoot := !exists(deploy.DefaultStateDir)
	t.Cleanup(func() {
		os.RemoveAll(dir)
		if madeRoot {
			os.Remove(deploy.DefaultStateDir)
		}
	})
	watchSecrets(t, dir)
	return dir
}

func homeDir(t testing.TB) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.HomeDir
}

// plan, status and destroy --dry-run only read: no state directory, no lock,
// no moved secrets, whatever the state directory setting.
func TestReadOnlyCommandsWriteNothing(t *testing.T) {
	e := newStackEnv(t)
	stack := e.prefix + "stack"
	hostWide := useDefaultStateDir(t, stack)
	legacy := filepath.Join(homeDir(t), ".berth", stack)
	t.Cleanup(func() { os.RemoveAll(legacy) })
	fresh := filepath.Join(t.TempDir(), "fresh")
	rootBefore := exists(deploy.DefaultStateDir)
	for _, stateDir := range []string{fresh, ""} {
		for _, cmd := range [][]string{{"plan"}, {"status"}, {"destroy", "--dry-run"}, {"deploy", "--dry-run"}} {
			if _, _, code := berth(t, e.argsIn(stateDir, cmd[0], cmd[1:]...)...); code != 0 && code != exitDrift {
				t.Errorf("%v: exit %d", cmd, code)
			}
		}
	}
	for _, path := range []string{fresh, hostWide, legacy} {
		if exists(path) {
			t.Errorf("a read-only command made %s", path)
		}
	}
	if !rootBefore && exists(deploy.DefaultStateDir) {
		t.Errorf("a read-only command made %s", deploy.DefaultStateDir)
	}
}

// Secrets a berth before host-wide state kept in the login user's home are
// used, and moved by the first deploy with a line saying so; plan only says
// they will be.
func TestSecretsMoveFromTheOldPerUserPlace(t *testing.T) {
	e := newStackEnv(t)
	stack := e.prefix + "stack"
	hostWide := useDefaultStateDir(t, stack)
	legacy := filepath.Join(homeDir(t), ".berth", stack)
	t.Cleanup(func() { os.RemoveAll(legacy) })
	watchSecrets(t, legacy)
	old := randomSecret(t)
	if err := os.MkdirAll(legacy, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(legacy, "secrets.env"), []byte("db_password="+old+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, errOut, code := berth(t, e.argsIn("", "plan")...)
	if code != exitDrift || !strings.Contains(errOut, "secrets are stored in "+legacy+"/secrets.env; a deploy moves them to "+hostWide) {
		t.Errorf("plan: exit %d, want %d and a line about the move", code, exitDrift)
	}
	if exists(hostWide) || !exists(filepath.Join(legacy, "secrets.env")) {
		t.Fatal("plan moved the secrets")
	}

	_, errOut, code = berth(t, e.argsIn("", "deploy")...)
	if code != 0 {
		t.Fatalf("deploy: exit %d", code)
	}
	if !strings.Contains(errOut, "moved the stored secrets from "+legacy+"/secrets.env to "+hostWide+"/secrets.env") {
		t.Error("the move is not reported")
	}
	b, err := os.ReadFile(filepath.Join(hostWide, "secrets.env"))
	if err != nil || string(b) != "db_password="+old+"\n" {
		t.Errorf("host-wide secrets.env does not hold the old value (err %v)", err)
	}
	if exists(filepath.Join(legacy, "secrets.env")) || !exists(filepath.Join(legacy, "secrets.env.migrated")) {
		t.Error("the old file was not set aside")
	}
	if containerEnv(t, e.prefix+"db", "DB_PASSWORD") != old {
		t.Error("db does not run with the moved secret")
	}
	if _, errOut, code := berth(t, e.argsIn("", "deploy")...); code != 0 || strings.Contains(errOut, "moved") {
		t.Errorf("second deploy: exit %d, stderr %s", code, errOut)
	}
}

// berthbob is a second Unix user on this machine, in the docker group (as
// docker-group operators are), made once. Its password field is "*", not
// locked: sshd without PAM refuses a locked account even for keys.
func berthbob(t *testing.T) string {
	t.Helper()
	const name = "berthbob"
	if os.Geteuid() != 0 {
		testenv.Missing(t, "user "+name, "the tests run as root to create it")
	}
	cmd := exec.Command("useradd", "--create-home", "--shell", "/bin/sh", "--groups", "docker", "--password", "*", name)
	if _, err := user.Lookup(name); err == nil {
		cmd = exec.Command("usermod", "--groups", "docker", "--password", "*", name)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Missing(t, "user "+name, string(out))
	}
	return name
}

// Two users on one host deploy one stack: root (as with --sudo) and a docker
// group member. They share one lock and one set of secrets.
func TestTwoUsersShareOneLockAndOneSecretSet(t *testing.T) {
	bob := berthbob(t)
	e := newStackEnv(t)
	sshd := sshtest.Start(t, sshtest.LoginUser(bob))
	stack := e.prefix + "stack"
	hostWide := useDefaultStateDir(t, stack)
	as := func(login, cmd string, extra ...string) []string {
		a := []string{cmd, "--host", login + "@" + sshd.Addr, "--identity", sshd.ClientKeyPath, "--known-hosts", sshd.KnownHostsPath,
			"--ssh-config", "none", "--playbook", "testdata/stack.yaml", "--var", "prefix=" + e.prefix, "--var", "web_port=" + e.port}
		return append(a, extra...)
	}

	// Without the root directory, bob (no sudo) is told how to get one.
	elsewhere := "/var/lib/berth-test-" + strings.TrimSuffix(e.prefix, "-")
	t.Cleanup(func() { os.RemoveAll(elsewhere) })
	_, errOut, code := berth(t, as(bob, "deploy", "--state-dir", elsewhere)...)
	if code != exitFailure || !strings.Contains(errOut, elsewhere+" does not exist and "+bob+" cannot create it") ||
		!strings.Contains(errOut, "sudo install -d -m 2770 -g docker "+elsewhere) || !strings.Contains(errOut, "--sudo") {
		t.Errorf("bob without a state directory: exit %d, want %d and how to make one", code, exitFailure)
	}

	// root deploys; meanwhile bob finds the same lock.
	done := make(chan int)
	go func() {
		_, _, code := berth(t, as("root", "deploy")...)
		done <- code
	}()
	lock := filepath.Join(hostWide, "lock")
	for !exists(lock) {
		select {
		case code := <-done:
			t.Fatalf("root's deploy ended (exit %d) before bob looked", code)
		default:
			time.Sleep(10 * time.Millisecond)
		}
	}
	_, errOut, code = berth(t, as(bob, "deploy", "--lock-wait", "0")...)
	if code != exitLockHeld || !strings.Contains(errOut, "deploy lock held by") {
		t.Errorf("bob during root's deploy: exit %d, want %d", code, exitLockHeld)
	}
	out, _, code := berth(t, as(bob, "deploy", "--lock-wait", "2m", "--json")...)
	if rootCode := <-done; rootCode != 0 || code != 0 {
		t.Fatalf("exit codes: root %d, bob %d", rootCode, code)
	}
	if c := summaries(t, out)[bob+"@"+sshd.Addr].Data["changes"]; c != 0.0 {
		t.Errorf("bob's deploy after root's changed %v things, want 0 (same secrets, same specs)", c)
	}
	if st, _ := httpDo(t, "PUT", e.url("/kv/post"), "by root"); st != 200 {
		t.Fatalf("write: %d", st)
	}

	// bob changes the stack: his web gets the secret root's db was made with.
	if _, _, code := berth(t, as(bob, "deploy", "--var", "greeting=bob")...); code != 0 {
		t.Fatalf("bob's change: exit %d", code)
	}
	if st, body := httpDo(t, "GET", e.url("/kv/post"), ""); st != 200 || body != "by root" {
		t.Errorf("after bob's deploy web reads %d %q", st, body)
	}
	if containerEnv(t, e.prefix+"db", "DB_PASSWORD") != containerEnv(t, e.prefix+"web", "DB_PASSWORD") {
		t.Error("db and web run with different passwords")
	}
	bobHome := filepath.Join("/home", bob, ".berth")
	if exists(filepath.Join(bobHome, stack)) {
		t.Errorf("bob's deploy kept state in %s", bobHome)
	}
	if exists(lock) {
		t.Error("a lock was left behind")
	}
}
