package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A stack owns only what carries its label: another stack name, with the
// same playbook, sees every object as foreign and changes nothing.
func TestAnotherStackNeverTouchesThisOne(t *testing.T) {
	e := newStackEnv(t)
	sect, other := e.prefix+"stack", e.prefix+"other"
	db, web, data := e.prefix+"db", e.prefix+"web", e.prefix+"db-data"
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("deploy exit %d", code)
	}
	if st, _ := httpDo(t, "PUT", e.url("/kv/post1"), "sect's data"); st != 200 {
		t.Fatalf("write: %d", st)
	}
	dbID, webID := containerID(t, db), containerID(t, web)
	unchanged := func(t *testing.T) {
		t.Helper()
		if containerID(t, db) != dbID || containerID(t, web) != webID {
			t.Error("a container of stack sect was recreated or removed")
		}
		if st, body := httpDo(t, "GET", e.url("/kv/post1"), ""); st != 200 || body != "sect's data" {
			t.Errorf("sect's data: %d %q", st, body)
		}
	}

	t.Run("plan reports foreign, not unchanged", func(t *testing.T) {
		out, errOut, code := berth(t, e.args("plan", "--stack", other)...)
		if code != exitFailure {
			t.Errorf("exit %d, want %d", code, exitFailure)
		}
		if !strings.Contains(out, "! foreign volume "+data+" (stack "+sect+")") || strings.Contains(out, "= volume "+data) {
			t.Errorf("plan does not call sect's volume foreign:\n%s", out)
		}
		if !strings.Contains(errOut, "stack "+other+" does not own") {
			t.Errorf("stderr: %s", errOut)
		}
		unchanged(t)
	})

	t.Run("deploy under another stack changes nothing", func(t *testing.T) {
		// A different greeting: with the old name-based plan this recreated web.
		_, errOut, code := berth(t, e.args("deploy", "--stack", other, "--var", "greeting=stolen")...)
		if code != exitFailure || !strings.Contains(errOut, "container "+web+" (stack "+sect+")") {
			t.Errorf("exit %d, stderr %s", code, errOut)
		}
		_, _, code = berth(t, e.args("deploy", "--stack", other, "--adopt")...)
		if code != exitFailure {
			t.Errorf("--adopt took another stack's objects: exit %d", code)
		}
		unchanged(t)
	})

	t.Run("status names the owner", func(t *testing.T) {
		out, _, _ := berth(t, e.args("status", "--stack", other)...)
		if !strings.Contains(out, "foreign volume "+data+" (stack "+sect+")") {
			t.Errorf("status:\n%s", out)
		}
	})

	t.Run("destroy --volumes of another stack keeps sect's volume", func(t *testing.T) {
		out, _, code := berth(t, e.args("destroy", "--stack", other, "--volumes", "--yes")...)
		if code != 0 {
			t.Errorf("exit %d", code)
		}
		if strings.Contains(out, "- volume") || !strings.Contains(out, "! foreign volume "+data) {
			t.Errorf("destroy does not say it skipped sect's volume:\n%s", out)
		}
		dockerOut(t, "volume", "inspect", data)
		unchanged(t)
	})

	t.Run("--stack is a name, not a path", func(t *testing.T) {
		// The state dir's parent holds a file the old code deleted as a secret.
		canary := filepath.Join(filepath.Dir(e.stateDir), "keep.env")
		if err := os.WriteFile(canary, []byte("X=1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, stack := range []string{"..", "../x", "a/b"} {
			_, errOut, code := berth(t, e.args("destroy", "--stack", stack, "--volumes", "--yes")...)
			if code != exitUsage || !strings.Contains(errOut, "invalid stack name") {
				t.Errorf("--stack %s: exit %d, %s", stack, code, errOut)
			}
		}
		if _, err := os.Stat(canary); err != nil {
			t.Errorf("a file next to the state dir is gone: %v", err)
		}
		unchanged(t)
	})
}

// A container with the playbook's name but no berth label stops a deploy
// before anything is created; --adopt replaces it with a labelled one, and a
// hand-made volume is used as it is.
func TestUnlabelledObjectsNeedAdopt(t *testing.T) {
	e := newStackEnv(t)
	web, data := e.prefix+"web", e.prefix+"db-data"
	dockerOut(t, "volume", "create", data)
	dockerOut(t, "run", "-d", "--name", web, "127.0.0.1:9/berth-test-app:v1", "web")
	handWeb := containerID(t, web)

	out, errOut, code := berth(t, e.args("deploy")...)
	if code != exitFailure {
		t.Fatalf("deploy over unlabelled objects: exit %d, want %d", code, exitFailure)
	}
	for _, want := range []string{"container " + web + " (no berth label)", "volume " + data + " (no berth label)", "--adopt"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("error lacks %q: %s", want, errOut)
		}
	}
	if containerID(t, web) != handWeb || containerID(t, e.prefix+"db") != "" {
		t.Error("deploy changed something before stopping")
	}
	if dockerOut(t, "network", "ls", "-q", "--filter", "name="+e.prefix+"net") != "" {
		t.Error("a network was created before stopping")
	}
	if !strings.Contains(out, "! foreign container "+web) {
		t.Errorf("the plan does not show the foreign container:\n%s", out)
	}

	out, _, code = berth(t, e.args("plan", "--adopt", "--new-secrets")...)
	if code != exitDrift || !strings.Contains(out, "& container "+web+" (adopt:") || !strings.Contains(out, "& volume "+data+" (adopt:") {
		t.Errorf("plan --adopt: exit %d\n%s", code, out)
	}
	// Adopting a volume adopts its data: berth will not invent the passwords
	// that data was set up with, so it asks for them (or --new-secrets, right
	// here: the hand-made volume is empty).
	if _, errOut, code := berth(t, e.args("deploy", "--adopt")...); code != exitFailure || !strings.Contains(errOut, "--new-secrets") {
		t.Fatalf("deploy --adopt without stored secrets: exit %d, want %d and a word on --new-secrets\n%s", code, exitFailure, errOut)
	}
	if containerID(t, web) != handWeb {
		t.Fatal("a refused adopt replaced the container")
	}
	if _, _, code := berth(t, e.args("deploy", "--adopt", "--new-secrets")...); code != 0 {
		t.Fatalf("deploy --adopt --new-secrets: exit %d", code)
	}
	if id := containerID(t, web); id == handWeb || dockerOut(t, "inspect", "--format", `{{index .Config.Labels "berth.stack"}}`, web) != e.prefix+"stack" {
		t.Error("the adopted container was not replaced by a labelled one")
	}
	if st, _ := httpDo(t, "PUT", e.url("/kv/k"), "v"); st != 200 {
		t.Errorf("adopted stack does not serve: %d", st)
	}
	// The volume is still the hand-made one, and the stack now counts it as its own.
	if lbl := dockerOut(t, "volume", "inspect", "--format", `{{index .Labels "berth.stack"}}`, data); lbl != "" {
		t.Errorf("volume label %q", lbl)
	}
	out, _, code = berth(t, e.args("plan")...)
	if code != 0 || !strings.Contains(out, "= volume "+data+" (adopted earlier") {
		t.Errorf("plan after adopting: exit %d\n%s", code, out)
	}
	// destroy --volumes deletes only data berth created itself.
	out, _, code = berth(t, e.args("destroy", "--volumes", "--yes")...)
	if code != 0 || !strings.Contains(out, "! foreign volume "+data) {
		t.Errorf("destroy --volumes: exit %d\n%s", code, out)
	}
	dockerOut(t, "volume", "inspect", data)
}

// Two playbooks with the same name on one host never delete or recreate
// each other's containers: as one stack the second stops, as two stacks
// each keeps to its own.
func TestSameNamePlaybooksOwnStacks(t *testing.T) {
	e := newStackEnv(t)
	solo := filepath.Join(t.TempDir(), "solo.yaml")
	pb := `name: "{{ .prefix }}stack"
vars: { prefix: "", web_port: "1" }
volumes:
  - name: "{{ .prefix }}solo-data"
containers:
  - name: "{{ .prefix }}solo"
    image: 127.0.0.1:9/berth-test-app:v1
    command: ["db", "--data", "/data"]
    volumes: ["{{ .prefix }}solo-data:/data"]
    env: { DB_PASSWORD: x }
`
	if err := os.WriteFile(solo, []byte(pb), 0o644); err != nil {
		t.Fatal(err)
	}
	soloArgs := func(cmd string, extra ...string) []string {
		a := append([]string{cmd}, sshFlags(e.sshd)...)
		a = append(a, "--playbook", solo, "--state-dir", e.stateDir, "--var", "prefix="+e.prefix)
		return append(a, extra...)
	}
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("deploy A: exit %d", code)
	}
	db, web := containerID(t, e.prefix+"db"), containerID(t, e.prefix+"web")

	// Same name, same (default) stack: B would remove all of A's containers as orphans.
	_, errOut, code := berth(t, soloArgs("deploy")...)
	if code != exitFailure || !strings.Contains(errOut, "another playbook deployed as stack "+e.prefix+"stack") {
		t.Errorf("deploy B as A's stack: exit %d, %s", code, errOut)
	}
	if containerID(t, e.prefix+"db") != db || containerID(t, e.prefix+"web") != web || containerID(t, e.prefix+"solo") != "" {
		t.Fatal("deploying B as A's stack changed something")
	}

	soloArgs = func(cmd string, extra ...string) []string {
		a := append([]string{cmd}, sshFlags(e.sshd)...)
		a = append(a, "--playbook", solo, "--state-dir", e.stateDir, "--var", "prefix="+e.prefix, "--stack", e.prefix+"solo")
		return append(a, extra...)
	}
	if _, _, code := berth(t, soloArgs("deploy")...); code != 0 {
		t.Fatalf("deploy B: exit %d", code)
	}
	soloID := containerID(t, e.prefix+"solo")
	out, _, code := berth(t, e.args("deploy")...)
	if code != 0 || containerID(t, e.prefix+"solo") != soloID || strings.Contains(out, "orphan") {
		t.Errorf("redeploying A touched B: exit %d\n%s", code, out)
	}
	if _, _, code := berth(t, soloArgs("destroy", "--volumes", "--yes")...); code != 0 {
		t.Fatalf("destroy B: exit %d", code)
	}
	if containerID(t, e.prefix+"db") != db || containerID(t, e.prefix+"web") != web {
		t.Error("destroying B removed A's containers")
	}
	dockerOut(t, "volume", "inspect", e.prefix+"db-data")
}
