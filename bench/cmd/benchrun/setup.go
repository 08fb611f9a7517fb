package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/berth-sh/berth/internal/sshdconf"
)

// Image is the tag both tools deploy. It is not the tests' berth-test-app:v1,
// so a test run that rebuilds that tag meanwhile cannot turn a no-op into a
// recreate halfway through a benchmark.
const Image = "berth-bench-app:v1"

type sshd struct {
	ip      string
	port    int
	cmd     *exec.Cmd
	log     string
	exited  chan struct{}
	pidFile string
}

func (s *sshd) target(user string) string { return fmt.Sprintf("%s@%s:%d", user, s.ip, s.port) }

type bench struct {
	c       config
	prefix  string // every Docker object and sshd of this run starts with it
	work    string
	user    string
	key     string
	known   string
	single  *sshd   // 127.0.0.1
	fleet   []*sshd // 127.0.0.2 ...
	ports   map[string]int
	stackPB string // berth's playbook (the test stack)
	coldPB  string // the same without health checks and ready probes
	ansPB   string // the Ansible twin

	composeFile string // the docker-compose twin
	composeCold string // the same without health checks

	createdUser bool // benchrun created the deploy user (and removes it)
}

func newBench(ctx context.Context, c config) (*bench, error) {
	var id [3]byte
	_, _ = rand.Read(id[:])
	b := &bench{c: c, prefix: "bbench" + hex.EncodeToString(id[:]) + "-", ports: map[string]int{}}
	b.user = envStr("BENCH_USER", benchUser)
	var err error
	// A short path: ssh control sockets live under it (108-byte limit).
	b.work, err = os.MkdirTemp("/tmp", "bb")
	if err != nil {
		return nil, err
	}
	// bench/run kills what this file lists if benchrun itself dies.
	_ = os.WriteFile(filepath.Join(b.work, "prefix"), []byte(b.prefix+"\n"), 0o644)
	if owner := os.Getenv("BENCH_OWNER"); owner != "" {
		_ = os.WriteFile(filepath.Join(b.work, "owner"), []byte(owner+"\n"), 0o644)
	}
	if b.c.repo, err = filepath.Abs(c.repo); err != nil {
		return nil, err
	}
	for _, p := range []*string{&b.c.out, &b.c.berth} {
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(b.c.repo, *p)
		}
	}
	logf("scratch dir %s, object prefix %s", b.work, b.prefix)
	return b, nil
}

func (b *bench) path(elem ...string) string {
	return filepath.Join(append([]string{b.work}, elem...)...)
}

func (b *bench) setup(ctx context.Context) error {
	tools := []string{"docker", "ssh", "ssh-keygen", "/usr/sbin/sshd", "/usr/bin/time", "busybox", "useradd"}
	if b.c.cases["noop"] || b.c.cases["cold"] || b.c.cases["fleet"] || b.c.cases["change"] {
		tools = append(tools, "ansible-playbook", "docker-compose") // the floor case needs neither
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is missing (bench/run installs it): %v", tool, err)
		}
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	if err := b.buildImage(ctx); err != nil {
		return err
	}
	if err := b.keys(ctx); err != nil {
		return err
	}
	if err := b.startSSHDs(ctx); err != nil {
		return err
	}
	if err := b.playbooks(); err != nil {
		return err
	}
	for _, name := range []string{"noop-b", "noop-a", "noop-c", "cold-b", "cold-a", "cold-c", "floor-b", "floor-f"} {
		p, err := freePort("127.0.0.1", b.ports)
		if err != nil {
			return err
		}
		b.ports[name] = p
	}
	for _, d := range []string{"state", "astate", "fstate", "creds", "cstate", "ansible-local"} {
		if err := os.MkdirAll(b.path(d), 0o700); err != nil {
			return err
		}
	}
	if err := b.deployUser(ctx); err != nil {
		return err
	}
	if err := b.composeSetup(); err != nil {
		return err
	}
	return b.ansibleConfig()
}

func run(ctx context.Context, dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(out, 30))
	}
	return out, nil
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// buildImage builds the tests' image (internal/testimage) under the bench tag.
func (b *bench) buildImage(ctx context.Context) error {
	logf("building %s", Image)
	dir := b.path("image")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, err := run(ctx, b.c.repo, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath",
		"-ldflags", "-s -w -X main.version=v1", "-o", filepath.Join(dir, "app"), "./internal/testimage/app"); err != nil {
		return err
	}
	busybox, _ := exec.LookPath("busybox")
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sh"), bb, 0o755); err != nil {
		return err
	}
	df := "FROM scratch\nCOPY sh /bin/sh\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return err
	}
	_, err = run(ctx, dir, []string{"DOCKER_BUILDKIT=0"}, "docker", "build", "-q", "-t", Image, dir)
	return err
}

// keys makes a throwaway client key and host key, and authorized_keys.
func (b *bench) keys(ctx context.Context) error {
	for _, k := range []string{"id_ed25519", "host_ed25519"} {
		if _, err := run(ctx, b.work, nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "berth-bench", "-f", b.path(k)); err != nil {
			return err
		}
	}
	b.key = b.path("id_ed25519")
	pub, err := os.ReadFile(b.key + ".pub")
	if err != nil {
		return err
	}
	return os.WriteFile(b.path("authorized_keys"), pub, 0o600)
}

// freePort asks the kernel for a free port on ip, avoiding ports already
// handed out in this run.
func freePort(ip string, taken map[string]int) (int, error) {
	for i := 0; i < 20; i++ {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		dup := false
		for _, q := range taken {
			dup = dup || q == p
		}
		if !dup {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port on %s", ip)
}

func (b *bench) startSSHDs(ctx context.Context) error {
	n := 0
	if b.c.cases["fleet"] {
		for _, s := range b.c.fleet {
			n = max(n, s)
		}
	}
	if n > 254 {
		return fmt.Errorf("fleet of %d: at most 254 loopback addresses (127.0.0.2..)", n)
	}
	logf("starting %d sshd(s)", n+1)
	ips := []string{"127.0.0.1"}
	for i := 0; i < n; i++ {
		ips = append(ips, fmt.Sprintf("127.0.0.%d", i+2))
	}
	hostPub, err := os.ReadFile(b.path("host_ed25519.pub"))
	if err != nil {
		return err
	}
	fields := strings.Fields(string(hostPub))
	var known bytes.Buffer
	for i, ip := range ips {
		s, err := b.startSSHD(ctx, ip)
		if err != nil {
			return err
		}
		if i == 0 {
			b.single = s
		} else {
			b.fleet = append(b.fleet, s)
		}
		fmt.Fprintf(&known, "[%s]:%d %s %s\n", s.ip, s.port, fields[0], fields[1])
	}
	b.known = b.path("known_hosts")
	if err := os.WriteFile(b.known, known.Bytes(), 0o600); err != nil {
		return err
	}
	for _, s := range append([]*sshd{b.single}, b.fleet...) {
		if err := waitListening(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) startSSHD(ctx context.Context, ip string) (*sshd, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(ip, nil)
		if err != nil {
			return nil, fmt.Errorf("loopback address %s: %v", ip, err)
		}
		name := fmt.Sprintf("sshd-%s-%d", ip, port)
		s := &sshd{ip: ip, port: port, log: b.path(name + ".log"), pidFile: b.path(name + ".pid"), exited: make(chan struct{})}
		cfg := strings.Join(sshdconf.Lines(ip, port, sshdconf.Paths{
			HostKey:        b.path("host_ed25519"),
			AuthorizedKeys: b.path("authorized_keys"),
			PidFile:        s.pidFile,
		}), "\n") + "\n"
		cfgPath := b.path(name + ".conf")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		logFile, err := os.Create(s.log)
		if err != nil {
			return nil, err
		}
		s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", cfgPath)
		s.cmd.Stderr = logFile
		s.cmd.Stdout = logFile
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := s.cmd.Start(); err != nil {
			logFile.Close()
			return nil, fmt.Errorf("start sshd: %v", err)
		}
		logFile.Close()
		// Record the pid at once: bench/run's trap kills what is listed.
		f, _ := os.OpenFile(b.path("pids"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		fmt.Fprintln(f, s.cmd.Process.Pid)
		f.Close()
		go func() { _ = s.cmd.Wait(); close(s.exited) }()
		select {
		case <-s.exited:
			lastErr = fmt.Errorf("sshd on %s:%d exited: %s", ip, port, readTail(s.log))
			continue
		case <-time.After(30 * time.Millisecond):
		}
		return s, nil
	}
	return nil, lastErr
}

func readTail(path string) string {
	b, _ := os.ReadFile(path)
	return tail(b, 5)
}

func waitListening(ctx context.Context, s *sshd) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("sshd on %s:%d exited: %s", s.ip, s.port, readTail(s.log))
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(s.ip, strconv.Itoa(s.port)), time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("sshd on %s:%d not listening: %v", s.ip, s.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logCounts is what the sshd logs say so far: connections authenticated and
// sessions started (one per command, shell or subsystem such as sftp).
type logCounts struct{ conns, sessions int }

func countLogs(servers []*sshd) logCounts {
	var c logCounts
	for _, s := range servers {
		f, err := os.Open(s.log)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.Contains(line, "Accepted publickey"):
				c.conns++
			case strings.Contains(line, "Starting session:"):
				c.sessions++
			}
		}
		f.Close()
	}
	return c
}

// playbooks writes berth's no-health variant and copies the Ansible twin.
func (b *bench) playbooks() error {
	b.stackPB = filepath.Join(b.c.repo, "cmd/berth/testdata/stack.yaml")
	src, err := os.ReadFile(b.stackPB)
	if err != nil {
		return err
	}
	var out []string
	for _, line := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "health:") || strings.HasPrefix(t, "ready:") {
			continue
		}
		out = append(out, line)
	}
	b.coldPB = b.path("stack-nohealth.yaml")
	if err := os.WriteFile(b.coldPB, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		return err
	}
	b.ansPB = filepath.Join(b.c.repo, "bench/ansible/stack.yml")
	_, err = os.Stat(b.ansPB)
	return err
}

func (b *bench) ansibleConfig() error {
	cfg := fmt.Sprintf(`[defaults]
host_key_checking = True
interpreter_python = /usr/bin/python3
retry_files_enabled = False
nocows = True
deprecation_warnings = False
local_tmp = %s
`, b.path("ansible-local"))
	return os.WriteFile(b.path("ansible.cfg"), []byte(cfg), 0o644)
}

// inventory writes an INI inventory of the given servers.
func (b *bench) inventory(servers []*sshd) (string, error) {
	var buf bytes.Buffer
	buf.WriteString("[stack]\n")
	for _, s := range servers {
		fmt.Fprintf(&buf, "%s ansible_host=%s ansible_port=%d\n", s.ip, s.ip, s.port)
	}
	fmt.Fprintf(&buf, "\n[all:vars]\nansible_connection=ssh\nansible_user=%s\nansible_ssh_private_key_file=%s\n", b.user, b.key)
	fmt.Fprintf(&buf, "ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'\n", b.known)
	path := b.path(fmt.Sprintf("inventory-%d-%s.ini", len(servers), servers[0].ip))
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}

// teardown removes every Docker object whose name starts with prefix, and
// the state both tools keep for that stack.
func (b *bench) teardown(ctx context.Context, prefix string) {
	list := func(args ...string) []string {
		out, err := exec.CommandContext(ctx, "docker", args...).Output()
		if err != nil {
			return nil
		}
		var names []string
		for _, n := range strings.Fields(string(out)) {
			if strings.HasPrefix(n, prefix) {
				names = append(names, n)
			}
		}
		return names
	}
	if names := list("ps", "-a", "--filter", "name="+prefix, "--format", "{{.Names}}"); len(names) > 0 {
		_ = exec.CommandContext(ctx, "docker", append([]string{"rm", "-f"}, names...)...).Run()
	}
	if names := list("network", "ls", "--filter", "name="+prefix, "--format", "{{.Name}}"); len(names) > 0 {
		_ = exec.CommandContext(ctx, "docker", append([]string{"network", "rm"}, names...)...).Run()
	}
	if names := list("volume", "ls", "--filter", "name="+prefix, "--format", "{{.Name}}"); len(names) > 0 {
		_ = exec.CommandContext(ctx, "docker", append([]string{"volume", "rm", "-f"}, names...)...).Run()
	}
	_ = os.RemoveAll(b.path("state", prefix+"stack"))
	_ = os.Remove(b.path("astate", prefix+"secrets.env"))
	_ = os.Remove(b.path("creds", prefix+"db_password"))
	_ = os.Remove(b.path("cstate", prefix+"secrets.env"))
	_ = os.RemoveAll(b.path("fstate", prefix+"stack"))
}

func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logf("cleaning up")
	for _, s := range append([]*sshd{b.single}, b.fleet...) {
		if s != nil && s.cmd != nil && s.cmd.Process != nil {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		}
	}
	for _, s := range append([]*sshd{b.single}, b.fleet...) {
		if s == nil {
			continue
		}
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	b.teardown(ctx, b.prefix)
	b.removeUser()
	if !b.c.keep {
		_ = os.RemoveAll(b.work)
	} else {
		logf("kept %s", b.work)
	}
}
