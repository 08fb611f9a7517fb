package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	goldenfile "github.com/berth-sh/berth/internal/golden"
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), got)
}

// alice is who the schedule tests schedule as, whoever runs them.
var alice = &user.User{Username: "alice", Uid: "1000", Gid: "1000", HomeDir: "/home/alice"}

// schedule runs berth schedule in-process with a fixed environment and user,
// so what it captures does not depend on the test runner's.
func schedule(t testing.TB, environ []string, u *user.User, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	app := NewApp(strings.NewReader(""), &out, &errOut)
	app.environ = func() []string { return environ }
	app.whoami = func() (*user.User, error) { return u, nil }
	code := app.Run(context.Background(), append([]string{"berth", "schedule"}, args...))
	t.Logf("berth schedule %s\n-> exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return out.String(), errOut.String(), code
}

// normalized replaces the paths that differ between machines.
func normalized(t *testing.T, s string, tmp string) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if tmp != "" {
		s = strings.ReplaceAll(s, tmp, "$TMP")
	}
	return strings.ReplaceAll(s, wd, "$CWD")
}

const stackPlaybook = "testdata/stack.yaml"

func TestSchedulePrint(t *testing.T) {
	fixed := []string{"--berth-path", "/usr/local/bin/berth", "--workdir", "/srv/blog"}
	ssh := []string{"--host", "deploy@10.0.0.5", "--identity", "/home/alice/.ssh/deploy"}
	tests := []struct {
		name    string
		environ []string
		args    []string
	}{
		{"systemd-hourly", nil, []string{"--every", "1h", "--print", "--ec2-tag", "Name=blog", "--domain", "blog.example.com", "--pull"}},
		{"systemd-hostile-var", nil, []string{"--every=15m", "--print", "-p", stackPlaybook, "--host", "deploy@10.0.0.5", "-i", "keys/deploy", "--var", "greeting=100% $(reboot) it's"}},
		{"systemd-user-unit", nil, append([]string{"--every", "1h", "--print", "--user-unit"}, ssh...)},
		{"systemd-env-captured", []string{
			"AWS_PROFILE=prod", "AWS_REGION=eu-west-1", "AWS_CONFIG_FILE=aws/config", "BERTH_CONFIG=conf/berth.yaml",
			"HTTPS_PROXY=http://proxy:3128", "SSH_AUTH_SOCK=/tmp/agent.sock", "HOME=/root", "PATH=/bin", "TERM=xterm",
		}, append([]string{"--every", "6h", "--print", "--known-hosts", "~/kh", "--ssh-config", "ssh/config", "--run-timeout", "10m"}, ssh...)},
		{"systemd-calendar", nil, append([]string{"--calendar", "Mon *-*-* 04:00", "--print", "--no-pull"}, ssh...)},
		{"systemd-at", nil, append([]string{"--at", "03:00", "--print"}, ssh...)},
		{"systemd-on-failure", nil, append([]string{"--every", "1h", "--print", "--on-failure", `curl -fsS -d "$BERTH_SUMMARY" https://hooks.example.com/x?q=100%`}, ssh...)},
		{"systemd-local-state-dir", nil, []string{"--every", "1h", "--print", "--local", "--state-dir", "state", "-p", stackPlaybook}},
		{"cron-hourly", []string{"AWS_REGION=eu-west-1"}, []string{"--every", "1h", "--cron", "--host", "deploy@10.0.0.5", "--identity", "/k", "-p", stackPlaybook, "--var", "greeting=100% $(reboot)"}},
		{"cron-15m", nil, []string{"--every", "15m", "--cron", "--local", "--quiet"}},
		{"cron-at", nil, []string{"--at", "03:07", "--cron", "--local", "--on-failure", "logger berth failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, code := schedule(t, tt.environ, alice, append(append([]string{}, fixed...), tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			golden(t, "schedule-"+tt.name+".txt", normalized(t, out, ""))
		})
	}
}

func TestScheduleRefuses(t *testing.T) {
	ssh := []string{"--host", "deploy@10.0.0.5", "--identity", "/k"}
	tests := []struct {
		name    string
		environ []string
		args    []string
		want    string // in the error
	}{
		{"odd cron period", nil, []string{"--every", "7m", "--cron", "--local"}, "cron cannot run every 7m"},
		{"cron calendar", nil, []string{"--calendar", "Mon 04:00", "--cron", "--local"}, "cron cannot run on the calendar"},
		// issue 10: a newline in a var printed a second crontab job.
		{"issue 10 repro", nil, []string{"--every", "1h", "--cron", "--local", "--var", "http_port=8080\n* * * * * root touch /tmp/pwned #"}, "contains whitespace"},
		{"newline for cron", nil, []string{"--every", "1h", "--cron", "--local", "-p", stackPlaybook, "--var", "greeting=hi\n* * * * * root touch /tmp/pwned #"}, "control character"},
		{"tab for cron", nil, []string{"--every", "1h", "--cron", "--local", "--workdir", "/srv/a\tb"}, "control character"},
		{"newline in the workdir", nil, []string{"--every", "1h", "--print", "--local", "--workdir", "/srv\nExecStartPre=/bin/touch /tmp/pwned"}, "control character"},
		{"newline in the env file name", nil, []string{"--every", "1h", "--print", "--local", "--env-file", "/srv\nExecStartPre=/bin/touch /tmp/pwned"}, "control character"},
		{"newline in an env value", []string{"AWS_PROFILE=a\nb"}, []string{"--every", "1h", "--print", "--local"}, "$AWS_PROFILE"},
		{"newline in a calendar", nil, []string{"--calendar", "daily\nOnBootSec=1s", "--print", "--local"}, "control character"},
		{"unknown var", nil, []string{"--every", "1h", "--print", "--local", "--var", "nope=1"}, `declares no var "nope"`},
		{"no timing", nil, []string{"--print", "--local"}, "one of --every, --at or --calendar"},
		{"two timings", nil, []string{"--every", "1h", "--at", "03:00", "--print", "--local"}, "one of --every, --at or --calendar"},
		{"bad time of day", nil, []string{"--at", "25:00", "--print", "--local"}, "want HH:MM"},
		{"period under a minute", nil, []string{"--every", "30s", "--print", "--local"}, "at least 1m"},
		{"unit name as a path", nil, []string{"--every", "1h", "--print", "--local", "--unit-name", "../../etc/cron.d/x"}, "unit name"},
		{"stack name as a template", nil, []string{"--every", "1h", "--print", "--local", "--stack", "a@b"}, "invalid stack name"},
		{"pull and no-pull", nil, []string{"--every", "1h", "--print", "--local", "--pull", "--no-pull"}, "contradict"},
		{"zero run timeout", nil, []string{"--every", "1h", "--print", "--local", "--run-timeout", "0s"}, "--run-timeout"},
		{"agent only", []string{"SSH_AUTH_SOCK=/tmp/agent.sock"}, []string{"--every", "1h", "--print", "--host", "deploy@10.0.0.5"}, "a timer does not have"},
		{"secrets without env file", []string{"BERTH_SECRET_DB_PASSWORD=hunter2", "AWS_SECRET_ACCESS_KEY=abc"}, append([]string{"--every", "1h", "--print"}, ssh...), "refusing to copy AWS_SECRET_ACCESS_KEY, BERTH_SECRET_DB_PASSWORD into a unit file"},
		{"env file missing", nil, []string{"--every", "1h", "--print", "--local", "--env-file", "/nonexistent/blog.env"}, "no such file"},
		{"passphrase without env file", []string{"BERTH_SSH_PASSPHRASE=pw"}, append([]string{"--every", "1h", "--print"}, ssh...), "refusing to copy BERTH_SSH_PASSPHRASE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := schedule(t, tt.environ, alice, append([]string{"--berth-path", "/bin/berth", "--workdir", "/srv"}, tt.args...)...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
			if out != "" {
				t.Errorf("printed a schedule although refused:\n%s", out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q lacks %q", errOut, tt.want)
			}
			for _, secret := range []string{"hunter2", "abc", "=pw"} {
				if strings.Contains(errOut, secret) {
					t.Errorf("the error shows a secret value: %q", errOut)
				}
			}
		})
	}
}

func TestScheduleSecretsGoToA0600EnvFile(t *testing.T) {
	tmp := t.TempDir()
	envFile := filepath.Join(tmp, "secrets", "blog.env")
	environ := []string{"BERTH_SECRET_DB_PASSWORD=hunter2 x", "AWS_ACCESS_KEY_ID=AKIAX", "AWS_SECRET_ACCESS_KEY=abc", "AWS_REGION=eu-west-1"}
	args := []string{"--berth-path", "/bin/berth", "--workdir", "/srv", "--every", "1h", "--print", "--host", "deploy@10.0.0.5", "--identity", "/k"}
	out, errOut, code := schedule(t, environ, alice, args...)
	if code != exitUsage || out != "" {
		t.Fatalf("secrets without --env-file: exit %d, want %d and no units", code, exitUsage)
	}
	golden(t, "schedule-secrets-refused.txt", errOut)
	if _, _, code := schedule(t, environ, alice, append(args, "--env-file", envFile, "--cron", "--every", "7m")...); code != exitUsage {
		t.Fatalf("an odd cron period: exit %d, want %d", code, exitUsage)
	}
	if _, err := os.Stat(envFile); err == nil {
		t.Fatal("a refused schedule wrote the env file")
	}
	out, _, code = schedule(t, environ, alice, append(args, "--env-file", envFile)...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	golden(t, "schedule-systemd-env-file.txt", normalized(t, out, tmp))
	for _, secret := range []string{"hunter2", "AKIAX", "abc"} {
		if strings.Contains(out, secret) {
			t.Errorf("the unit holds the secret %q", secret)
		}
	}
	st, err := os.Stat(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %04o, want 0600", st.Mode().Perm())
	}
	got, err := readEnvFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	want := []envVar{{"AWS_ACCESS_KEY_ID", "AKIAX"}, {"AWS_SECRET_ACCESS_KEY", "abc"}, {"BERTH_SECRET_DB_PASSWORD", "hunter2 x"}}
	if len(got) != len(want) {
		t.Fatalf("env file holds %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("env file line %d: %v, want %v", i, got[i], want[i])
		}
	}

	if err := os.Chmod(envFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readEnvFile(envFile); err == nil {
		t.Error("an env file others can read is accepted")
	}
}

// Two stacks of one playbook (issue 10: both wrote berth-stack.service) get
// their own units.
func TestScheduleNamesUnitsAfterTheStack(t *testing.T) {
	for prefix, want := range map[string]string{"blog-": "berth-blog-stack", "shop-": "berth-shop-stack", "": "berth-stack"} {
		out, _, code := schedule(t, nil, alice, "--every", "1h", "--print", "--local", "-p", stackPlaybook, "--var", "prefix="+prefix, "--berth-path", "/bin/berth")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		if !strings.HasPrefix(out, "# "+want+".service\n") || !strings.Contains(out, "# "+want+".timer\n") {
			t.Errorf("prefix %q: units not named %s:\n%s", prefix, want, out)
		}
	}
}

func TestScheduleWritesListsAndRemovesUnits(t *testing.T) {
	dir := t.TempDir()
	args := func(prefix string, extra ...string) []string {
		return append([]string{"--every", "1h", "--local", "-p", stackPlaybook, "--var", "prefix=" + prefix,
			"--unit-dir", dir, "--berth-path", "/bin/berth", "--workdir", "/"}, extra...)
	}
	envFile := filepath.Join(t.TempDir(), "blog.env")
	if _, _, code := schedule(t, []string{"BERTH_SECRET_DB_PASSWORD=pw"}, alice, args("blog-", "--env-file", envFile)...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, _, code := schedule(t, nil, alice, args("shop-")...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	// What was written is exactly what --print shows.
	printed, _, _ := schedule(t, nil, alice, args("blog-", "--print", "--env-file", envFile)...)
	service, _ := os.ReadFile(filepath.Join(dir, "berth-blog-stack.service"))
	timer, _ := os.ReadFile(filepath.Join(dir, "berth-blog-stack.timer"))
	if want := "# berth-blog-stack.service\n" + string(service) + "\n# berth-blog-stack.timer\n" + string(timer); printed != want {
		t.Errorf("written units differ from --print:\n--- written\n%s\n--- printed\n%s", want, printed)
	}

	list, _, code := schedule(t, nil, alice, "--list", "--unit-dir", dir)
	if code != 0 {
		t.Fatalf("list: exit %d", code)
	}
	golden(t, "schedule-list.txt", list)

	// systemctl enable links the timer beside the units; --remove takes it too.
	wants := filepath.Join(dir, "timers.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "berth-blog-stack.timer"), filepath.Join(wants, "berth-blog-stack.timer")); err != nil {
		t.Fatal(err)
	}
	if _, _, code := schedule(t, nil, alice, "--remove", "berth-blog-stack", "--unit-dir", dir); code != 0 {
		t.Fatalf("remove: exit %d", code)
	}
	for _, f := range []string{"berth-blog-stack.service", "berth-blog-stack.timer", "timers.target.wants/berth-blog-stack.timer"} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s is still there", f)
		}
	}
	if _, err := os.Stat(envFile); err != nil {
		t.Errorf("--remove deleted the env file with the secrets: %v", err)
	}
	list, _, _ = schedule(t, nil, alice, "--list", "--unit-dir", dir)
	if strings.Contains(list, "berth-blog-stack") || !strings.Contains(list, "berth-shop-stack") {
		t.Errorf("after removing blog, list shows:\n%s", list)
	}
	if _, _, code := schedule(t, nil, alice, "--remove", "berth-blog-stack", "--unit-dir", dir); code != exitUsage {
		t.Errorf("removing a schedule twice: exit %d, want %d", code, exitUsage)
	}
}

// Units berth did not write are neither overwritten, listed nor removed.
func TestScheduleLeavesOthersUnitsAlone(t *testing.T) {
	dir := t.TempDir()
	foreign := "[Service]\nExecStart=/usr/bin/backup\n"
	for _, f := range []string{"berth-stack.service", "berth-stack.timer"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(foreign), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, code := schedule(t, nil, alice, "--every", "1h", "--local", "-p", stackPlaybook, "--unit-dir", dir, "--berth-path", "/bin/berth"); code != exitUsage {
		t.Errorf("schedule over a foreign unit: exit %d, want %d", code, exitUsage)
	}
	if _, _, code := schedule(t, nil, alice, "--remove", "berth-stack", "--unit-dir", dir); code != exitUsage {
		t.Errorf("remove a foreign unit: exit %d, want %d", code, exitUsage)
	}
	if list, _, _ := schedule(t, nil, alice, "--list", "--unit-dir", dir); list != "" {
		t.Errorf("list shows a foreign unit:\n%s", list)
	}
	for _, f := range []string{"berth-stack.service", "berth-stack.timer"} {
		if got, _ := os.ReadFile(filepath.Join(dir, f)); string(got) != foreign {
			t.Errorf("%s was changed:\n%s", f, got)
		}
	}
}

func TestSystemdRunArgs(t *testing.T) {
	spec := unitSpec{name: "berth-blog", dir: "/srv/blog", user: "alice", timeout: defaultRunTimeout,
		// A % in the env file's path (from a home directory, say) is a systemd specifier unless doubled.
		env: []envVar{{"AWS_PROFILE", "prod x"}}, envFile: "/home/alice/.config/berth/blog%h.env",
		argv: []string{"/usr/local/bin/berth", "deploy", "--var", "greeting=$HOME 100%", "--quiet"}}
	for _, version := range []int{252, 255} {
		golden(t, fmt.Sprintf("schedule-systemd-run-%d.txt", version), strings.Join(systemdRunArgs(spec, version), "\n")+"\n")
	}
}

// ./berth.yaml is read where schedule is typed; the timer runs elsewhere, so
// the unit names the file, and its vars are checked now.
func TestScheduleUsesBerthYAMLFromWhereItIsTyped(t *testing.T) {
	stack, err := filepath.Abs(stackPlaybook)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	write := func(vars string) {
		cfg := "playbook: " + stack + "\nlocal: true\nvars:\n" + vars
		if err := os.WriteFile("berth.yaml", []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("  prefix: blog-\n")
	out, _, code := schedule(t, nil, alice, "--every", "1h", "--print", "--berth-path", "/bin/berth", "--workdir", "/srv")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if want := "--config " + filepath.Join(dir, "berth.yaml") + " --pull --quiet\n"; !strings.Contains(out, want) {
		t.Errorf("ExecStart does not end with %q", want)
	}
	if !strings.HasPrefix(out, "# berth-blog-stack.service\n") {
		t.Error("the unit is not named after the stack berth.yaml's vars resolve to")
	}
	write("  nope: x\n")
	if _, errOut, code := schedule(t, nil, alice, "--every", "1h", "--print", "--berth-path", "/bin/berth"); code != exitUsage || !strings.Contains(errOut, `declares no var "nope"`) {
		t.Errorf("an unknown var in berth.yaml: exit %d, want %d", code, exitUsage)
	}
}

// --user-unit writes to, lists and removes from the user's own unit directory.
func TestScheduleUserUnitDirectory(t *testing.T) {
	u := *alice
	u.HomeDir = t.TempDir()
	dir := filepath.Join(u.HomeDir, ".config", "systemd", "user")
	if _, _, code := schedule(t, nil, &u, "--every", "1h", "--local", "--user-unit", "--berth-path", "/bin/berth"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	service, err := os.ReadFile(filepath.Join(dir, "berth-wordpress.service"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(service), "User=") {
		t.Error("a user unit names a User=")
	}
	if list, _, _ := schedule(t, nil, &u, "--list", "--user-unit"); !strings.Contains(list, "berth-wordpress") {
		t.Errorf("--list --user-unit shows:\n%s", list)
	}
	_, errOut, code := schedule(t, nil, &u, "--remove", "berth-wordpress", "--user-unit")
	if code != 0 || !strings.Contains(errOut, "systemctl --user stop berth-wordpress.timer") {
		t.Fatalf("remove: exit %d", code)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "berth-wordpress.*")); len(left) != 0 {
		t.Errorf("--remove --user-unit left %v", left)
	}
}
