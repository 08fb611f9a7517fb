package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The floor script, run by sh with a docker that only logs its argv, issues
// berth's cold-deploy commands in berth's order and writes the env files
// berth uploads, private.
func TestColdFloorScript(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "docker.log")
	stub := "#!/bin/sh\necho \"$*\" >>" + log + "\ncase $1 in inspect) [ \"$2\" = --format ] || exit 1 ;; esac\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	script, err := coldFloorScript(filepath.Join("..", "..", "..", "cmd", "berth", "testdata", "stack.yaml"), state, stack{prefix: "p-", port: 18080})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-s")
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("floor script: %v\n%s\n%s", err, out, script)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		switch f[0] {
		case "volume", "network":
			got = append(got, f[0]+" "+f[1]+" "+f[len(f)-1])
		case "run":
			got = append(got, "run "+f[3])
		default:
			got = append(got, f[0]+" "+f[len(f)-1])
		}
	}
	want := []string{
		"inspect p-web", // one observe of every object, ending with the last one
		"volume create p-db-data", "volume create p-web-content", "network create p-net",
		"run p-db", "inspect p-db", "run p-web", "inspect p-web",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("docker commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range []string{"secrets.env", "p-db.env", "p-web.env"} {
		p := filepath.Join(state, "p-stack", f)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		if !strings.HasSuffix(string(b), "\n") || len(strings.TrimSpace(string(b))) < 20 || strings.Count(string(b), "\n") != 1 {
			t.Errorf("%s: %q, want one NAME=value line", f, b)
		}
	}
	if !strings.Contains(string(b), "--env-file "+filepath.Join(state, "p-stack", "p-db.env")) {
		t.Errorf("docker run of db without its env file:\n%s", b)
	}
}
