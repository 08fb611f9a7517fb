package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// coldFloorScript is what a cold deploy of playbook as stack st cannot beat:
// the docker commands berth issues for it, in its order, as one shell script
// for one `ssh host sh -s` session. It is built from berth's own plan and
// argv builders (plan.Compute over an empty host, internal/docker), so it
// follows berth's commands as they change:
//
//   - one observe: a `docker inspect` of every object (berth's observe asks
//     Docker about the same objects);
//   - the state directory, secrets.env and each container's env file
//     (written with the secret values, as berth's uploads are);
//   - `docker volume create`, `docker network create`, `docker run` (and
//     `docker network connect`) with berth's exact argv;
//   - after each run, the one `docker inspect` of its status that berth's
//     wait makes when a container has no health check (the playbook has
//     none: health waits are excluded).
func coldFloorScript(playbook, stateRoot string, st stack) (string, error) {
	pb, err := playbooks.Load(playbook, map[string]string{
		"prefix": st.prefix, "web_port": strconv.Itoa(st.port), "image": Image, "web_image": Image,
	})
	if err != nil {
		return "", err
	}
	name, err := playbooks.Stack("", pb)
	if err != nil {
		return "", err
	}
	key := make([]byte, 32)
	secrets := map[string]string{}
	digests := map[string]string{}
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	for _, s := range pb.Secrets {
		var v [24]byte
		if _, err := rand.Read(v[:]); err != nil {
			return "", err
		}
		secrets[s] = base64.RawURLEncoding.EncodeToString(v[:])
		digests[s] = docker.SecretDigest(key, s, secrets[s])
	}
	p := plan.Compute(name, pb, nil, plan.Options{Secrets: digests})
	if err := p.Err(); err != nil {
		return "", err
	}
	dir := path.Join(stateRoot, name)
	var lines []string
	add := func(argv ...string) error {
		q, err := remote.Quote(argv)
		if err != nil {
			return err
		}
		lines = append(lines, q)
		return nil
	}
	// A missing object makes docker inspect fail, as on a cold host.
	inspect := append([]string{"docker", "inspect"}, docker.Images(pb)...)
	for _, act := range p.Actions {
		inspect = append(inspect, act.Name)
	}
	if err := add(inspect...); err != nil {
		return "", err
	}
	lines[len(lines)-1] += " >/dev/null 2>&1 || true"
	lines = append(lines, "set -e", "umask 077")
	if err := add("mkdir", "-p", dir); err != nil {
		return "", err
	}
	writeFile := func(file string, m map[string]string) error {
		if err := add("printf", "%s", string(docker.EnvFile(m))); err != nil {
			return err
		}
		q, err := remote.QuoteWord(file)
		if err != nil {
			return err
		}
		lines[len(lines)-1] += " >" + q
		return nil
	}
	if err := writeFile(dir+"/secrets.env", secrets); err != nil {
		return "", err
	}
	for _, act := range p.Actions {
		var err error
		switch {
		case act.Kind != plan.Create:
			err = fmt.Errorf("%s %s: a cold deploy only creates", act.Kind, act.Name)
		case act.Volume != nil:
			err = add(docker.VolumeCreateArgs(name, *act.Volume)...)
		case act.Network != nil:
			err = add(docker.NetworkCreateArgs(name, *act.Network)...)
		case act.Container != nil:
			err = floorContainer(add, writeFile, name, dir, act.Container, secrets, digests)
		}
		if err != nil {
			return "", err
		}
	}
	return strings.Join(lines, "\n") + "\n", nil
}

func floorContainer(add func(...string) error, writeFile func(string, map[string]string) error, stack, dir string, c *playbooks.Container, secrets, digests map[string]string) error {
	envPath := ""
	if len(c.SecretEnv) > 0 {
		envPath = dir + "/" + c.Name + ".env"
		m := map[string]string{}
		for env, s := range c.SecretEnv {
			m[env] = secrets[s]
		}
		if err := writeFile(envPath, m); err != nil {
			return err
		}
	}
	args, err := docker.RunArgs(stack, *c, envPath, digests)
	if err != nil {
		return err
	}
	if err := add(args...); err != nil {
		return err
	}
	for _, n := range c.Networks[min(1, len(c.Networks)):] {
		if err := add(docker.NetworkConnectArgs(n, c.Name)...); err != nil {
			return err
		}
	}
	return add("docker", "inspect", "--format", "{{.State.Status}}", c.Name)
}

// coldFloor runs the floor script of a cold deploy of st in one OpenSSH
// session (`ssh host sh -s`, the script on stdin), timed like the tools.
func (b *bench) coldFloor(ctx context.Context, s *sshd, playbook string, st stack) (sample, error) {
	script, err := coldFloorScript(playbook, b.path("fstate"), st)
	if err != nil {
		return sample{}, err
	}
	seq := runSeq.Add(1)
	argv := []string{"ssh", "-F", "none", "-i", b.key, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + b.known, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-p", strconv.Itoa(s.port), b.user + "@" + s.ip, "sh", "-s"}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(script)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	before := countLogs([]*sshd{s})
	busy0 := machineBusy()
	start := time.Now()
	err = cmd.Run()
	smp := sample{wall: time.Since(start), busy: machineBusy() - busy0, hosts: 1, changes: 1}
	after := countLogs([]*sshd{s})
	smp.conns, smp.sessions = after.conns-before.conns, after.sessions-before.sessions
	if st := cmd.ProcessState; st != nil {
		smp.cpu = (st.UserTime() + st.SystemTime()).Seconds()
		smp.rssKiB = maxRSS(st)
	}
	if err != nil {
		logPath := b.path(fmt.Sprintf("run-%03d-coldfloor.log", seq))
		_ = os.WriteFile(logPath, append(out.Bytes(), "\n--- script ---\n"+script...), 0o644)
		return smp, fmt.Errorf("cold floor: %v (log %s)\n%s", err, logPath, tail(out.Bytes(), 25))
	}
	return smp, nil
}

// floorCase measures a cold deploy (no health checks, so no health waits)
// against its floor, alternating, paired round by round.
func (b *bench) floorCase(ctx context.Context, r *report) error {
	bs := stack{b.prefix + "fb-", b.ports["floor-b"]}
	fs := stack{b.prefix + "ff-", b.ports["floor-f"]}
	one := []*sshd{b.single}
	tools := []tool{
		{name: "berth", run: func(ctx context.Context) (sample, error) { return b.berth(ctx, one, b.coldPB, bs, 10) },
			before: func(ctx context.Context) { b.teardown(ctx, bs.prefix) }},
		{name: "floor: its docker commands in one ssh sh -s", run: func(ctx context.Context) (sample, error) {
			return b.coldFloor(ctx, b.single, b.coldPB, fs)
		}, before: func(ctx context.Context) {
			b.teardown(ctx, fs.prefix)
			_ = os.RemoveAll(b.path("fstate", fs.prefix+"stack"))
		}},
	}
	label := "cold deploy vs its floor, no health checks"
	res, err := rounds(ctx, label, b.c.runs, tools, false)
	if err != nil {
		return err
	}
	t := singleTable(label, tools, res)
	r.tables = append(r.tables, t)
	r.floor = t
	for _, st := range []stack{bs, fs} {
		b.teardown(ctx, st.prefix)
	}
	return nil
}
