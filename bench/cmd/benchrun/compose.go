package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// composeSetup prepares docker-compose's side: the compose file and its
// no-health variant, and an `ssh` wrapper first on compose's PATH. Compose
// 1.29 (docker-py 5) reaches ssh:// hosts by running the OpenSSH client
// (`ssh -l USER -p PORT -- HOST docker system dial-stdio`, one process and one
// connection per HTTP connection it opens) unless COMPOSE_PARAMIKO_SSH=1. It
// passes no options, so the wrapper adds `-F` with the same key and
// known_hosts berth and Ansible get, host keys checked strictly.
func (b *bench) composeSetup() error {
	b.composeFile = filepath.Join(b.c.repo, "bench/compose/docker-compose.yml")
	src, err := os.ReadFile(b.composeFile)
	if err != nil {
		return err
	}
	b.composeCold = b.path("compose-nohealth.yml")
	if err := os.WriteFile(b.composeCold, []byte(dropHealth(string(src))), 0o644); err != nil {
		return err
	}
	cfg := fmt.Sprintf("Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ControlMaster no\n", b.key, b.known)
	if err := os.WriteFile(b.path("compose-ssh.conf"), []byte(cfg), 0o600); err != nil {
		return err
	}
	if err := os.MkdirAll(b.path("compose-bin"), 0o755); err != nil {
		return err
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec /usr/bin/ssh -F %s \"$@\"\n", b.path("compose-ssh.conf"))
	return os.WriteFile(b.path("compose-bin", "ssh"), []byte(wrapper), 0o755)
}

// dropHealth removes the healthcheck blocks and turns service_healthy into
// service_started: the cold-deploy variant, generated so it tracks the file.
func dropHealth(src string) string {
	var out []string
	skip := -1 // indentation of the healthcheck key being skipped
	for _, line := range strings.Split(src, "\n") {
		ind := len(line) - len(strings.TrimLeft(line, " "))
		t := strings.TrimSpace(line)
		if skip >= 0 && (t == "" || ind > skip) {
			continue
		}
		skip = -1
		if t == "healthcheck:" {
			skip = ind
			continue
		}
		out = append(out, strings.Replace(line, "service_healthy", "service_started", 1))
	}
	return strings.Join(out, "\n")
}

// composeSecret writes the stack's secret env file on the controller once
// (compose reads env_file there and sends the values to the engine).
func (b *bench) composeSecret(prefix string) (string, error) {
	path := b.path("cstate", prefix+"secrets.env")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	return path, os.WriteFile(path, []byte("DB_PASSWORD="+hex.EncodeToString(pw[:])+"\n"), 0o600)
}

// composeChangeRE matches what compose prints for each thing it creates,
// recreates or starts. Without a tty a container's line comes twice ("…" then
// "… done"), so the count is not the number of objects; the benchmark only
// needs zero (a no-op) or not.
var composeChangeRE = regexp.MustCompile(`(?m)^(Creating|Recreating|Starting) `)

// compose runs `docker-compose up -d` against one server, for stack st.
func (b *bench) compose(ctx context.Context, s *sshd, file string, st stack, greeting string) (sample, error) {
	secrets, err := b.composeSecret(st.prefix)
	if err != nil {
		return sample{}, err
	}
	env := []string{
		"DOCKER_HOST=ssh://" + b.user + "@" + s.ip + ":" + strconv.Itoa(s.port),
		"PATH=" + b.path("compose-bin") + ":" + os.Getenv("PATH"),
		"PREFIX=" + st.prefix, "IMAGE=" + Image, "WEB_PORT=" + strconv.Itoa(st.port),
		"GREETING=" + greeting, "SECRETS_FILE=" + secrets,
		"COMPOSE_INTERACTIVE_NO_CLI=1", "COMPOSE_PARAMIKO_SSH=0",
	}
	servers := []*sshd{s}
	before := countLogs(servers)
	logPath := b.path(fmt.Sprintf("run-%03d-compose.log", runSeq.Add(1)))
	wall, rss, cpu, out, err := b.timed(ctx, env, logPath,
		"docker-compose", "--ansi", "never", "-p", strings.Trim(st.prefix, "-"), "-f", file, "up", "-d", "--no-build")
	after := countLogs(servers)
	smp := sample{wall: wall, rssKiB: rss, cpu: cpu, busy: lastBusy, conns: after.conns - before.conns, sessions: after.sessions - before.sessions, hosts: 1}
	smp.changes = len(composeChangeRE.FindAll(out, -1))
	return smp, err
}
