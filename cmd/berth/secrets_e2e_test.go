package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func randomSecret(t testing.TB) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "s3cret-" + hex.EncodeToString(b[:])
}

// containerEnv is one variable of a container's environment (its value is
// the test's business only: never printed).
func containerEnv(t testing.TB, container, name string) string {
	t.Helper()
	for _, kv := range strings.Split(dockerOut(t, "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", container), "\n") {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

func (e *stackEnv) storedSecrets(t testing.TB) string {
	b, _ := os.ReadFile(filepath.Join(e.stateDir, e.prefix+"stack", "secrets.env"))
	return string(b)
}

// A rotated secret reaches every container that uses it in one deploy, in
// dependency order; plan names it and shows no value.
func TestSecretRotationRecreatesEveryUser(t *testing.T) {
	e := newStackEnv(t)
	db, web := e.prefix+"db", e.prefix+"web"
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if st, _ := httpDo(t, "PUT", e.url("/kv/post"), "kept"); st != 200 {
		t.Fatalf("write: %d", st)
	}
	dbID, webID := containerID(t, db), containerID(t, web)

	// The operator changes the password in the database first (as with
	// ALTER USER), then hands berth the new value.
	rotated := randomSecret(t)
	pw := filepath.Join(dockerOut(t, "volume", "inspect", "--format", "{{.Mountpoint}}", e.prefix+"db-data"), ".password")
	if err := os.WriteFile(pw, []byte(rotated), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_SECRET_DB_PASSWORD", rotated)

	out, _, code := berth(t, e.args("plan")...)
	if code != exitDrift {
		t.Errorf("plan after a rotation: exit %d, want %d", code, exitDrift)
	}
	for _, c := range []string{db, web} {
		if want := "~ container " + c + " (recreate: secret db_password changed)"; !strings.Contains(out, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if strings.Contains(e.storedSecrets(t), rotated) {
		t.Error("plan stored the new value")
	}

	_, errOut, code := berth(t, e.args("deploy")...)
	if code != 0 {
		t.Fatalf("deploy of the rotation: exit %d", code)
	}
	if containerID(t, db) == dbID || containerID(t, web) == webID {
		t.Error("a container that uses the secret was not recreated")
	}
	if i, j := strings.Index(errOut, "recreate container "+db), strings.Index(errOut, "recreate container "+web); i < 0 || j < i {
		t.Errorf("recreates not in dependency order (db at %d, web at %d)", i, j)
	}
	for _, c := range []string{db, web} {
		if containerEnv(t, c, "DB_PASSWORD") != rotated {
			t.Errorf("%s does not run with the rotated secret", c)
		}
	}
	if !strings.Contains(e.storedSecrets(t), "db_password="+rotated+"\n") {
		t.Error("the rotated value was not stored")
	}
	if st, body := httpDo(t, "GET", e.url("/kv/post"), ""); st != 200 || body != "kept" {
		t.Errorf("after the rotation web reads %d %q", st, body)
	}
	if _, _, code := berth(t, e.args("plan")...); code != 0 {
		t.Errorf("plan after the rotation: exit %d, want 0", code)
	}
	// The value now lives on the host: the environment is no longer needed.
	os.Unsetenv("BERTH_SECRET_DB_PASSWORD")
	if _, _, code := berth(t, e.args("plan")...); code != 0 {
		t.Errorf("plan without the variable: exit %d, want 0", code)
	}
}

// A value that cannot be one line of a UTF-8 env file is refused before it is
// stored or used, and no output stream shows it.
func TestBadSecretValueRefusedUnprinted(t *testing.T) {
	for _, bad := range []struct{ name, value string }{
		{"not UTF-8", "caf\xe9-" + randomSecret(t)},
		{"carriage return", randomSecret(t) + "\r"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			e := newStackEnv(t)
			t.Setenv("BERTH_SECRET_DB_PASSWORD", bad.value)
			for _, extra := range [][]string{nil, {"--json"}} {
				out, errOut, code := berth(t, e.args("deploy", extra...)...)
				if code != exitFailure || !strings.Contains(out+errOut, "BERTH_SECRET_DB_PASSWORD") {
					t.Errorf("deploy %v: exit %d, want %d and an error naming the variable", extra, code, exitFailure)
				}
			}
			if strings.Contains(e.storedSecrets(t), bad.value[:8]) {
				t.Error("the bad value was stored")
			}
			if containerID(t, e.prefix+"db") != "" {
				t.Error("a container was started with the bad value")
			}
		})
	}
}

// Secrets lost from the host, while the data made with them still exists,
// are never silently replaced by new random ones.
func TestMissingSecretsForExistingDataRefused(t *testing.T) {
	e := newStackEnv(t)
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("exit %d", code)
	}
	db, web := e.prefix+"db", e.prefix+"web"
	dbID, webID := containerID(t, db), containerID(t, web)
	password := containerEnv(t, db, "DB_PASSWORD")
	stored := filepath.Join(e.stateDir, e.prefix+"stack", "secrets.env")
	if err := os.Remove(stored); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"plan", "deploy"} {
		_, errOut, code := berth(t, e.args(cmd, "--var", "greeting=other")...)
		if code != exitFailure || !strings.Contains(errOut, "no stored value of secret db_password") ||
			!strings.Contains(errOut, "BERTH_SECRET_DB_PASSWORD=...") || !strings.Contains(errOut, "--new-secrets") {
			t.Errorf("%s without stored secrets: exit %d, want %d and how to provide them", cmd, code, exitFailure)
		}
	}
	if containerID(t, db) != dbID || containerID(t, web) != webID {
		t.Error("a container was recreated")
	}
	if _, err := os.Stat(stored); err == nil {
		t.Error("new secrets were stored")
	}
	if out, _, code := berth(t, e.args("plan", "--new-secrets")...); code != exitDrift || !strings.Contains(out, "secret db_password changed") {
		t.Errorf("plan --new-secrets: exit %d, want %d and the change named", code, exitDrift)
	}

	// Given the value the data was made with, berth stores it again and
	// finds the containers in sync with it.
	t.Setenv("BERTH_SECRET_DB_PASSWORD", password)
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("deploy with the value given: exit %d", code)
	}
	if containerID(t, db) != dbID || containerID(t, web) != webID {
		t.Error("a container was recreated although the secret did not change")
	}
	if !strings.Contains(e.storedSecrets(t), "db_password="+password+"\n") {
		t.Error("the given value was not stored")
	}
}
