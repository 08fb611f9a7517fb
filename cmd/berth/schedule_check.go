package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// cronPath is the PATH cron gives a job.
const cronPath = "/usr/bin:/bin"

// How --check runs the scheduled command.
const (
	checkSystemdRun = "systemd-run"              // a transient unit, where systemd runs
	checkEnvSystemd = "env -i, as systemd would" // elsewhere: the unit's environment, rebuilt
	checkEnvCron    = "env -i, as cron would"
)

// systemdRunning tells a machine booted with systemd (sd_booted's test).
func systemdRunning() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}

// checkCmd is what --check runs: the scheduled command in the environment
// the unit (or cron) will give it. Where systemd runs, systemd-run builds that
// environment itself; elsewhere it is rebuilt as env -i would, from only
// what systemd or cron would set.
func checkCmd(ctx context.Context, mode string, s unitSpec, u *user.User) (*exec.Cmd, error) {
	if mode == checkSystemdRun {
		return exec.CommandContext(ctx, "systemd-run", systemdRunArgs(s, systemdVersion(ctx))...), nil
	}
	env := []string{"HOME=" + u.HomeDir, "LOGNAME=" + u.Username}
	var cmd *exec.Cmd
	if mode == checkEnvCron {
		line, err := cronCommand(s)
		if err != nil {
			return nil, err
		}
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", line)
		cmd.Dir = u.HomeDir
		env = append(env, "SHELL=/bin/sh", "PATH="+cronPath)
	} else {
		cmd = exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
		cmd.Dir = s.dir
		env = append(env, "USER="+u.Username, "SHELL="+loginShell(u), "PATH="+systemdPath)
		for _, e := range s.env {
			env = append(env, e.name+"="+e.value)
		}
		if s.envFile != "" {
			// EnvironmentFile= wins over Environment=, as later entries do here.
			vs, err := readEnvFile(s.envFile)
			if err != nil {
				return nil, err
			}
			for _, e := range vs {
				env = append(env, e.name+"="+e.value)
			}
		}
	}
	cmd.Env = env
	if cred, err := credentialFor(u); err != nil {
		return nil, err
	} else if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	return cmd, nil
}

// systemdRunArgs run the unit's command as a transient service with the
// unit's settings, output piped back, waiting for its exit status.
func systemdRunArgs(s unitSpec, version int) []string {
	args := []string{"--wait", "--pipe", "--collect", "--quiet", "--service-type=oneshot"}
	if s.userUnit {
		args = append(args, "--user")
	} else {
		args = append(args, "--uid="+s.user)
	}
	if version >= 254 {
		// Newer systemd-run expands $VAR in the command; the unit's does not.
		args = append(args, "--expand-environment=no")
	}
	args = append(args, "--working-directory="+s.dir)
	for _, e := range s.env {
		args = append(args, "--setenv="+e.name+"="+e.value)
	}
	if s.envFile != "" {
		args = append(args, "--property=EnvironmentFile="+systemdEscape(s.envFile))
	}
	args = append(args, "--property=TimeoutStartSec="+systemdDuration(s.timeout), "--")
	return append(args, s.argv...)
}

// systemdVersion is systemd-run's major version, 0 when unknown.
func systemdVersion(ctx context.Context) int {
	out, err := exec.CommandContext(ctx, "systemd-run", "--version").Output()
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`^systemd (\d+)`).FindSubmatch(out)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}

// loginShell is what systemd sets SHELL to for User=; os/user does not read it.
func loginShell(u *user.User) string {
	data, err := os.ReadFile("/etc/passwd")
	if err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, ":")
			if len(f) == 7 && f[0] == u.Username {
				return f[6]
			}
		}
	}
	return "/bin/sh"
}

// credentialFor switches to the unit's user when schedule runs as another
// one (root through sudo); nil when it is the same.
func credentialFor(u *user.User) (*syscall.Credential, error) {
	if u.Uid == strconv.Itoa(os.Getuid()) {
		return nil, nil
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("check as %s: %w", u.Username, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("check as %s: %w", u.Username, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
