package remote_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/remote"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// output runs args and returns their stdout.
func output(t *testing.T, c remote.Conn, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := c.Run(testCtx(t), remote.Cmd{Args: args, Stdout: &out})
	return out.Bytes(), err
}

func dial(t *testing.T, target string, opts remote.SSHOptions) *remote.SSH {
	t.Helper()
	c, err := remote.DialSSH(testCtx(t), target, opts)
	if err != nil {
		t.Fatalf("DialSSH(%s): %v", target, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// shared starts one sshd (and one connection to it) for the tests that do
// not care about connection counts.
func shared(t *testing.T) (*sshtest.Server, *remote.SSH) {
	srv := sshtest.Start(t)
	return srv, dial(t, srv.Target(), srv.Options())
}

func TestSSHRun(t *testing.T) {
	_, c := shared(t)
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantOut    string
		wantStderr string
		wantCode   int // -2: no *ExitError expected
	}{
		{name: "ok", args: []string{"echo", "hi"}, wantOut: "hi\n", wantCode: -2},
		{name: "exit 3", args: []string{"sh", "-c", "exit 3"}, wantCode: 3},
		{name: "exit 255", args: []string{"sh", "-c", "exit 255"}, wantCode: 255},
		{name: "false", args: []string{"false"}, wantCode: 1},
		{name: "stdout and stderr apart", args: []string{"sh", "-c", "echo out; echo err >&2"},
			wantOut: "out\n", wantStderr: "err\n", wantCode: -2},
		{name: "stdin", args: []string{"tr", "a-z", "A-Z"}, stdin: "shout\n", wantOut: "SHOUT\n", wantCode: -2},
		{name: "big stdin", args: []string{"wc", "-c"}, stdin: strings.Repeat("x", 1<<20), wantOut: "1048576\n", wantCode: -2},
		{name: "not found", args: []string{"berth-no-such-command"}, wantCode: 127,
			wantStderr: "exec: berth-no-such-command: not found\n"},
		{name: "killed", args: []string{"sh", "-c", "kill -9 $$"}, wantCode: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			cmd := remote.Cmd{Args: tt.args, Stdout: &out, Stderr: &errb}
			if tt.stdin != "" {
				cmd.Stdin = strings.NewReader(tt.stdin)
			}
			err := c.Run(testCtx(t), cmd)
			var xe *remote.ExitError
			if tt.wantCode == -2 {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			} else if !errors.As(err, &xe) || xe.Code != tt.wantCode {
				t.Fatalf("Run: %v, want exit status %d", err, tt.wantCode)
			}
			if strings.TrimLeft(out.String(), " ") != tt.wantOut {
				t.Errorf("stdout %q, want %q", out.String(), tt.wantOut)
			}
			// The shell's own messages start with its name: compare the end.
			if got := errb.String(); !strings.HasSuffix(got, tt.wantStderr) || (tt.wantStderr == "" && got != "") {
				t.Errorf("stderr %q, want %q", got, tt.wantStderr)
			}
		})
	}
	t.Run("stderr tail kept in ExitError", func(t *testing.T) {
		err := c.Run(testCtx(t), remote.Cmd{Args: []string{"sh", "-c", "echo boom >&2; exit 2"}})
		var xe *remote.ExitError
		if !errors.As(err, &xe) || xe.Code != 2 || strings.TrimSpace(xe.Stderr) != "boom" {
			t.Fatalf("got %#v", err)
		}
		if !strings.Contains(err.Error(), c.Host()) || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("error %q should name the host and carry stderr", err)
		}
	})
	t.Run("Script", func(t *testing.T) {
		var out bytes.Buffer
		err := remote.Script(testCtx(t), c, `printf '%s|' "$@"`, &out, "a b", "$(x)")
		if err != nil || out.String() != "a b|$(x)|" {
			t.Fatalf("Script: %q, %v", out.String(), err)
		}
	})
}

// hostile mirrors the quoting table in quote_test.go (different package).
var hostile = []string{
	"$(reboot)", "`reboot`", "${PATH}", "$HOME", "'", `"`, "it's", `"quoted"`, `a'b"c`, `\`,
	"a\nb", "\n", "\t", "tab\there", " ", ";", "|", "&", "<", ">", "*", "?", "~", "#",
	"a;b|c&d<e>f*g?h~i#j", "!", "{a,b}", "[abc]", "a=b", "%s",
	"héllo wörld", "日本語", "", "-n", "--", "--help", "-",
}

// loginShells are the login shells sshd may hand berth's command to.
var loginShells = []string{"/bin/sh", "/bin/bash", "/usr/bin/fish", "/usr/bin/tcsh"}

// TestSSHHostileArgs sends every hostile argument through each login shell:
// the remote argv must be exactly what was sent, whatever the shell.
func TestSSHHostileArgs(t *testing.T) {
	for _, shell := range loginShells {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			srv := sshtest.Start(t, sshtest.LoginShell(shell))
			hostileArgs(t, dial(t, srv.Target(), srv.Options()))
		})
	}
}

func hostileArgs(t *testing.T, c *remote.SSH) {
	argv := func(t *testing.T, args []string) []string {
		t.Helper()
		out, err := output(t, c, append([]string{"printf", `%s\0`, "marker"}, args...)...)
		if err != nil {
			t.Fatalf("printf: %v", err)
		}
		got := strings.Split(string(out), "\x00")
		if len(got) < 2 || got[0] != "marker" {
			t.Fatalf("printf printed %q", out)
		}
		return got[1 : len(got)-1]
	}
	for _, a := range hostile {
		t.Run(a, func(t *testing.T) {
			if got := argv(t, []string{a}); len(got) != 1 || got[0] != a {
				t.Fatalf("sent %q, remote saw %q", a, got)
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		if got := argv(t, hostile); strings.Join(got, "\x00") != strings.Join(hostile, "\x00") {
			t.Fatalf("sent %q\nremote saw %q", hostile, got)
		}
	})
	t.Run("fish and tcsh escapes", func(t *testing.T) {
		// The reported exploit: in fish, \' inside single quotes is a quote.
		pwned := filepath.Join(t.TempDir(), "pwned")
		args := []string{`x\`, ";touch " + pwned + ";#"}
		out, err := output(t, c, append([]string{"echo"}, args...)...)
		if err != nil || string(out) != strings.Join(args, " ")+"\n" {
			t.Errorf("echo: %q, %v", out, err)
		}
		if _, err := os.Stat(pwned); err == nil {
			t.Fatal("an argument was run as a command")
		}
	})
	t.Run("stdin reaches the command", func(t *testing.T) {
		in := strings.Repeat("line\n", 1000) + "no newline"
		var out bytes.Buffer
		err := c.Run(testCtx(t), remote.Cmd{Args: []string{"cat"}, Stdin: strings.NewReader(in), Stdout: &out})
		if err != nil || out.String() != in {
			t.Fatalf("cat: %d bytes back of %d, %v", out.Len(), len(in), err)
		}
	})
	t.Run("Script", func(t *testing.T) {
		var out bytes.Buffer
		err := remote.Script(testCtx(t), c, `printf '%s|' "$@"`, &out, hostile...)
		if want := strings.Join(hostile, "|") + "|"; err != nil || out.String() != want {
			t.Fatalf("Script: %q, %v; want %q", out.String(), err, want)
		}
	})
	t.Run("NUL rejected before sending", func(t *testing.T) {
		before := c.Stats().Commands
		err := c.Run(testCtx(t), remote.Cmd{Args: []string{"echo", "a\x00b"}})
		if !errors.Is(err, remote.ErrNUL) {
			t.Fatalf("got %v, want ErrNUL", err)
		}
		if c.Stats().Commands != before {
			t.Fatal("a command with a NUL byte was sent")
		}
	})
}

func TestSSHOneConnection(t *testing.T) {
	srv := sshtest.Start(t)
	c := dial(t, srv.Target(), srv.Options())
	const n = 20
	for i := range n {
		out, err := output(t, c, "echo", strconv.Itoa(i))
		if err != nil || string(out) != strconv.Itoa(i)+"\n" {
			t.Fatalf("command %d: %q, %v", i, out, err)
		}
	}
	// Concurrent commands share the connection too.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- c.Run(testCtx(t), remote.Cmd{Args: []string{"true"}})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Connections(); got != 1 {
		t.Fatalf("sshd saw %d connections, want 1", got)
	}
	if st := c.Stats(); st != (remote.Stats{Connections: 1, Commands: 2 * n}) {
		t.Fatalf("stats %+v", st)
	}
}

func TestSSHRunCancel(t *testing.T) {
	_, c := shared(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	// Cancel once the command is seen running on the host.
	started := writerFunc(func(p []byte) (int, error) {
		if strings.Contains(string(p), "started") {
			cancel()
		}
		return len(p), nil
	})
	err := c.Run(ctx, remote.Cmd{Args: []string{"sh", "-c", "echo started; exec sleep 60"}, Stdout: started})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := output(t, c, "true"); err != nil {
		t.Fatalf("connection unusable after a cancelled command: %v", err)
	}
}

// writerFunc is a Write method as a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestSSHConnectionLost(t *testing.T) {
	_, c := shared(t)
	// Kill the sshd process serving this connection: no exit status arrives.
	err := c.Run(testCtx(t), remote.Cmd{Args: []string{"sh", "-c", `kill -9 "$PPID"; sleep 5`}})
	var xe *remote.ExitError
	if err == nil || errors.As(err, &xe) || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("got %v, want a connection-lost error", err)
	}
}

func TestSSHUpload(t *testing.T) {
	srv, c := shared(t)
	dir := t.TempDir() // sshd runs on this machine: its files are ours to inspect
	dst := filepath.Join(dir, "secret.env")

	tests := []struct {
		name     string
		existing []byte
		mode     os.FileMode
	}{
		{name: "new file", mode: 0o600},
		{name: "overwrite", existing: []byte("old contents, world-readable\n"), mode: 0o600},
		{name: "mode 0640", existing: []byte("x"), mode: 0o640},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.existing != nil {
				if err := os.WriteFile(dst, tt.existing, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				os.Remove(dst)
			}
			data := []byte(fmt.Sprintf("PASSWORD='s3cr3t %d'\n", i))
			if err := c.Upload(testCtx(t), dst, data, tt.mode); err != nil {
				t.Fatalf("Upload: %v", err)
			}
			got, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("file holds %q, %v; want %q", got, err, data)
			}
			fi, _ := os.Stat(dst)
			if fi.Mode().Perm() != tt.mode {
				t.Fatalf("mode %v, want %v", fi.Mode().Perm(), tt.mode)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				t.Fatalf("directory holds %d entries (temp files left?): %v", len(ents), ents)
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		err := c.Upload(testCtx(t), filepath.Join(dir, "nope", "f"), []byte("x"), 0o600)
		if err == nil || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("readers never see a partial file", func(t *testing.T) {
		a, b := bytes.Repeat([]byte("a"), 256<<10), bytes.Repeat([]byte("b"), 256<<10)
		if err := c.Upload(testCtx(t), dst, a, 0o600); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		bad := make(chan string, 1)
		go func() {
			for {
				select {
				case <-stop:
					close(bad)
					return
				default:
				}
				got, err := os.ReadFile(dst)
				if err != nil || !(bytes.Equal(got, a) || bytes.Equal(got, b)) {
					bad <- fmt.Sprintf("read %d bytes, err %v", len(got), err)
					return
				}
			}
		}()
		for i := range 10 {
			data := a
			if i%2 == 0 {
				data = b
			}
			if err := c.Upload(testCtx(t), dst, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		if msg, ok := <-bad; ok {
			t.Fatal(msg)
		}
	})
	if n := strings.Count(srv.Log(), "subsystem 'sftp'"); n != 1 {
		t.Errorf("sftp subsystem started %d times, want once per connection\n%s", n, srv.Log())
	}
}

func TestSSHSudoUpload(t *testing.T) {
	// A stand-in sudo that checks its flags and runs the rest: enough to see
	// that commands are prefixed and uploads go through a command.
	bin := t.TempDir()
	fake := "#!/bin/sh\n[ \"$1\" = -n ] && [ \"$2\" = -- ] || { echo bad sudo args: \"$@\" >&2; exit 99; }\nshift 2\nexec \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := sshtest.Start(t, sshtest.Config("SetEnv PATH="+bin+":/usr/sbin:/usr/bin:/sbin:/bin"))
	opts := srv.Options()
	opts.Sudo = true
	c := dial(t, srv.Target(), opts)
	out, err := output(t, c, "sh", "-c", `command -v sudo; printf '%s\n' "$@"`, "x", "$(id)")
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != filepath.Join(bin, "sudo")+"\n$(id)\n" {
		t.Fatalf("got %q", out)
	}
	dst := filepath.Join(t.TempDir(), "f")
	if err := c.Upload(testCtx(t), dst, []byte("root only"), 0o600); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v %v", fi, err)
	}
	if st := c.Stats(); st.Uploads != 0 || st.Commands != 2 {
		t.Fatalf("stats %+v: a sudo upload should be one command", st)
	}
}

func TestSSHDialContext(t *testing.T) {
	_, c := shared(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ready")
	}))
	defer hs.Close()
	client := &http.Client{Transport: &http.Transport{DialContext: c.DialContext}}
	resp, err := client.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ready" {
		t.Fatalf("got %q", body)
	}
	if _, err := c.DialContext(testCtx(t), "tcp", "127.0.0.1:1"); err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
}

// otherKnownHosts writes a known_hosts file with the given lines.
func writeKnownHosts(t *testing.T, lines ...string) string {
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newPub(t *testing.T) ssh.PublicKey {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSSHHostKeys(t *testing.T) {
	srv := sshtest.Start(t)
	host := knownhosts.Normalize(srv.Addr)
	fp := ssh.FingerprintSHA256(srv.HostKey)

	t.Run("mismatch refused", func(t *testing.T) {
		kh := writeKnownHosts(t, "# comment", knownhosts.Line([]string{host}, newPub(t)))
		for _, policy := range []remote.HostKeyPolicy{remote.HostKeyStrict, remote.HostKeyAcceptNew} {
			opts := srv.Options()
			opts.KnownHostsFile, opts.HostKeyPolicy = kh, policy
			var warn bytes.Buffer
			opts.Warn = &warn
			_, err := remote.DialSSH(testCtx(t), srv.Target(), opts)
			var hk *remote.HostKeyError
			if !errors.As(err, &hk) || hk.Unknown {
				t.Fatalf("%s: got %v, want a host key mismatch", policy, err)
			}
			for _, want := range []string{host, fp, kh + ":2", "MISMATCH"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: error %q does not mention %q", policy, err, want)
				}
			}
			if strings.Contains(warn.String(), "retrying") {
				t.Errorf("host key error was retried: %s", warn.String())
			}
		}
	})
	t.Run("hashed entry", func(t *testing.T) {
		opts := srv.Options()
		opts.KnownHostsFile = writeKnownHosts(t, knownhosts.Line([]string{knownhosts.HashHostname(host)}, srv.HostKey))
		dial(t, srv.Target(), opts)
	})
	t.Run("unknown host refused under strict", func(t *testing.T) {
		for _, kh := range []string{writeKnownHosts(t, "# empty"), filepath.Join(t.TempDir(), "missing")} {
			opts := srv.Options()
			opts.KnownHostsFile = kh
			_, err := remote.DialSSH(testCtx(t), srv.Target(), opts)
			var hk *remote.HostKeyError
			if !errors.As(err, &hk) || !hk.Unknown {
				t.Fatalf("got %v, want unknown host", err)
			}
			for _, want := range []string{host, fp, kh, "accept-new", "ssh-keyscan"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		}
	})
	t.Run("accept-new records then strict works", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "sub", "known_hosts")
		var warn bytes.Buffer
		opts := srv.Options()
		opts.KnownHostsFile, opts.HostKeyPolicy, opts.Warn = kh, remote.HostKeyAcceptNew, &warn
		dial(t, srv.Target(), opts)
		if !strings.Contains(warn.String(), fp) {
			t.Errorf("no notice of the new key: %q", warn.String())
		}
		b, err := os.ReadFile(kh)
		if err != nil || !strings.Contains(string(b), host) {
			t.Fatalf("known_hosts: %q, %v", b, err)
		}
		opts.HostKeyPolicy = remote.HostKeyStrict
		dial(t, srv.Target(), opts)
		opts.HostKeyPolicy = remote.HostKeyAcceptNew
		dial(t, srv.Target(), opts)
		if b2, _ := os.ReadFile(kh); !bytes.Equal(b, b2) {
			t.Fatalf("known host recorded twice:\n%s", b2)
		}
	})
	t.Run("insecure warns", func(t *testing.T) {
		var warn bytes.Buffer
		opts := srv.Options()
		opts.KnownHostsFile = writeKnownHosts(t, knownhosts.Line([]string{host}, newPub(t)))
		opts.HostKeyPolicy, opts.Warn = remote.HostKeyInsecureIgnore, &warn
		dial(t, srv.Target(), opts)
		if !strings.Contains(warn.String(), "WARNING") || !strings.Contains(warn.String(), "insecure-ignore-host-key") {
			t.Fatalf("warning %q", warn.String())
		}
	})
	t.Run("bad policy", func(t *testing.T) {
		opts := srv.Options()
		opts.HostKeyPolicy = "yolo"
		if _, err := remote.DialSSH(testCtx(t), srv.Target(), opts); err == nil {
			t.Fatal("accepted an unknown policy")
		}
	})
}

func newKey(t *testing.T) (ed25519.PrivateKey, ssh.PublicKey) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return priv, k
}

func TestSSHAgentAuth(t *testing.T) {
	priv, pub := newKey(t)
	srv := sshtest.Start(t, sshtest.AuthorizedKey(pub))
	opts := srv.Options()
	opts.Identities = nil // HomeDir is empty: no default key files either
	opts.AgentSocket = sshtest.ServeAgent(t, priv)
	c := dial(t, srv.Target(), opts)
	if _, err := output(t, c, "true"); err != nil {
		t.Fatal(err)
	}

	t.Run("agent with the wrong key", func(t *testing.T) {
		other, _ := newKey(t)
		opts.AgentSocket = sshtest.ServeAgent(t, other)
		var warn bytes.Buffer
		opts.Warn = &warn
		_, err := remote.DialSSH(testCtx(t), srv.Target(), opts)
		if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Fatalf("got %v", err)
		}
		if strings.Contains(warn.String(), "retrying") {
			t.Errorf("auth failure was retried: %s", warn.String())
		}
	})
	t.Run("no credentials at all", func(t *testing.T) {
		opts.AgentSocket = "none"
		_, err := remote.DialSSH(testCtx(t), srv.Target(), opts)
		if err == nil || !strings.Contains(err.Error(), "no SSH credentials") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSSHPassphraseKey(t *testing.T) {
	priv, pub := newKey(t)
	srv := sshtest.Start(t, sshtest.AuthorizedKey(pub))
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("hunter2"))
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "id_encrypted")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	base := srv.Options()
	base.Identities = []string{keyPath}

	tests := []struct {
		name    string
		pass    string
		agent   bool
		wantErr []string
	}{
		{name: "no passphrase", wantErr: []string{keyPath, "passphrase", remote.PassphraseEnv}},
		{name: "wrong passphrase", pass: "nope", wantErr: []string{keyPath}},
		{name: "right passphrase", pass: "hunter2"},
		{name: "no passphrase but the agent has the key", agent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			opts.Passphrase = func(string) ([]byte, error) { return []byte(tt.pass), nil }
			if tt.agent {
				opts.AgentSocket = sshtest.ServeAgent(t, priv)
			}
			c, err := remote.DialSSH(testCtx(t), srv.Target(), opts)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// jumpPair starts a bastion and a target on another loopback address, with
// one known_hosts file for both.
func jumpPair(t *testing.T) (bastion, target *sshtest.Server, knownHosts string) {
	bastion = sshtest.Start(t)
	target = sshtest.Start(t, sshtest.ListenAddr("127.0.0.2"))
	line := func(s *sshtest.Server) string {
		return knownhosts.Line([]string{knownhosts.Normalize(s.Addr)}, s.HostKey)
	}
	return bastion, target, writeKnownHosts(t, line(bastion), line(target))
}

func TestSSHJump(t *testing.T) {
	t.Run("Jump option", func(t *testing.T) {
		bastion, target, kh := jumpPair(t)
		opts := target.Options()
		opts.KnownHostsFile = kh
		opts.Identities = []string{bastion.ClientKeyPath, target.ClientKeyPath}
		opts.Jump = bastion.Target()
		c := dial(t, target.Target(), opts)
		if out, err := output(t, c, "echo", "via bastion"); err != nil || string(out) != "via bastion\n" {
			t.Fatalf("%q, %v", out, err)
		}
		if err := c.Upload(testCtx(t), filepath.Join(t.TempDir(), "f"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, tg := bastion.Connections(), target.Connections(); b != 1 || tg != 1 {
			t.Fatalf("bastion saw %d connections, target %d; want 1 and 1", b, tg)
		}
		if st := c.Stats(); st.Connections != 2 {
			t.Fatalf("stats %+v, want 2 connections (jump + target)", st)
		}
	})
	t.Run("ProxyJump in ssh config", func(t *testing.T) {
		bastion, target, kh := jumpPair(t)
		cfg := fmt.Sprintf(`Host blog
  HostName %s
  Port %d
  User %s
  IdentityFile %s
  ProxyJump gate

Host gate
  HostName %s
  Port %d
  IdentityFile %s
`, target.Host, target.Port, target.User, target.ClientKeyPath, bastion.Host, bastion.Port, bastion.ClientKeyPath)
		cfgPath := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		opts := target.Options()
		opts.Identities, opts.KnownHostsFile, opts.SSHConfigFile = nil, kh, cfgPath
		c := dial(t, "blog", opts)
		if c.Host() != target.Target() {
			t.Errorf("Host() = %q, want %q", c.Host(), target.Target())
		}
		if c.Addr() != target.Host {
			t.Errorf("Addr() = %q, want the HostName the bastion was asked for, %s", c.Addr(), target.Host)
		}
		if _, err := output(t, c, "true"); err != nil {
			t.Fatal(err)
		}
		if b, tg := bastion.Connections(), target.Connections(); b != 1 || tg != 1 {
			t.Fatalf("bastion saw %d connections, target %d; want 1 and 1", b, tg)
		}
	})
	t.Run("jump host key checked", func(t *testing.T) {
		bastion, target, _ := jumpPair(t)
		opts := target.Options() // knows only the target
		opts.Identities = []string{bastion.ClientKeyPath, target.ClientKeyPath}
		opts.Jump = bastion.Target()
		_, err := remote.DialSSH(testCtx(t), target.Target(), opts)
		var hk *remote.HostKeyError
		if !errors.As(err, &hk) || !strings.Contains(err.Error(), "jump host") || hk.Host != knownhosts.Normalize(bastion.Addr) {
			t.Fatalf("got %v, want an unknown jump host", err)
		}
	})
	t.Run("target down behind the bastion", func(t *testing.T) {
		bastion, target, kh := jumpPair(t)
		target.Stop()
		opts := target.Options()
		opts.KnownHostsFile = kh
		opts.Identities = []string{bastion.ClientKeyPath, target.ClientKeyPath}
		opts.Jump = bastion.Target()
		opts.ConnectTimeout = time.Second
		_, err := remote.DialSSH(testCtx(t), target.Target(), opts)
		if err == nil || !strings.Contains(err.Error(), "gave up after 1s") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSSHConfigFile(t *testing.T) {
	srv := sshtest.Start(t)
	// HostName is a name: the address berth reports is the one it reached.
	cfg := fmt.Sprintf("Host web1\n  HostName localhost\n  Port %d\n  User %s\n  IdentityFile %s\n\nHost *\n  User nobody-here\n",
		srv.Port, srv.User, srv.ClientKeyPath)
	cfgPath := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize("localhost:" + strconv.Itoa(srv.Port))}, srv.HostKey)
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := srv.Options()
	opts.Identities, opts.SSHConfigFile, opts.KnownHostsFile = nil, cfgPath, kh
	c := dial(t, "web1", opts)
	if want := srv.User + "@localhost:" + strconv.Itoa(srv.Port); c.Host() != want {
		t.Fatalf("Host() = %q, want %q", c.Host(), want)
	}
	if c.Addr() != srv.Host {
		t.Errorf("Addr() = %q, want the address connected to, %s", c.Addr(), srv.Host)
	}
	out, err := output(t, c, "id", "-un")
	if err != nil || strings.TrimSpace(string(out)) != srv.User {
		t.Fatalf("id -un: %q, %v", out, err)
	}

	t.Run("missing explicit config", func(t *testing.T) {
		opts := srv.Options()
		opts.SSHConfigFile = filepath.Join(t.TempDir(), "nope")
		if _, err := remote.DialSSH(testCtx(t), srv.Target(), opts); err == nil || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("got %v", err)
		}
	})
}

// deadAddr is a loopback port nothing listens on.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestSSHDialRetry(t *testing.T) {
	t.Run("gives up after ConnectTimeout", func(t *testing.T) {
		srv := sshtest.Start(t)
		opts := srv.Options()
		opts.ConnectTimeout = 2 * time.Second
		var warn bytes.Buffer
		opts.Warn = &warn
		addr := deadAddr(t)
		_, err := remote.DialSSH(testCtx(t), "root@"+addr, opts)
		if err == nil {
			t.Fatal("dial succeeded")
		}
		for _, want := range []string{"connect root@" + addr, "gave up after 2s", "attempts)", "connection refused"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "(1 attempts)") {
			t.Errorf("not retried: %v", err)
		}
		// One line says that retrying started, naming host, reason and deadline.
		lines := strings.Split(strings.TrimSpace(warn.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], "root@"+addr) || !strings.Contains(lines[0], "connection refused") ||
			!strings.Contains(lines[0], "retrying until") {
			t.Errorf("warnings %q, want one line about retrying", warn.String())
		}
	})
	t.Run("cancel stops retrying", func(t *testing.T) {
		srv := sshtest.Start(t)
		opts := srv.Options()
		opts.ConnectTimeout = time.Hour
		ctx, cancel := context.WithCancel(testCtx(t))
		// Cancel once retrying has started.
		opts.Warn = writerFunc(func(p []byte) (int, error) { cancel(); return len(p), nil })
		_, err := remote.DialSSH(ctx, deadAddr(t), opts)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
	t.Run("host that comes up while retrying", func(t *testing.T) {
		srv := sshtest.Start(t)
		// Forward a port to sshd only after a while, as a booting host would.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		retrying := make(chan struct{})
		var once sync.Once
		go func() {
			<-retrying // the host comes up once berth is retrying
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return
			}
			t.Cleanup(func() { l.Close() })
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go proxy(c, srv.Addr)
			}
		}()
		opts := srv.Options()
		opts.HostKeyPolicy = remote.HostKeyAcceptNew
		opts.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
		opts.Warn = writerFunc(func(p []byte) (int, error) { once.Do(func() { close(retrying) }); return len(p), nil })
		c := dial(t, "root@"+addr, opts)
		if _, err := output(t, c, "true"); err != nil {
			t.Fatal(err)
		}
	})
}

func proxy(c net.Conn, to string) {
	defer c.Close()
	u, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer u.Close()
	go io.Copy(u, c)
	io.Copy(c, u)
}

// freezer forwards TCP to an address until frozen, then holds the connection
// open but silent, like a peer that vanished without a FIN.
type freezer struct {
	mu     sync.Mutex
	frozen bool
}

func (f *freezer) freeze() { f.mu.Lock(); f.frozen = true; f.mu.Unlock() }

func (f *freezer) isFrozen() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.frozen }

func (f *freezer) copy(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !f.isFrozen() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func TestSSHKeepalive(t *testing.T) {
	srv := sshtest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	fz := &freezer{}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", srv.Addr)
			if err != nil {
				c.Close()
				return
			}
			t.Cleanup(func() { c.Close(); u.Close() })
			go fz.copy(u, c)
			go fz.copy(c, u)
		}
	}()
	opts := srv.Options()
	opts.KnownHostsFile = writeKnownHosts(t, knownhosts.Line([]string{knownhosts.Normalize(l.Addr().String())}, srv.HostKey))
	opts.Keepalive = 200 * time.Millisecond
	c := dial(t, "root@"+l.Addr().String(), opts)

	time.Sleep(700 * time.Millisecond) // several answered keepalives
	if _, err := output(t, c, "true"); err != nil {
		t.Fatalf("healthy connection dropped: %v", err)
	}
	fz.freeze()
	// The peer is silent now: only the keepalive can notice. Without it the
	// command below would wait for the test's deadline.
	_, err = output(t, c, "true")
	if err == nil || !strings.Contains(err.Error(), "keepalive") {
		t.Fatalf("got %v, want an error naming the failed keepalive", err)
	}
}

// A host with several host keys, recorded by one that is not the client
// library's first choice, must not look like a mismatch.
func TestSSHHostKeyAlgorithms(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(ecKey, "")
	if err != nil {
		t.Fatal(err)
	}
	ecPath := filepath.Join(t.TempDir(), "host_ecdsa")
	if err := os.WriteFile(ecPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	ecPub, err := ssh.NewPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := sshtest.Start(t, sshtest.Config("HostKey "+ecPath))
	host := knownhosts.Normalize(srv.Addr)
	for name, key := range map[string]ssh.PublicKey{"ed25519": srv.HostKey, "ecdsa": ecPub} {
		t.Run(name, func(t *testing.T) {
			opts := srv.Options()
			opts.KnownHostsFile = writeKnownHosts(t, knownhosts.Line([]string{host}, key))
			dial(t, srv.Target(), opts)
		})
	}
}

// A host that prints without end must not make berth hold it all: the
// capped buffer refuses the rest, the command is stopped, and the connection
// stays usable.
func TestSSHOutputCap(t *testing.T) {
	_, c := shared(t)
	out := remote.CappedBuffer{Max: 1 << 20}
	err := c.Run(testCtx(t), remote.Cmd{Args: []string{"head", "-c", "500000000", "/dev/zero"}, Stdout: &out})
	var lim *remote.OutputLimitError
	if !errors.As(err, &lim) || lim.Limit != 1<<20 {
		t.Fatalf("got %v, want an OutputLimitError", err)
	}
	if len(out.Bytes()) > 1<<20 {
		t.Fatalf("buffer holds %d bytes", len(out.Bytes()))
	}
	if !strings.Contains(err.Error(), c.Host()) || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("error %q should name the host and the limit", err)
	}
	if _, err := output(t, c, "true"); err != nil {
		t.Fatalf("connection unusable after a capped command: %v", err)
	}
	t.Run("under the cap", func(t *testing.T) {
		var out remote.CappedBuffer
		if err := c.Run(testCtx(t), remote.Cmd{Args: []string{"head", "-c", "3000000", "/dev/zero"}, Stdout: &out}); err != nil || len(out.Bytes()) != 3000000 {
			t.Fatalf("got %d bytes, %v", len(out.Bytes()), err)
		}
	})
}

func TestSSHCommandTimeout(t *testing.T) {
	srv := sshtest.Start(t)
	opts := srv.Options()
	opts.CommandTimeout = 500 * time.Millisecond
	c := dial(t, srv.Target(), opts)
	err := c.Run(testCtx(t), remote.Cmd{Args: []string{"sleep", "60"}})
	var te *remote.TimeoutError
	if !errors.As(err, &te) || te.After != opts.CommandTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a TimeoutError after %s", err, opts.CommandTimeout)
	}
	t.Run("a command's own timeout wins", func(t *testing.T) {
		err := c.Run(testCtx(t), remote.Cmd{Args: []string{"sh", "-c", "sleep 1; echo done"}, Timeout: time.Minute})
		if err != nil {
			t.Fatalf("a command with its own longer timeout failed: %v", err)
		}
		var out bytes.Buffer
		err = remote.ScriptWithin(testCtx(t), c, time.Minute, "sleep 1; echo waited", &out)
		if err != nil || out.String() != "waited\n" {
			t.Fatalf("ScriptWithin: %q, %v", out.String(), err)
		}
	})
	if _, err := output(t, c, "true"); err != nil {
		t.Fatalf("connection unusable after a timeout: %v", err)
	}
}

// An SFTP subsystem that never answers must neither hang an upload nor
// outlive cancellation: the upload falls back to a command.
func TestSSHUploadSFTPHangs(t *testing.T) {
	stall := filepath.Join(t.TempDir(), "stall-sftp")
	// Answers the version handshake, then swallows every request.
	script := "#!/bin/sh\n{ head -c 9; exec sleep 300; } | exec /usr/lib/openssh/sftp-server\n"
	if err := os.WriteFile(stall, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, server string }{
		{"subsystem never starts", "/bin/sleep 300"},
		{"writes never answered", stall},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := sshtest.Start(t, sshtest.SFTPServer(tt.server))
			opts := srv.Options()
			opts.CommandTimeout = time.Second
			c := dial(t, srv.Target(), opts)
			dst := filepath.Join(t.TempDir(), "f")
			for i := range 2 { // the second upload does not wait for SFTP again
				data := []byte(fmt.Sprintf("via a command %d", i))
				if err := c.Upload(testCtx(t), dst, data, 0o600); err != nil {
					t.Fatalf("Upload: %v", err)
				}
				if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
					t.Fatalf("file holds %q, %v", got, err)
				}
			}
			if st := c.Stats(); st.Commands != 2 {
				t.Errorf("stats %+v, want both uploads done by a command", st)
			}
		})
	}
	t.Run("cancel while SFTP hangs", func(t *testing.T) {
		srv := sshtest.Start(t, sshtest.SFTPServer("/bin/sleep 300"))
		opts := srv.Options()
		opts.CommandTimeout = time.Hour
		c := dial(t, srv.Target(), opts)
		ctx, cancel := context.WithCancel(testCtx(t))
		// Cancel once sshd has started the subsystem that will never answer.
		go func() {
			defer cancel()
			for !strings.Contains(srv.Log(), "subsystem 'sftp'") {
				select {
				case <-ctx.Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}()
		err := c.Upload(ctx, filepath.Join(t.TempDir(), "f"), []byte("x"), 0o600)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	})
}
