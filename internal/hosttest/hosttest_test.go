package hosttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/testimage"
	"github.com/berth-sh/berth/remote"
)

// TestBuildImage builds (or finds) both host images. Run it alone before the
// e2e tests to keep the slow first build out of the shared e2e lock:
// go test -run TestBuildImage ./internal/hosttest
func TestBuildImage(t *testing.T) {
	for _, v := range []Variant{Fresh, WithDocker} {
		if ref := Image(t, v); !imageExists(ref) {
			t.Fatalf("%s missing after the build", ref)
		}
	}
}

func runOn(t *testing.T, conn remote.Conn, args ...string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := conn.Run(context.Background(), remote.Cmd{Args: args, Stdout: &out})
	return strings.TrimSpace(out.String()), err
}

func dial(t *testing.T, f *Fleet, h *Host, user string) remote.Conn {
	t.Helper()
	conn, err := remote.DialSSH(context.Background(), h.Target(user), f.SSHOptions(t))
	if err != nil {
		t.Fatalf("dial %s: %v", h.Target(user), err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestHosts: two hosts, each its own machine: port 22 with a host key the
// known_hosts vouches for, its own engine holding the same container name as
// the other's, a published port, and the three users' rights.
func TestHosts(t *testing.T) {
	img := testimage.Build(t, "v1", "v1")
	f := Start(t, 2, Options{Ports: []int{80}, Images: []string{img}})
	if f.Hosts[0].Addr == f.Hosts[1].Addr {
		t.Fatalf("both hosts on %s", f.Hosts[0].Addr)
	}
	for _, h := range f.Hosts {
		root := dial(t, f, h, "root")
		if out, err := runOn(t, root, "docker", "run", "-d", "--name", "same", "-p", "80:8080", "-e", "GREETING="+h.Addr, img, "web"); err != nil {
			t.Fatalf("%s: docker run: %v %s", h.Addr, err, out)
		}
	}
	for _, h := range f.Hosts {
		if body := getEventually(t, "http://"+h.Addr+":80/"); !strings.Contains(body, "greeting="+h.Addr) {
			t.Errorf("%s:80 answers %q, want its own container's greeting", h.Addr, body)
		}
	}

	h := f.Hosts[0]
	users := []struct {
		user       string
		dockerOK   bool
		sudoOK     bool
		wantDenied string
	}{
		{"root", true, true, ""},
		{"admin", false, true, "permission denied"},
		{"deploy", true, false, ""},
	}
	for _, u := range users {
		t.Run(u.user, func(t *testing.T) {
			conn := dial(t, f, h, u.user)
			if out, _ := runOn(t, conn, "id", "-un"); out != u.user {
				t.Errorf("logged in as %q", out)
			}
			var stderr strings.Builder
			err := conn.Run(context.Background(), remote.Cmd{Args: []string{"docker", "ps"}, Stderr: &stderr})
			if (err == nil) != u.dockerOK || !strings.Contains(stderr.String(), u.wantDenied) {
				t.Errorf("docker ps: %v %s (want ok=%v)", err, stderr.String(), u.dockerOK)
			}
			if _, err := runOn(t, conn, "sudo", "-n", "true"); (err == nil) != u.sudoOK {
				t.Errorf("sudo -n true: %v (want ok=%v)", err, u.sudoOK)
			}
		})
	}

	h.Stop(t)
	opts := f.SSHOptions(t)
	opts.ConnectTimeout = time.Second
	if conn, err := remote.DialSSH(context.Background(), h.Target("root"), opts); err == nil {
		conn.Close()
		t.Error("a stopped host still answers")
	}
}

// TestFreshHost: no Docker at all, as a freshly launched machine.
func TestFreshHost(t *testing.T) {
	f := Start(t, 1, Options{Variant: Fresh})
	conn := dial(t, f, f.Hosts[0], "root")
	if out, err := runOn(t, conn, "sh", "-c", "command -v docker dockerd"); err == nil {
		t.Errorf("a fresh host has docker: %s", out)
	}
	if out, err := runOn(t, conn, "sh", "-c", ". /etc/os-release && echo $ID"); err != nil || out != "debian" {
		t.Errorf("os-release ID = %q, %v", out, err)
	}
	// Installing Docker there must not leave the machine: apt's only source
	// is the host's own repository.
	if out, _ := runOn(t, conn, "sh", "-c", "cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null"); out != "deb [trusted=yes] file:/var/local/debs ./" {
		t.Errorf("apt sources %q, want only the local repository", out)
	}
	if out, err := runOn(t, conn, "sh", "-c", "apt-get update -q >/dev/null && apt-cache policy docker.io"); err != nil || !strings.Contains(out, "file:/var/local/debs") {
		t.Errorf("docker.io not installable from the local repository: %v\n%s", err, out)
	}
}

// getEventually GETs url until it answers 200: the container was just started.
func getEventually(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}
