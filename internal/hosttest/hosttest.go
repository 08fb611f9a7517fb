// Package hosttest starts test hosts that look like real machines: each is a
// container on the local Docker engine running its own sshd on port 22 of its
// own loopback address (127.0.0.11, 127.0.0.12, ...) and, in the WithDocker
// variant, its own Docker engine. So every host can hold the same container
// names, as separate machines do. Besides root, every host has the users
// admin (passwordless sudo, not in the docker group) and deploy (in the
// docker group once Docker is installed, no sudo).
//
// The image is built from Debian packages (debootstrap, then docker import;
// no registry) and cached between runs; see Image.
package hosttest

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/berth-sh/berth/internal/testenv"
	"github.com/berth-sh/berth/remote"
)

// Options shape the hosts of one Start.
type Options struct {
	Variant Variant  // WithDocker (default) or Fresh
	Ports   []int    // container ports also published on each host's address (e.g. 80), besides 22
	Images  []string // local images loaded into every host's engine (WithDocker only)
}

// Fleet is the hosts of one Start and the client side files that reach them.
type Fleet struct {
	Hosts      []*Host
	Identity   string // private key authorized for root, admin and deploy on every host
	KnownHosts string // every host's key, under its address (port 22)
}

// Host is one test host.
type Host struct {
	Addr      string // loopback address; sshd listens on Addr:22
	Container string
	HostKey   ssh.PublicKey
}

// firstAddr is the last byte of the first host's address: 127.0.0.11 onward
// leaves the low addresses to tests that start sshd themselves.
const firstAddr = 11

// startTimeout bounds a host's boot (dockerd on vfs on a busy machine).
const startTimeout = 2 * time.Minute

// Start starts n hosts and removes them when the test ends. It skips (or
// fails under BERTH_E2E=1) where Docker or the image's ingredients are missing.
func Start(t testing.TB, n int, opts Options) *Fleet {
	t.Helper()
	if opts.Variant == "" {
		opts.Variant = WithDocker
	}
	testenv.NeedDocker(t)
	image := Image(t, opts.Variant)
	dir := t.TempDir()
	f := &Fleet{Identity: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	clientPub, clientKey, _ := ed25519.GenerateKey(rand.Reader)
	writePEM(t, f.Identity, clientKey)
	client, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatal(err)
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var known strings.Builder
	for i := 0; i < n; i++ {
		h := startHost(t, image, fmt.Sprintf("berth-host-%s-%d", run, i+1), client, opts.Ports)
		f.Hosts = append(f.Hosts, h)
		known.WriteString(h.KnownHostsLine(h.HostKey))
	}
	if err := os.WriteFile(f.KnownHosts, []byte(known.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, h := range f.Hosts {
		h.waitUp(t)
	}
	if len(opts.Images) > 0 {
		f.Load(t, opts.Images...)
	}
	return f
}

// startHost claims a free loopback address and starts a host container on it.
func startHost(t testing.TB, image, name string, client ssh.PublicKey, ports []int) *Host {
	t.Helper()
	addr := claimAddr(t)
	_, hostKey, _ := ed25519.GenerateKey(rand.Reader)
	hostPub, err := ssh.NewPublicKey(hostKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	h := &Host{Addr: addr, Container: name, HostKey: hostPub}
	args := []string{"create", "--name", name, "--hostname", strings.TrimPrefix(name, "berth-"),
		"--label", "berth.hosttest.addr=" + addr, "--init",
		// What a nested dockerd needs, short of --privileged (refused where
		// CAP_SYS_RESOURCE is outside the bounding set): without seccomp
		// unconfined no session keyring, without the cgroup mount no inner
		// containers, with fewer capabilities no docker exec.
		"--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
		"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		"--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
		// The inner engine's data on a plain volume, not on the overlay.
		"-v", "/var/lib/docker",
		"-p", addr + ":22:22"}
	for _, p := range ports {
		args = append(args, "-p", fmt.Sprintf("%s:%d:%d", addr, p, p))
	}
	args = append(args, image)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", "--tail", "30", name).CombinedOutput()
			t.Logf("hosttest: %s (%s) log tail:\n%s", name, addr, out)
		}
		exec.Command("docker", "rm", "-f", "-v", name).Run()
	})
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		t.Fatalf("hosttest: docker create %s: %v\n%s", name, err, out)
	}
	keys := tarFiles(t, map[string]tarFile{
		"ssh_host_ed25519_key":     {pemBytes(t, hostKey), 0o600},
		"ssh_host_ed25519_key.pub": {ssh.MarshalAuthorizedKey(hostPub), 0o644},
		"authorized_keys":          {ssh.MarshalAuthorizedKey(client), 0o644},
	})
	cp := exec.Command("docker", "cp", "-", name+":/etc/ssh")
	cp.Stdin = bytes.NewReader(keys)
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("hosttest: copy keys into %s: %v\n%s", name, err, out)
	}
	if out, err := exec.Command("docker", "start", name).CombinedOutput(); err != nil {
		t.Fatalf("hosttest: docker start %s: %v\n%s", name, err, out)
	}
	return h
}

// claimAddr takes the first loopback address no other test process holds
// (a flock per address, released when the test ends or the process dies) and
// removes what a crashed run may have left on it.
func claimAddr(t testing.TB) string {
	t.Helper()
	for i := firstAddr; i < 255; i++ {
		addr := fmt.Sprintf("127.0.0.%d", i)
		unlock, err := lockFile(filepath.Join(os.TempDir(), "berth-hosttest-"+addr+".lock"), false)
		if errors.Is(err, errBusy) {
			continue
		}
		if err != nil {
			t.Fatalf("hosttest: claim %s: %v", addr, err)
		}
		t.Cleanup(unlock)
		stale, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=berth.hosttest.addr="+addr).Output()
		for _, id := range strings.Fields(string(stale)) {
			exec.Command("docker", "rm", "-f", "-v", id).Run()
		}
		return addr
	}
	t.Fatal("hosttest: every loopback address from 127.0.0.11 is taken")
	return ""
}

// waitUp waits until the host's sshd listens; its init starts dockerd first,
// so the engine answers by then too.
func (h *Host) waitUp(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		logs, _ := exec.Command("docker", "logs", h.Container).CombinedOutput()
		if bytes.Contains(logs, []byte("Server listening on")) {
			return
		}
		state, _ := exec.Command("docker", "inspect", "--format", "{{.State.Running}}", h.Container).Output()
		if strings.TrimSpace(string(state)) != "true" {
			t.Fatalf("hosttest: %s (%s) exited while booting:\n%s", h.Container, h.Addr, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("hosttest: %s (%s) not listening after %s", h.Container, h.Addr, startTimeout)
}

// SSHOptions reach the fleet's hosts and nothing of the user's own setup:
// the test key, the hosts' known_hosts, no ssh config, no agent.
func (f *Fleet) SSHOptions(t testing.TB) remote.SSHOptions {
	t.Helper()
	return remote.SSHOptions{
		Identities:     []string{f.Identity},
		KnownHostsFile: f.KnownHosts,
		SSHConfigFile:  "none",
		AgentSocket:    "none",
		HomeDir:        t.TempDir(),
		ConnectTimeout: 10 * time.Second,
	}
}

// Target is user@addr, the way a user names a real host (port 22).
func (h *Host) Target(user string) string { return user + "@" + h.Addr }

// ID is how berth's output names the host when user logs in: user@addr:22.
func (h *Host) ID(user string) string { return h.Target(user) + ":22" }

// KnownHostsLine is a known_hosts entry claiming key for this host; tests
// pass another key to simulate a host whose key changed.
func (h *Host) KnownHostsLine(key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize(h.Addr + ":22")}, key) + "\n"
}

// Stop kills the host: its address stops answering, as a host that went down.
func (h *Host) Stop(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("docker", "kill", h.Container).CombinedOutput(); err != nil {
		t.Fatalf("hosttest: stop %s: %v\n%s", h.Container, err, out)
	}
}

// Exec runs argv on the host as root, outside SSH, for a test's own checks.
func (h *Host) Exec(t testing.TB, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"exec", h.Container}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Connections counts the SSH logins sshd has accepted so far.
func (h *Host) Connections(t testing.TB) int {
	t.Helper()
	logs, err := exec.Command("docker", "logs", h.Container).CombinedOutput()
	if err != nil {
		t.Fatalf("hosttest: logs of %s: %v", h.Container, err)
	}
	return bytes.Count(logs, []byte("Accepted publickey"))
}

// Load puts local images into every host's engine (docker save | docker load),
// as a registry would have: the hosts cannot reach one.
func (f *Fleet) Load(t testing.TB, refs ...string) {
	t.Helper()
	archive := filepath.Join(t.TempDir(), "images.tar")
	if out, err := exec.Command("docker", append([]string{"save", "-o", archive}, refs...)...).CombinedOutput(); err != nil {
		t.Fatalf("hosttest: docker save %v: %v\n%s", refs, err, out)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(f.Hosts))
	for i, h := range f.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := os.Open(archive)
			if err != nil {
				errs[i] = err
				return
			}
			defer in.Close()
			load := exec.Command("docker", "exec", "-i", h.Container, "docker", "load", "-q")
			load.Stdin = in
			if out, err := load.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("docker load on %s: %v\n%s", h.Addr, err, out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("hosttest: %v", err)
	}
}

type tarFile struct {
	data []byte
	mode int64
}

// tarFiles is a tar stream of root-owned files, for docker cp.
func tarFiles(t testing.TB, files map[string]tarFile) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, f := range files {
		hdr := &tar.Header{Name: name, Mode: f.mode, Size: int64(len(f.data)), ModTime: time.Now(), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pemBytes(t testing.TB, key ed25519.PrivateKey) []byte {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(key, "hosttest")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func writePEM(t testing.TB, path string, key ed25519.PrivateKey) {
	t.Helper()
	if err := os.WriteFile(path, pemBytes(t, key), 0o600); err != nil {
		t.Fatal(err)
	}
}
