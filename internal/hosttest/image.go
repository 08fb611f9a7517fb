package hosttest

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/testenv"
)

// Variant is what a test host has installed.
type Variant string

const (
	// WithDocker is a host with Docker installed and its engine running.
	WithDocker Variant = "docker"
	// Fresh is a freshly launched host: no Docker at all.
	Fresh Variant = "fresh"
)

// The recipe of the host image. Everything in it goes into the image tag's
// hash, so changing any of it builds a new image instead of reusing a stale one.
const (
	suite    = "bookworm"
	packages = "openssh-server,iptables,procps,sudo,ca-certificates"

	// initScript is PID 1's child (docker run --init): the host's own dockerd
	// when installed, ready before sshd listens, so "sshd is up" means "the
	// host is up". Polling here is the host booting, not a test waiting.
	initScript = `#!/bin/sh
mkdir -p /run/sshd
if [ -x /usr/sbin/dockerd ]; then
	dockerd >/var/log/dockerd.log 2>&1 &
	i=0
	until docker version >/dev/null 2>&1; do
		i=$((i + 1))
		if [ "$i" -gt 600 ]; then
			echo "testhost: dockerd did not start" >&2
			cat /var/log/dockerd.log >&2
			exit 1
		fi
		sleep 0.1
	done
fi
exec /usr/sbin/sshd -D -e
`

	// sshdConfig: port 22 like a real host; one authorized_keys file for
	// every user (the harness writes it, and the host key, per host).
	sshdConfig = `Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
AuthorizedKeysFile /etc/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
Subsystem sftp internal-sftp
LogLevel VERBOSE
MaxStartups 100
MaxSessions 100
UseDNS no
PrintMotd no
AllowTcpForwarding yes
`

	// daemonJSON: nested dockerd needs vfs (overlay on the outer engine's
	// overlay fails); an image's own default, as cloud images ship theirs.
	daemonJSON = `{"storage-driver": "vfs"}` + "\n"

	// setupScript runs chrooted in the fresh root filesystem. UsePAM no makes
	// sshd refuse locked accounts ("!" password), hence '*'.
	setupScript = `set -eu
useradd -m -s /bin/bash admin
useradd -m -s /bin/bash deploy
usermod -p '*' root
usermod -p '*' admin
usermod -p '*' deploy
echo 'admin ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/admin
chmod 0440 /etc/sudoers.d/admin
rm -f /etc/ssh/ssh_host_*
printf '127.0.0.1 localhost\n::1 localhost\n' > /etc/hosts
# The host's apt source is a repository on its own disk holding docker.io:
# bootstrap runs the usual apt-get update and install, and no test leaves
# the machine.
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --download-only --no-install-recommends docker.io
mkdir -p /var/local/debs
mv /var/cache/apt/archives/*.deb /var/local/debs/
cd /var/local/debs
for f in *.deb; do
	dpkg-deb -f "$f"
	echo "Filename: ./$f"
	echo "Size: $(stat -c %s "$f")"
	echo "SHA256: $(sha256sum "$f" | cut -d ' ' -f 1)"
	echo
done > Packages
echo 'deb [trusted=yes] file:/var/local/debs ./' > /etc/apt/sources.list
rm -rf /etc/apt/sources.list.d/* /var/lib/apt/lists/* /etc/resolv.conf
`

	// dockerStep turns the fresh image into the Docker one, from the
	// distribution's packages as berth bootstrap installs them (from the
	// host's own repository: see setupScript).
	dockerStep = `set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends docker.io
usermod -aG docker deploy
rm -rf /var/cache/apt/archives/*.deb /var/lib/apt/lists/*
`
	initPath  = "/usr/local/sbin/testhost-init"
	imageRepo = "berth-testhost"
)

// recipeHash names this recipe's images and root filesystem.
func recipeHash() string {
	h := sha256.New()
	for _, part := range []string{suite, packages, initScript, sshdConfig, daemonJSON, setupScript, dockerStep, initPath} {
		fmt.Fprintf(h, "%d:%s\n", len(part), part)
	}
	return fmt.Sprintf("%x", h.Sum(nil))[:12]
}

// ImageRef is the local image of a variant built from the current recipe.
func ImageRef(v Variant) string { return imageRepo + ":" + recipeHash() + "-" + string(v) }

// cacheDir holds the root filesystem between runs (debootstrap is the slow part).
func cacheDir() string { return filepath.Join("/var/tmp", "berth-testhost", recipeHash()) }

// Image makes sure the host image of variant v exists, building it the first
// time (about 2 minutes: debootstrap, then docker.io on top); only the build
// reaches the Debian mirror. A file lock
// keeps parallel test processes from building it twice.
func Image(t testing.TB, v Variant) string {
	t.Helper()
	testenv.NeedDocker(t)
	ref := ImageRef(v)
	if imageExists(ref) {
		return ref
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		testenv.Missing(t, "debootstrap (to build the test host image)", err.Error())
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root (debootstrap and chroot need it)", "running as uid "+fmt.Sprint(os.Geteuid()))
	}
	if err := os.MkdirAll(cacheDir(), 0o755); err != nil {
		t.Fatalf("hosttest: %v", err)
	}
	unlock, err := lockFile(filepath.Join(cacheDir(), "build.lock"), true)
	if err != nil {
		t.Fatalf("hosttest: lock the image build: %v", err)
	}
	defer unlock()
	if imageExists(ref) { // another process built it while we waited
		return ref
	}
	t.Logf("hosttest: building %s (a few minutes, once)", ref)
	if err := build(); err != nil {
		t.Fatalf("hosttest: build host image: %v", err)
	}
	return ref
}

func imageExists(ref string) bool {
	return exec.Command("docker", "image", "inspect", ref).Run() == nil
}

// build makes both variants: the fresh image from the root filesystem, the
// Docker image as one layer on top of it.
func build() error {
	rootfs := filepath.Join(cacheDir(), "rootfs")
	if err := buildRootfs(rootfs); err != nil {
		return err
	}
	fresh := ImageRef(Fresh)
	if !imageExists(fresh) {
		if err := importRootfs(rootfs, fresh); err != nil {
			return err
		}
	}
	tmp := "berth-testhost-build-" + recipeHash()
	exec.Command("docker", "rm", "-f", tmp).Run()
	defer exec.Command("docker", "rm", "-f", tmp).Run()
	if err := run(exec.Command("docker", "run", "--name", tmp, "--entrypoint", "/bin/sh", fresh, "-c", dockerStep)); err != nil {
		return fmt.Errorf("install docker.io: %w", err)
	}
	commit := exec.Command("docker", "commit", "--change", fmt.Sprintf("ENTRYPOINT [%q]", initPath), "--change", "CMD []", tmp, ImageRef(WithDocker))
	if err := run(commit); err != nil {
		return fmt.Errorf("commit %s: %w", ImageRef(WithDocker), err)
	}
	return nil
}

// buildRootfs debootstraps the root filesystem once and configures it.
func buildRootfs(dir string) error {
	done := filepath.Join(dir, ".done")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	mirror, err := aptMirror()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := run(exec.Command("debootstrap", "--variant=minbase", "--include="+packages, suite, dir, mirror)); err != nil {
		return fmt.Errorf("debootstrap from %s: %w", mirror, err)
	}
	files := []struct {
		path string
		data string
		mode os.FileMode
	}{
		{initPath, initScript, 0o755},
		{"/etc/ssh/sshd_config", sshdConfig, 0o644},
		{"/etc/docker/daemon.json", daemonJSON, 0o644},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			return err
		}
	}
	// apt in the chroot fetches docker.io's packages from the mirror.
	resolv, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "etc/resolv.conf"), resolv, 0o644); err != nil {
		return err
	}
	setup := exec.Command("chroot", dir, "/bin/sh", "-s")
	setup.Stdin = strings.NewReader(setupScript)
	if err := run(setup); err != nil {
		return fmt.Errorf("set up the root filesystem: %w", err)
	}
	return os.WriteFile(done, nil, 0o644)
}

// aptMirror is the Debian mirror this machine's apt uses (deb822 sources
// first, then the one-line format), so the build needs no other network.
func aptMirror() (string, error) {
	sources, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, f := range sources {
		if m := scanMirror(f, func(fields []string) string {
			if len(fields) >= 2 && fields[0] == "URIs:" {
				return fields[1]
			}
			return ""
		}); m != "" {
			return m, nil
		}
	}
	lists, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	for _, f := range append([]string{"/etc/apt/sources.list"}, lists...) {
		if m := scanMirror(f, func(fields []string) string {
			if len(fields) >= 3 && fields[0] == "deb" && !strings.HasPrefix(fields[1], "[") {
				return fields[1]
			}
			return ""
		}); m != "" {
			return m, nil
		}
	}
	return "", errors.New("no Debian mirror found in /etc/apt/sources.list.d or /etc/apt/sources.list")
}

// scanMirror returns the first non-security mirror pick finds in file.
func scanMirror(file string, pick func([]string) string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := pick(strings.Fields(sc.Text())); m != "" && !strings.Contains(m, "security") {
			return m
		}
	}
	return ""
}

// run runs cmd and puts the tail of its output into the error.
func run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		tail := out
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args[:min(len(cmd.Args), 3)], " "), err, tail)
	}
	return nil
}

// importRootfs streams the root filesystem into docker import.
func importRootfs(rootfs, ref string) error {
	tar := exec.Command("tar", "-C", rootfs, "--exclude=./.done", "-c", ".")
	imp := exec.Command("docker", "import",
		"--change", fmt.Sprintf("ENTRYPOINT [%q]", initPath),
		"--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "-", ref)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	if err := tar.Start(); err != nil {
		return fmt.Errorf("tar %s: %w", rootfs, err)
	}
	impErr := run(imp)
	if err := tar.Wait(); err != nil {
		return fmt.Errorf("tar %s: %w", rootfs, err)
	}
	if impErr != nil {
		return fmt.Errorf("import %s: %w", ref, impErr)
	}
	return nil
}
