package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/internal/ui"
)

// berth runs the app in-process and returns its stdout, stderr and exit code.
func berth(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	return berthIn(t, nil, args...)
}

func berthIn(t testing.TB, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code := NewApp(stdin, &out, &errOut).Run(ctx, append([]string{"berth"}, args...))
	t.Logf("berth %s\n-> exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return out.String(), errOut.String(), code
}

// sshFlags are the flags that reach a test sshd and nothing of the user's setup.
func sshFlags(s *sshtest.Server) []string {
	return []string{"--host", s.Target(), "--identity", s.ClientKeyPath, "--known-hosts", s.KnownHostsPath, "--ssh-config", "none"}
}

// events parses a --json stream.
func events(t testing.TB, stdout string) []ui.Event {
	t.Helper()
	var evs []ui.Event
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e ui.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not a JSON event: %q: %v", sc.Text(), err)
		}
		evs = append(evs, e)
	}
	return evs
}

// summaries returns the per-host summary events of a --json run.
func summaries(t testing.TB, stdout string) map[string]ui.Event {
	m := map[string]ui.Event{}
	for _, e := range events(t, stdout) {
		if e.Kind == ui.KindSummary {
			m[e.Host] = e
		}
	}
	return m
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func httpDo(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func dockerOut(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func containerID(t testing.TB, name string) string {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "--format", "{{.Id}}", name).CombinedOutput()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// cleanupStack removes every Docker object a test stack made, data included.
func cleanupStack(t testing.TB, prefix string) {
	t.Cleanup(func() {
		for _, kind := range []string{"container", "volume", "network"} {
			out, _ := exec.Command("docker", kind, "ls", "-q", "--filter", "name="+prefix).Output()
			for _, id := range strings.Fields(string(out)) {
				switch kind {
				case "container":
					exec.Command("docker", "rm", "-f", id).Run()
				default:
					exec.Command("docker", kind, "rm", "-f", id).Run()
				}
			}
		}
	})
}
