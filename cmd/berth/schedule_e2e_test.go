package main

import (
	"crypto/ed25519"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/berth-sh/berth/internal/sshtest"
)

// unitFile is the settings of a printed service that a run depends on.
type unitFile struct {
	user, dir, envFile string
	env                []string // Environment= values, unquoted
	execStart          []string // ExecStart, split and unquoted as systemd does
}

// parseService reads the service out of schedule --print's output.
func parseService(t *testing.T, printed string) unitFile {
	t.Helper()
	service, _, ok := strings.Cut(printed, "\n\n# ")
	if !ok {
		t.Fatalf("no timer after the service:\n%s", printed)
	}
	var u unitFile
	for _, line := range strings.Split(service, "\n") {
		key, value, _ := strings.Cut(line, "=")
		switch key {
		case "User":
			u.user = unescapeSpecifiers(value)
		case "WorkingDirectory":
			u.dir = unescapeSpecifiers(value)
		case "EnvironmentFile":
			u.envFile = unescapeSpecifiers(value)
		case "Environment":
			words := systemdWords(t, value, false)
			if len(words) != 1 {
				t.Fatalf("Environment=%s is %d words", value, len(words))
			}
			u.env = append(u.env, words[0])
		case "ExecStart":
			u.execStart = systemdWords(t, value, true)
		}
	}
	return u
}

// systemdWords splits a unit setting into words as systemd does: quoted
// words with C escapes, %% for %, and in ExecStart $$ for $.
func systemdWords(t *testing.T, s string, exec bool) []string {
	t.Helper()
	var words []string
	for s = strings.TrimLeft(s, " \t"); s != ""; s = strings.TrimLeft(s, " \t") {
		var w strings.Builder
		if s[0] == '"' {
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						w.WriteByte('\n')
					case 't':
						w.WriteByte('\t')
					default:
						w.WriteByte(s[i])
					}
					continue
				}
				w.WriteByte(s[i])
			}
			if i == len(s) {
				t.Fatalf("unterminated quote in %q", s)
			}
			s = s[i+1:]
		} else {
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				end = len(s)
			}
			w.WriteString(s[:end])
			s = s[end:]
		}
		word := unescapeSpecifiers(w.String())
		if exec {
			word = strings.ReplaceAll(word, "$$", "$")
		}
		words = append(words, word)
	}
	return words
}

// TestScheduleQuotingRoundTrips: what systemd reads back from a unit is
// the argv and environment schedule meant.
func TestScheduleQuotingRoundTrips(t *testing.T) {
	for _, arg := range []string{"plain", "", "100% $(reboot) it's", `back\slash "quoted"`, "tab\tnew\nline", "a;b", "$$", "%%n", `\n`} {
		for _, exec := range []bool{true, false} {
			got := systemdWords(t, systemdQuote(arg, exec), exec)
			if len(got) != 1 || got[0] != arg {
				t.Errorf("systemdQuote(%q, exec=%v) reads back as %q", arg, exec, got)
			}
		}
	}
}

// runUnit runs a service's ExecStart as systemd would: in its
// WorkingDirectory, with only the variables systemd sets for User= (HOME,
// USER, LOGNAME, SHELL, PATH), its Environment= lines and its EnvironmentFile=.
func runUnit(t *testing.T, u unitFile, home string) (int, string, string) {
	t.Helper()
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if u.user != me.Username {
		t.Fatalf("User=%s, want %s (who scheduled it)", u.user, me.Username)
	}
	env := append([]string{"HOME=" + home, "USER=" + me.Username, "LOGNAME=" + me.Username, "SHELL=/bin/sh", "PATH=" + systemdPath}, u.env...)
	if u.envFile != "" {
		vs, err := readEnvFile(u.envFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			env = append(env, v.name+"="+v.value)
		}
	}
	cmd := exec.Command(u.execStart[0], u.execStart[1:]...)
	cmd.Env, cmd.Dir = env, u.dir
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("ExecStart under env -i %q\n-> %v\nstdout:\n%s\nstderr:\n%s", env, err, stdout.String(), stderr.String())
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// A schedule typed here runs unattended: its exact ExecStart, under env -i
// with only the unit's environment, a HOME with nothing in it and another
// working directory, deploys through a real sshd onto the real Docker engine;
// runs again without changing anything; and calls --on-failure when it fails.
func TestUnattendedScheduledRun(t *testing.T) {
	e := newStackEnv(t)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	home, work, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	hookOut := filepath.Join(tmp, "hook.out")
	args := func(extra ...string) []string {
		return append(e.args("schedule")[1:], append([]string{"--every", "1h", "--berth-path", berthBinary(t), "--workdir", work,
			"--env-file", filepath.Join(tmp, "secrets.env"),
			"--on-failure", `printf '%s|%s' "$BERTH_EXIT_CODE" "$BERTH_SUMMARY" > ` + hookOut}, extra...)...)
	}
	// The secret reaches the containers only through the 0600 env file.
	environ := []string{"BERTH_SECRET_DB_PASSWORD=from-the-env-file", "SSH_AUTH_SOCK="}
	printed, _, code := schedule(t, environ, me, args("--print")...)
	if code != 0 {
		t.Fatalf("schedule: exit %d", code)
	}
	if strings.Contains(printed, "from-the-env-file") {
		t.Fatal("the secret is in the unit")
	}
	unit := parseService(t, printed)
	db, web := e.prefix+"db", e.prefix+"web"

	t.Run("first run deploys", func(t *testing.T) {
		if code, _, _ := runUnit(t, unit, home); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if st, body := httpDo(t, "GET", e.url("/"), ""); st != 200 || !strings.Contains(body, "greeting=hello") {
			t.Fatalf("web answers %d %q", st, body)
		}
		if env := dockerOut(t, "inspect", "--format", "{{json .Config.Env}}", db); !strings.Contains(env, "DB_PASSWORD=from-the-env-file") {
			t.Error("db did not get the secret from the env file")
		}
	})

	t.Run("second run changes nothing and prints nothing", func(t *testing.T) {
		dbID, webID := containerID(t, db), containerID(t, web)
		before := e.sshd.Connections()
		start := time.Now()
		code, stdout, _ := runUnit(t, unit, home)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		t.Logf("a scheduled run with nothing to change took %s", time.Since(start).Round(time.Millisecond))
		if got := e.sshd.Connections() - before; got != 1 {
			t.Errorf("sshd accepted %d connections, want 1", got)
		}
		if stdout != "" {
			t.Errorf("a run with nothing to change printed %q", stdout)
		}
		if containerID(t, db) != dbID || containerID(t, web) != webID {
			t.Error("a container was recreated by a run with nothing to change")
		}
		if _, err := os.Stat(hookOut); err == nil {
			t.Error("--on-failure ran although every run succeeded")
		}
	})

	t.Run("a failed run calls --on-failure with its exit code and summary", func(t *testing.T) {
		printed, _, code := schedule(t, environ, me, args("--print", "--var", "fail_health=yes", "--var", "greeting=broken")...)
		if code != 0 {
			t.Fatalf("schedule: exit %d", code)
		}
		code, _, stderr := runUnit(t, parseService(t, printed), home)
		if code != exitFailure {
			t.Fatalf("exit %d, want %d", code, exitFailure)
		}
		hook, err := os.ReadFile(hookOut)
		if err != nil {
			t.Fatalf("--on-failure did not run: %v", err)
		}
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		last := strings.TrimLeft(lines[len(lines)-1], " \t*")
		if want := "1|" + last; string(hook) != want || !strings.Contains(last, e.sshd.Target()+": container "+web) {
			t.Errorf("--on-failure saw %q, want %q", hook, want)
		}
	})

	t.Run("check runs the same command in the same environment", func(t *testing.T) {
		if systemdRunning() {
			t.Skip("systemd runs here: --check uses systemd-run, which needs a system bus")
		}
		u := *me
		u.HomeDir = home
		_, stderr, code := schedule(t, environ, &u, args("--check")...)
		if code != 0 || !strings.Contains(stderr, "check: the scheduled run succeeded") || !strings.Contains(stderr, checkEnvSystemd) {
			t.Fatalf("check: exit %d", code)
		}
		_, stderr, code = schedule(t, environ, &u, args("--check", "--cron")...)
		if code != 0 || !strings.Contains(stderr, "check: the scheduled run succeeded") || !strings.Contains(stderr, checkEnvCron) {
			t.Fatalf("check of the crontab line: exit %d", code)
		}
		empty := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, stderr, code = schedule(t, environ, &u, args("--check", "--known-hosts", empty)...)
		if code != exitFailure || !strings.Contains(stderr, "check: the scheduled run failed with exit code 1") {
			t.Fatalf("check of a schedule that cannot log in: exit %d, want %d", code, exitFailure)
		}
	})
}

// A deploy that logs in only through ssh-agent works when typed, and is
// refused at schedule time: a timer has no agent.
func TestAgentOnlyLoginRefusedBySchedule(t *testing.T) {
	e := newStackEnv(t)
	data, err := os.ReadFile(e.sshd.ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	sock := sshtest.ServeAgent(t, *key.(*ed25519.PrivateKey))
	t.Setenv("SSH_AUTH_SOCK", sock)
	t.Setenv("HOME", t.TempDir()) // no ~/.ssh keys: the agent is the only way in

	var agentOnly []string
	for _, a := range e.args("plan") {
		if a != "--identity" && a != e.sshd.ClientKeyPath {
			agentOnly = append(agentOnly, a)
		}
	}
	if _, _, code := berth(t, agentOnly...); code != exitDrift {
		t.Fatalf("plan through the agent: exit %d, want %d (logged in, stack not deployed)", code, exitDrift)
	}
	out, stderr, code := schedule(t, []string{"SSH_AUTH_SOCK=" + sock}, alice, append(agentOnly[1:], "--every", "1h", "--print", "--berth-path", "/bin/berth")...)
	if code != exitUsage || out != "" || !strings.Contains(stderr, "a timer does not have") {
		t.Fatalf("schedule with agent-only login: exit %d, want %d and the reason", code, exitUsage)
	}
	if _, _, code := schedule(t, []string{"SSH_AUTH_SOCK=" + sock}, alice, append(e.args("schedule")[1:], "--every", "1h", "--print", "--berth-path", "/bin/berth")...); code != 0 {
		t.Fatalf("schedule with --identity: exit %d, want 0", code)
	}
}
