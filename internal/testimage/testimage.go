// Package testimage builds the small local images the integration tests
// deploy, since no registry can be reached: a static Go binary (the app in
// ./app) plus a static busybox as /bin/sh, which Docker's CMD-SHELL health
// checks need, in a FROM scratch image.
package testimage

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/berth-sh/berth/internal/testenv"
)

// LocalRegistry prefixes every test image: a registry on a closed loopback
// port, so a `docker pull` of a test image (berth --pull, or a typo) fails at
// once without leaving the machine; a bare name would send the daemon to
// Docker Hub.
const LocalRegistry = "127.0.0.1:9/"

// Image is the repository the test images are tagged under.
const Image = LocalRegistry + "berth-test-app"

var buildMu sync.Mutex // docker build of one tag at a time within a test binary

// appBinary is the app, compiled once per test binary: images differ only in
// the version file next to it.
var appBinary = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "berth-testimage-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "app")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "github.com/berth-sh/berth/internal/testimage/app")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build test app: %v\n%s", err, out)
	}
	return os.ReadFile(bin)
})

// Build builds Image:tag with the app's version string set to version and
// returns the full reference. Same inputs give the same image content.
func Build(t testing.TB, tag, version string) string {
	t.Helper()
	return BuildRef(t, Image+":"+tag, version)
}

// BuildRef builds the test image under the full reference ref.
func BuildRef(t testing.TB, ref, version string) string {
	t.Helper()
	testenv.NeedDocker(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		testenv.Missing(t, "busybox (Debian's busybox-static)", err.Error())
	}
	app, err := appBinary()
	if err != nil {
		t.Fatal(err)
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	dir := t.TempDir()
	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"app": app, "sh": bb, "version": []byte(version),
		"Dockerfile": []byte(dockerfile)}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("docker", "build", "-q", "-t", ref, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build %s: %v\n%s", ref, err, out)
	}
	return ref
}

const dockerfile = `FROM scratch
COPY sh /bin/sh
COPY app /app
COPY version /version
ENTRYPOINT ["/app"]
`

// ImageID returns the local image ID of ref.
func ImageID(t testing.TB, ref string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil {
		t.Fatalf("inspect %s: %v", ref, err)
	}
	return strings.TrimSpace(string(out))
}

// Unique returns a short name prefix, so concurrent test runs sharing one
// Docker engine never touch each other's objects.
func Unique(t testing.TB) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("bt%x-", b)
}
