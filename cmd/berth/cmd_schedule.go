package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/playbooks"
)

// defaultRunTimeout bounds a scheduled run (TimeoutStartSec), so a stuck run
// cannot block every later one; as long as a lock is considered fresh.
const defaultRunTimeout = 30 * time.Minute

func scheduleFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "every", Usage: "run the deploy every `DURATION`, e.g. 15m, 1h, 24h", Category: "Schedule"},
		&cli.StringFlag{Name: "at", Usage: "run the deploy every day at `HH:MM` (local time)", Category: "Schedule"},
		&cli.StringFlag{Name: "calendar", Usage: "run the deploy on a systemd OnCalendar `EXPR`, e.g. \"Mon *-*-* 04:00\"", Category: "Schedule"},
		&cli.BoolFlag{Name: "no-pull", Usage: "do not add --pull (scheduled deploys pull by default, to pick up new images of the same tag)", Category: "Schedule"},
		&cli.StringFlag{Name: "on-failure", Usage: "shell `CMD` run when a scheduled run fails, with $BERTH_EXIT_CODE, $BERTH_SUMMARY and $BERTH_SCHEDULE set", Category: "Schedule"},
		&cli.StringFlag{Name: "env-file", Usage: "secrets `FILE` (mode 0600) the unit reads; the secret variables set now are written there", Category: "Schedule"},
		&cli.DurationFlag{Name: "run-timeout", Value: defaultRunTimeout, Usage: "stop a scheduled run that takes longer than `DURATION` (TimeoutStartSec)", Category: "Schedule"},
		&cli.BoolFlag{Name: "user-unit", Usage: "a unit of your own systemd instance (systemctl --user) instead of a system unit with User=", Category: "Schedule"},
		&cli.BoolFlag{Name: "check", Usage: "run the scheduled command once now, in the environment the unit will have; write nothing", Category: "Schedule"},
		&cli.BoolFlag{Name: "print", Usage: "print the units instead of writing them", Category: "Schedule"},
		&cli.BoolFlag{Name: "cron", Usage: "print a crontab line instead of systemd units", Category: "Schedule"},
		&cli.BoolFlag{Name: "list", Usage: "list the schedules berth wrote in the unit directory", Category: "Schedule"},
		&cli.StringFlag{Name: "remove", Usage: "remove the schedule `NAME` berth wrote (see --list)", Category: "Schedule"},
		&cli.StringFlag{Name: "unit-name", Usage: "systemd unit `NAME` (default berth-STACK)", Category: "Schedule"},
		&cli.StringFlag{Name: "unit-dir", Usage: "where units are written `DIR` (default /etc/systemd/system, or ~/.config/systemd/user with --user-unit)", Category: "Schedule"},
		&cli.StringFlag{Name: "berth-path", Usage: "berth binary `PATH` to run (default: this one)", Category: "Schedule"},
		&cli.StringFlag{Name: "workdir", Usage: "`DIR` to run in (default: the current one)", Category: "Schedule"},
	}
}

// scheduleOnly says whether a flag shapes the schedule, not the deploy it runs.
func scheduleOnly(name string) bool {
	for _, f := range scheduleFlags() {
		if f.Names()[0] == name {
			return true
		}
	}
	return false
}

func (a *App) scheduleCommand() *cli.Command {
	return &cli.Command{
		Name:      "schedule",
		Usage:     "run this deploy unattended: write a systemd service + timer (or print a crontab line)",
		ArgsUsage: "--every DURATION | --at HH:MM | --calendar EXPR [deploy flags]",
		Description: `Takes the same flags as deploy and schedules exactly that invocation, with
--quiet and --pull added (--no-pull leaves --pull out), so a run with nothing
to change prints nothing and a new image of the same tag is picked up. The
playbook is loaded with the given vars now, and the units are named after its
stack (berth-STACK).

The units are a system service + timer in /etc/systemd/system that run as you
(User=), because a timer of your own systemd instance (--user-unit, in
~/.config/systemd/user) runs only while you are logged in unless lingering is
on (loginctl enable-linger). Enable them with systemctl enable --now NAME.timer.
Through sudo, User= is still you (SUDO_USER).

A timer runs without your terminal's environment, so schedule writes into the
unit: absolute paths for the playbook, berth.yaml, identity, known_hosts and ssh
config; the AWS_*, BERTH_* and proxy variables set now. Secrets (BERTH_SECRET_*,
BERTH_SSH_PASSPHRASE, AWS keys) never go into a unit file: give --env-file FILE
and schedule writes them there, mode 0600, for EnvironmentFile=. A timer has no
ssh-agent: without --identity, a set SSH_AUTH_SOCK is refused.

--check runs the scheduled command once now in the unit's environment
(systemd-run where systemd runs, else the same environment rebuilt as env -i
would), and reports whether it worked. --on-failure CMD runs CMD through sh
when a scheduled run fails (also when stopped by --run-timeout).
--list shows and --remove NAME deletes what schedule wrote.

Example:
   berth schedule --every 1h --ec2-tag Name=blog --domain blog.example.com \
       --identity ~/.ssh/deploy --on-failure 'curl -fsS -d "$BERTH_SUMMARY" https://hooks.example.com/x'
   berth schedule --at 03:00 --host admin@203.0.113.10 --check`,
		Flags:       concat(targetFlags(), playbookFlags(), deployFlags(), pushFlags(), dnsFlags(), outputFlags(), scheduleFlags()),
		Subcommands: []*cli.Command{a.scheduleBackupCommand()},
		Action:      a.scheduleAction("deploy"),
	}
}

// scheduleAction schedules the berth command verb (deploy or backup) with the
// flags given.
func (a *App) scheduleAction(verb string) cli.ActionFunc {
	return func(c *cli.Context) error {
		u, err := a.whoami()
		if err != nil {
			return err
		}
		unitDir := c.String("unit-dir")
		if unitDir == "" {
			unitDir = "/etc/systemd/system"
			if c.Bool("user-unit") {
				unitDir = filepath.Join(u.HomeDir, ".config", "systemd", "user")
			}
		}
		switch {
		case c.Bool("list"):
			return a.printUnits(unitDir)
		case c.IsSet("remove"):
			return a.removeUnits(unitDir, c.String("remove"), c.Bool("user-unit"))
		}
		spec, secrets, err := a.scheduleSpec(c, u, verb)
		if err != nil {
			return err
		}
		return a.installSchedule(c, spec, secrets, u, unitDir)
	}
}

// scheduleTiming reads --every, --at or --calendar: exactly one.
func scheduleTiming(c *cli.Context) (timing, error) {
	set := 0
	for _, n := range []string{"every", "at", "calendar"} {
		if c.IsSet(n) {
			set++
		}
	}
	if set != 1 {
		return timing{}, usageError("schedule: give one of --every, --at or --calendar")
	}
	switch {
	case c.IsSet("every"):
		if every := c.Duration("every"); every < time.Minute {
			return timing{}, usageError("schedule --every %s: want at least 1m", every)
		}
		return timing{every: c.Duration("every")}, nil
	case c.IsSet("at"):
		t, err := time.Parse("15:04", c.String("at"))
		if err != nil {
			return timing{}, usageError("schedule --at %q: want HH:MM", c.String("at"))
		}
		return timing{calendar: t.Format("*-*-* 15:04:00"), daily: true, hour: t.Hour(), minute: t.Minute()}, nil
	}
	cal := strings.TrimSpace(c.String("calendar"))
	if cal == "" {
		return timing{}, usageError("schedule --calendar: empty")
	}
	// A newline would add settings to the timer.
	if err := noControl(cal); err != nil {
		return timing{}, usageError("schedule --calendar: %v", err)
	}
	return timing{calendar: cal}, nil
}

// scheduleSpec resolves everything the units say, refusing what a timer could
// not run.
// The secrets returned go into the env file, never into the unit.
func (a *App) scheduleSpec(c *cli.Context, u *user.User, verb string) (unitSpec, []envVar, error) {
	when, err := scheduleTiming(c)
	if err != nil {
		return unitSpec{}, nil, err
	}
	if c.Duration("run-timeout") <= 0 {
		return unitSpec{}, nil, usageError("schedule --run-timeout %s: want more than 0", c.Duration("run-timeout"))
	}
	if c.Bool("no-pull") && c.Bool("pull") {
		return unitSpec{}, nil, usageError("schedule: --pull and --no-pull contradict each other")
	}
	// The playbook as deploy will load it: unknown vars are refused now, and
	// the units are named after the stack these vars resolve to.
	vars, err := a.vars(c)
	if err != nil {
		return unitSpec{}, nil, err
	}
	pb, err := loadPlaybook(c.String("playbook"), vars.forHost(nil))
	if err != nil {
		return unitSpec{}, nil, err
	}
	name := c.String("unit-name")
	if name == "" {
		stack, err := playbooks.Stack(c.String("stack"), pb)
		if err != nil {
			return unitSpec{}, nil, usageError("--stack: %v", err)
		}
		name = "berth-" + stack
		if verb != "deploy" {
			name += "-" + verb
		}
	}
	if err := validUnitName(name); err != nil {
		return unitSpec{}, nil, err
	}

	environ := a.environ()
	localOnly := c.Bool("local") && len(c.StringSlice("host")) == 0 && len(c.StringSlice("ec2-id")) == 0 && len(c.StringSlice("ec2-tag")) == 0
	if !localOnly && len(c.StringSlice("identity")) == 0 && lookupEnv(environ, "SSH_AUTH_SOCK") != "" {
		return unitSpec{}, nil, usageError("schedule: this deploy would log in with ssh-agent (SSH_AUTH_SOCK is set), which a timer does not have; give the key with --identity FILE (its passphrase, if any, in --env-file as BERTH_SSH_PASSPHRASE)")
	}

	cwd, err := os.Getwd()
	if err != nil {
		return unitSpec{}, nil, fmt.Errorf("find working directory: %w", err)
	}
	dir := cwd
	if w := c.String("workdir"); w != "" {
		dir = absPath(w, cwd, u.HomeDir)
	}
	bin := c.String("berth-path")
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return unitSpec{}, nil, fmt.Errorf("find berth binary: %w (pass --berth-path)", err)
		}
	}
	rw := argRewrite{flags: c.Command.Flags, base: cwd, home: u.HomeDir, localOnly: localOnly}
	// A subcommand (schedule backup) is the first of the scheduled args.
	argv := []string{absPath(bin, cwd, u.HomeDir)}
	if verb == "deploy" {
		argv = append(argv, verb)
	}
	argv = append(argv, rw.deployArgs(a.args)...)
	if a.cfg != nil && !c.IsSet("config") {
		// ./berth.yaml was read from here; the timer must read the same file.
		argv = append(argv, "--config", absPath(a.cfg.path, cwd, ""))
	}
	if verb == "deploy" && !c.IsSet("pull") && !c.Bool("no-pull") {
		argv = append(argv, "--pull")
	}
	if !c.Bool("quiet") && !c.Bool("json") {
		argv = append(argv, "--quiet")
	}
	if hook := c.String("on-failure"); hook != "" {
		argv = withOnFailure(name, hook, argv)
	}

	env, err := captureEnv(environ, cwd)
	if err != nil {
		return unitSpec{}, nil, err
	}
	spec := unitSpec{name: name, when: when, dir: dir, argv: argv, env: env.plain, user: u.Username,
		userUnit: c.Bool("user-unit"), timeout: c.Duration("run-timeout")}
	if f := c.String("env-file"); f != "" {
		spec.envFile = absPath(f, cwd, u.HomeDir)
	}
	// These are written into the unit as they are: a newline would add settings.
	for _, p := range []string{spec.dir, spec.envFile, spec.user} {
		if err := noControl(p); err != nil {
			return unitSpec{}, nil, usageError("schedule: %v", err)
		}
	}
	if len(env.secrets) > 0 && spec.envFile == "" {
		return unitSpec{}, nil, usageError("schedule: refusing to copy %s into a unit file, which every local user can read; "+
			"give --env-file FILE and schedule writes them there (mode 0600) for the unit's EnvironmentFile=, or unset them", secretNames(env.secrets))
	}
	return spec, env.secrets, nil
}

// provideEnvFile writes the secrets into the env file, or checks that the
// file the unit names is there and private when there are none to write.
func (a *App) provideEnvFile(path string, secrets []envVar) error {
	if path == "" {
		return nil
	}
	if len(secrets) == 0 {
		_, err := readEnvFile(path)
		return err
	}
	if err := writeEnvFile(path, secrets); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "wrote %s (mode 0600): %s\n", path, secretNames(secrets))
	return nil
}

// installSchedule checks, prints or writes the schedule.
func (a *App) installSchedule(c *cli.Context, spec unitSpec, secrets []envVar, u *user.User, unitDir string) error {
	var line string
	if c.Bool("cron") {
		var err error
		if line, err = cronLine(spec); err != nil {
			return usageError("schedule: %v", err)
		}
	}
	if err := a.provideEnvFile(spec.envFile, secrets); err != nil {
		return err
	}
	switch {
	case c.Bool("check"):
		return a.checkSchedule(c, spec, u)
	case c.Bool("cron"):
		fmt.Fprintln(a.stdout, line)
		return nil
	}
	service, timer := systemdUnits(spec)
	if c.Bool("print") {
		fmt.Fprintf(a.stdout, "# %s.service\n%s\n# %s.timer\n%s", spec.name, service, spec.name, timer)
		return nil
	}
	if err := os.MkdirAll(unitDir, 0o755); err != nil {
		return unitWriteError(err)
	}
	files := []struct{ name, content string }{{spec.name + ".service", service}, {spec.name + ".timer", timer}}
	for _, f := range files {
		// Never overwrite a unit someone else wrote under the same name.
		path := filepath.Join(unitDir, f.name)
		if _, ours, err := readUnit(path); err == nil && !ours {
			return usageError("schedule: %s exists and was not written by berth; choose another --unit-name", path)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write unit: %w", err)
		}
	}
	for _, f := range files {
		path := filepath.Join(unitDir, f.name)
		if err := os.WriteFile(path, []byte(f.content), 0o644); err != nil {
			return unitWriteError(err)
		}
		fmt.Fprintln(a.stderr, "wrote", path)
	}
	sc := systemctl(spec.userUnit)
	fmt.Fprintf(a.stderr, "enable it with: %s daemon-reload && %s enable --now %s.timer\n", sc, sc, spec.name)
	if spec.userUnit {
		fmt.Fprintf(a.stderr, "a user timer runs while you are logged in; for always: loginctl enable-linger %s\n", u.Username)
	}
	return nil
}

// unitWriteError says what to do when the system unit directory is root's.
func unitWriteError(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("write unit: %w (run schedule through sudo, and User= is still you; or --user-unit; or --print)", err)
	}
	return fmt.Errorf("write unit: %w", err)
}

// checkSchedule runs the scheduled command once, as the timer will.
func (a *App) checkSchedule(c *cli.Context, spec unitSpec, u *user.User) error {
	mode := checkEnvSystemd
	switch {
	case c.Bool("cron"):
		mode = checkEnvCron
	case systemdRunning() && (spec.userUnit || os.Geteuid() == 0):
		// A system unit's environment needs root to start; without it the
		// same environment is rebuilt instead.
		mode = checkSystemdRun
	}
	cmd, err := checkCmd(c.Context, mode, spec, u)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
	fmt.Fprintf(a.stderr, "check: running the command of %s once, in its environment (%s)\n", spec.name, mode)
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return fmt.Errorf("check: the scheduled run failed with exit code %d; the timer would fail the same way", exit.ExitCode())
	case err != nil:
		return fmt.Errorf("check: run the scheduled command: %w", err)
	}
	fmt.Fprintln(a.stderr, "check: the scheduled run succeeded")
	return nil
}
