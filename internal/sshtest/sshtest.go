// Package sshtest starts real OpenSSH sshd servers for integration tests: one
// per call, on a free loopback port, with a throwaway host key and client key.
package sshtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/berth-sh/berth/internal/sshdconf"
	"github.com/berth-sh/berth/internal/testenv"
	"github.com/berth-sh/berth/remote"
)

const sshdPath = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Addr           string // "127.0.0.1:PORT"
	Host           string
	Port           int
	User           string // the user tests log in as: the current user (root in CI), or see LoginShell
	HostKey        ssh.PublicKey
	ClientKeyPath  string // unencrypted ed25519 key authorized on this server
	KnownHostsPath string // known_hosts holding this server's key as "[host]:port"
	LogPath        string // sshd's log (LogLevel VERBOSE)

	dir  string
	cmd  *exec.Cmd
	exit chan struct{} // closed when sshd has exited
	stop sync.Once
}

type config struct {
	user       string
	listen     string
	hostKey    ed25519.PrivateKey
	authorized []ssh.PublicKey
	extra      []string
	loginShell string
	sftp       string
}

// Option changes how Start sets the server up.
type Option func(*config)

// ListenAddr sets the loopback address to listen on (default 127.0.0.1);
// fleets of servers use 127.0.0.2, 127.0.0.3, ...
func ListenAddr(ip string) Option { return func(c *config) { c.listen = ip } }

// HostKey makes the server use key instead of a fresh one.
func HostKey(key ed25519.PrivateKey) Option { return func(c *config) { c.hostKey = key } }

// AuthorizedKey authorizes another client key besides the generated one.
func AuthorizedKey(key ssh.PublicKey) Option {
	return func(c *config) { c.authorized = append(c.authorized, key) }
}

// SFTPServer replaces the sftp subsystem (internal-sftp) with cmd, e.g. one
// that never answers.
func SFTPServer(cmd string) Option { return func(c *config) { c.sftp = cmd } }

// LoginUser makes Target log in as user instead of the current user. sshd
// reads authorized_keys as that user, so the server's files then live in a
// directory every user may traverse (keys stay 0600, root's).
func LoginUser(user string) Option { return func(c *config) { c.user = user } }

// Config adds raw sshd_config lines.
func Config(lines ...string) Option { return func(c *config) { c.extra = append(c.extra, lines...) } }

// Start starts an sshd and stops it when the test ends. It skips (or fails
// under BERTH_E2E=1) where sshd is not installed.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	testenv.NeedSSHD(t)
	cfg := config{listen: "127.0.0.1"}
	for _, o := range opts {
		o(&cfg)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		testenv.Missing(t, "/run/sshd", err.Error())
	}
	dir := t.TempDir()
	s := &Server{dir: dir, Host: cfg.listen, User: currentUser(t)}
	if cfg.loginShell != "" {
		s.User = loginUser(t, cfg.loginShell)
	}
	if cfg.user != "" {
		dir = sharedDir(t)
		s.dir, s.User = dir, cfg.user
	}
	s.writeKeys(t, &cfg)
	if cfg.user != "" {
		if err := os.Chmod(filepath.Join(dir, "authorized_keys"), 0o644); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort(cfg.listen)
		if err != nil {
			t.Fatalf("sshtest: pick a port on %s: %v", cfg.listen, err)
		}
		err = s.start(t, &cfg, port)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	t.Fatalf("sshtest: start sshd: %v", lastErr)
	return nil
}

// sharedDir is a directory other users can traverse (t.TempDir's parent is 0700).
func sharedDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "sshtest-")
	if err == nil {
		err = os.Chmod(dir, 0o711)
	}
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func currentUser(t testing.TB) string {
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshtest: current user: %v", err)
	}
	return u.Username
}

// writeKeys writes the host key, a client key and authorized_keys.
func (s *Server) writeKeys(t testing.TB, cfg *config) {
	t.Helper()
	if cfg.hostKey == nil {
		_, cfg.hostKey, _ = ed25519.GenerateKey(rand.Reader)
	}
	writeKey(t, filepath.Join(s.dir, "host_ed25519"), cfg.hostKey)
	hostPub, err := ssh.NewPublicKey(cfg.hostKey.Public())
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	s.HostKey = hostPub

	clientPub, clientKey, _ := ed25519.GenerateKey(rand.Reader)
	s.ClientKeyPath = filepath.Join(s.dir, "id_ed25519")
	writeKey(t, s.ClientKeyPath, clientKey)
	cp, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	var ak bytes.Buffer
	for _, k := range append([]ssh.PublicKey{cp}, cfg.authorized...) {
		ak.Write(ssh.MarshalAuthorizedKey(k))
	}
	writeFile(t, filepath.Join(s.dir, "authorized_keys"), ak.Bytes())
}

func writeKey(t testing.TB, path string, key ed25519.PrivateKey) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(key, "sshtest")
	if err != nil {
		t.Fatalf("sshtest: marshal key: %v", err)
	}
	writeFile(t, path, pem.EncodeToMemory(block))
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}

// freePort asks the kernel for a free port. Another process may take it
// before sshd binds; Start retries then.
func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(t testing.TB, cfg *config, port int) error {
	t.Helper()
	s.Port = port
	s.Addr = net.JoinHostPort(cfg.listen, strconv.Itoa(port))
	s.LogPath = filepath.Join(s.dir, fmt.Sprintf("sshd-%d.log", port))
	lines := sshdconf.Lines(cfg.listen, port, sshdconf.Paths{
		HostKey:        filepath.Join(s.dir, "host_ed25519"),
		AuthorizedKeys: filepath.Join(s.dir, "authorized_keys"),
		PidFile:        filepath.Join(s.dir, fmt.Sprintf("sshd-%d.pid", port)),
	})
	if cfg.sftp != "" {
		for i, l := range lines {
			if strings.HasPrefix(l, "Subsystem sftp ") {
				lines[i] = "Subsystem sftp " + cfg.sftp
			}
		}
	}
	lines = append(lines, cfg.extra...)
	cfgPath := filepath.Join(s.dir, fmt.Sprintf("sshd-%d.conf", port))
	writeFile(t, cfgPath, []byte(strings.Join(lines, "\n")+"\n"))

	logf, err := os.Create(s.LogPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfgPath)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	exit := make(chan struct{})
	go func() { cmd.Wait(); close(exit) }()
	s.cmd, s.exit = cmd, exit

	// sshd logs "Server listening" once it has bound; a TCP probe would be
	// logged as a connection, so read the log instead.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		log, _ := os.ReadFile(s.LogPath)
		if bytes.Contains(log, []byte("Server listening on")) {
			return s.writeKnownHosts(t)
		}
		select {
		case <-exit:
			return fmt.Errorf("sshd exited: %s", bytes.TrimSpace(log))
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.Stop()
	log, _ := os.ReadFile(s.LogPath)
	return fmt.Errorf("sshd did not start listening on %s within 10s: %s", s.Addr, log)
}

func (s *Server) writeKnownHosts(t testing.TB) error {
	s.KnownHostsPath = filepath.Join(s.dir, "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey) + "\n"
	return os.WriteFile(s.KnownHostsPath, []byte(line), 0o600)
}

// Target is user@host:port for remote.DialSSH.
func (s *Server) Target() string { return s.User + "@" + s.Addr }

// Options returns dial options that reach this server and nothing of the
// user's own setup: its client key, its known_hosts, no ssh config, no agent.
func (s *Server) Options() remote.SSHOptions {
	home := filepath.Join(s.dir, "home")
	_ = os.MkdirAll(home, 0o700)
	return remote.SSHOptions{
		Identities:     []string{s.ClientKeyPath},
		KnownHostsFile: s.KnownHostsPath,
		SSHConfigFile:  "none",
		AgentSocket:    "none",
		HomeDir:        home,
		ConnectTimeout: 10 * time.Second,
	}
}

// Log returns sshd's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

// Connections counts the SSH connections sshd has accepted (authenticated).
func (s *Server) Connections() int {
	return strings.Count(s.Log(), "Accepted publickey")
}

// Stop kills sshd now (e.g. to test a host that went down). It is safe to
// call more than once and is called at cleanup.
func (s *Server) Stop() {
	s.stop.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		killTree(s.cmd.Process.Pid)
		<-s.exit
	})
}
