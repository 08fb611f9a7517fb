package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	assertNoSecrets(t, out.String(), errOut.String())
	return out.String(), errOut.String(), code
}

// knownSecrets holds every secret value the tests have seen: those in the
// state directories tests registered with watchSecrets (read after each run,
// and remembered after the files go) and BERTH_SECRET_* in the environment.
// berthIn checks each run's whole output against all of them.
var knownSecrets = struct {
	sync.Mutex
	dirs   map[string]int
	values map[string]bool
}{dirs: map[string]int{}, values: map[string]bool{}}

// watchSecrets makes every in-process run check its output against the
// secrets stored under dir, for the rest of the test.
func watchSecrets(t testing.TB, dir string) {
	knownSecrets.Lock()
	knownSecrets.dirs[dir]++
	knownSecrets.Unlock()
	t.Cleanup(func() {
		knownSecrets.Lock()
		defer knownSecrets.Unlock()
		if knownSecrets.dirs[dir]--; knownSecrets.dirs[dir] == 0 {
			delete(knownSecrets.dirs, dir)
		}
	})
}

// secretValues reads the watched state directories and returns every secret
// value known so far.
func secretValues() []string {
	knownSecrets.Lock()
	defer knownSecrets.Unlock()
	add := func(v string) {
		if len(v) >= 4 { // as the redactor: shorter values are no secret
			knownSecrets.values[v] = true
		}
	}
	for dir := range knownSecrets.dirs {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".env") && !strings.HasSuffix(path, ".migrated") {
				return nil
			}
			b, _ := os.ReadFile(path)
			for _, line := range strings.Split(string(b), "\n") {
				if _, v, ok := strings.Cut(line, "="); ok {
					add(v)
				}
			}
			return nil
		})
	}
	for _, kv := range os.Environ() {
		if name, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "BERTH_SECRET_") {
			add(v)
		}
	}
	values := make([]string, 0, len(knownSecrets.values))
	for v := range knownSecrets.values {
		values = append(values, v)
	}
	return values
}

// assertNoSecrets fails the test when any stream holds a known secret value
// in any form it could be printed in (see ui.Forms).
func assertNoSecrets(t testing.TB, streams ...string) {
	t.Helper()
	for _, v := range secretValues() {
		for _, form := range ui.Forms(v) {
			for i, s := range streams {
				if strings.Contains(s, form) {
					t.Errorf("output stream %d holds a secret value (%d bytes)", i, len(v))
				}
			}
		}
	}
}

// sshFlags are the flags that reach a test sshd and nothing of the user's setup.
func sshFlags(s *sshtest.Server) []string {
	return []string{"--host", s.Target(), "--identity", s.ClientKeyPath, "--known-hosts", s.KnownHostsPath, "--ssh-config", "none"}
}

// jsonEvent is one line of a --json stream.
type jsonEvent struct {
	Type, Host string
	Data       map[string]any // every field of the line, type and host too
}

// events parses a --json stream.
func events(t testing.TB, stdout string) []jsonEvent {
	t.Helper()
	var evs []jsonEvent
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e jsonEvent
		if err := json.Unmarshal(sc.Bytes(), &e.Data); err != nil {
			t.Fatalf("not a JSON event: %q: %v", sc.Text(), err)
		}
		e.Type, _ = e.Data["type"].(string)
		e.Host, _ = e.Data["host"].(string)
		if e.Type == "" {
			t.Fatalf("JSON event without a type: %q", sc.Text())
		}
		evs = append(evs, e)
	}
	return evs
}

// summaries returns the per-host summary events of a --json run.
func summaries(t testing.TB, stdout string) map[string]jsonEvent {
	m := map[string]jsonEvent{}
	for _, e := range events(t, stdout) {
		if e.Type == "summary" {
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

// dockerGID is the docker group's id on this machine.
func dockerGID(t testing.TB) uint32 {
	t.Helper()
	g, err := user.LookupGroup("docker")
	if err != nil {
		t.Fatalf("docker group: %v", err)
	}
	id, err := strconv.Atoi(g.Gid)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(id)
}
