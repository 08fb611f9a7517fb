package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/berth-sh/berth/internal/backup"
	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/internal/testimage"
)

// A second "host" for the same stack: its own sshd and its own state
// directory (so no stored secrets), on this machine's Docker engine. Once
// host 1's stack and volumes are gone, the engine holds nothing of the stack,
// which is what a fresh host looks like to berth.
// TODO(hosttest): run host 2 as its own engine when internal/hosttest lands.
func (e *stackEnv) otherHost(t *testing.T) *stackEnv {
	t.Helper()
	return &stackEnv{sshd: sshtest.Start(t), prefix: e.prefix, port: e.port,
		stateDir: filepath.Join(t.TempDir(), "state2"), shimLog: e.shimLog}
}

// volumeDigest is a digest of every path, mode, owner and content under a
// volume's mountpoint, read directly (the tests run as root).
func volumeDigest(t *testing.T, volume string) string {
	t.Helper()
	mp := dockerOut(t, "volume", "inspect", "--format", "{{.Mountpoint}}", volume)
	h := sha256.New()
	n := 0
	err := filepath.WalkDir(mp, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mp, p)
		h.Write([]byte(rel + "\x00" + info.Mode().String() + "\x00"))
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 && strings.HasSuffix(volume, "db-data") {
		t.Fatalf("volume %s holds no files: the test would prove nothing", volume)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// onlyBackup returns the one backup directory under root.
func onlyBackup(t *testing.T, root string) string {
	t.Helper()
	ms, _ := filepath.Glob(filepath.Join(root, "*", "*", "*", backup.ManifestName))
	if len(ms) != 1 {
		t.Fatalf("want one backup under %s, found manifests %v", root, ms)
	}
	return filepath.Dir(ms[0])
}

func readStoredSecret(t *testing.T, e *stackEnv) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.stateDir, e.prefix+"stack", "secrets.env"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestBackupRestoreOntoFreshHost(t *testing.T) {
	h1 := newStackEnv(t)
	t.Setenv("BERTH_BACKUP_PASSPHRASE", "correct horse battery staple")
	if _, _, code := berth(t, h1.args("deploy")...); code != 0 {
		t.Fatalf("deploy exit %d", code)
	}
	if st, body := httpDo(t, "PUT", h1.url("/kv/post1"), "my first post"); st != 200 {
		t.Fatalf("write: %d %q", st, body)
	}
	dbVol, webVol := h1.prefix+"db-data", h1.prefix+"web-content"
	root := t.TempDir()

	t.Run("a backup without a key refuses to include secrets", func(t *testing.T) {
		t.Setenv("BERTH_BACKUP_PASSPHRASE", "")
		_, errOut, code := berth(t, h1.args("backup", "--to", root)...)
		if code != exitUsage || !strings.Contains(errOut, "BERTH_BACKUP_PASSPHRASE") || !strings.Contains(errOut, "--no-secrets") {
			t.Fatalf("exit %d, want %d and how to give a key: %q", code, exitUsage, errOut)
		}
		if ms, _ := filepath.Glob(filepath.Join(root, "*", "*", "*", "*")); len(ms) != 0 {
			t.Fatalf("a refused backup wrote %v", ms)
		}
	})

	t.Run("a backup waits for no deploy: a held lock exits 3 and stops nothing", func(t *testing.T) {
		lock := filepath.Join(h1.stateDir, h1.prefix+"stack", "lock")
		if err := os.MkdirAll(lock, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(lock, "info"), []byte("someone else"), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(lock)
		before := dockerOut(t, "inspect", "--format", "{{.State.StartedAt}}", h1.prefix+"db")
		_, _, code := berth(t, h1.args("backup", "--to", root)...)
		if code != exitLockHeld {
			t.Fatalf("exit %d, want %d", code, exitLockHeld)
		}
		if dockerOut(t, "inspect", "--format", "{{.State.StartedAt}}", h1.prefix+"db") != before {
			t.Error("db was restarted although the backup could not take the lock")
		}
	})

	var dir, dbDigest, webDigest, secret string
	t.Run("backup stops, archives and restarts the consumers", func(t *testing.T) {
		dbID := containerID(t, h1.prefix+"db")
		out, _, code := berth(t, h1.args("backup", "--to", root)...)
		if code != 0 {
			t.Fatalf("backup exit %d", code)
		}
		if !strings.Contains(out, "downtime") || !strings.Contains(out, "method stop") {
			t.Errorf("the result does not report the downtime and method: %q", out)
		}
		dir = onlyBackup(t, root)
		if containerID(t, h1.prefix+"db") != dbID {
			t.Error("backup replaced the db container instead of restarting it")
		}
		if st, body := httpDo(t, "GET", h1.url("/kv/post1"), ""); st != 200 || body != "my first post" {
			t.Fatalf("after the backup web answers %d %q", st, body)
		}
		secret = readStoredSecret(t, h1)
		sealed, err := os.ReadFile(filepath.Join(dir, backup.SecretsFile))
		if err != nil {
			t.Fatal(err)
		}
		_, value, _ := strings.Cut(secret, "=")
		if strings.Contains(string(sealed), value) || strings.Contains(out, value) {
			t.Error("the secret is stored or printed in plaintext")
		}
		var m backup.Manifest
		b, _ := os.ReadFile(filepath.Join(dir, backup.ManifestName))
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.Stack != h1.prefix+"stack" || len(m.Volumes) != 2 || m.Secrets == nil || m.SpecHash == "" || m.Method != backup.MethodStop {
			t.Errorf("manifest %+v", m)
		}
		dbDigest, webDigest = volumeDigest(t, dbVol), volumeDigest(t, webVol)
	})
	if dir == "" {
		t.FailNow()
	}

	t.Run("host 1 loses its disk", func(t *testing.T) {
		if _, _, code := berth(t, h1.args("destroy", "--volumes", "--yes")...); code != 0 {
			t.Fatalf("destroy exit %d", code)
		}
		if err := exec.Command("docker", "volume", "inspect", dbVol).Run(); err == nil {
			t.Fatal("the volume survived destroy --volumes")
		}
	})

	h2 := h1.otherHost(t)
	t.Run("a corrupted archive is refused by checksum before the host is touched", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad")
		copyDir(t, dir, bad)
		arch := filepath.Join(bad, dbVol+".tar.gz")
		b, err := os.ReadFile(arch)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(arch, b, 0o600); err != nil {
			t.Fatal(err)
		}
		before := h2.sshd.Connections()
		_, errOut, code := berth(t, h2.args("restore", "--from", bad)...)
		if code != exitFailure || !strings.Contains(errOut, "checksum of "+dbVol+".tar.gz") {
			t.Fatalf("exit %d, want %d and a checksum error: %q", code, exitFailure, errOut)
		}
		if h2.sshd.Connections() != before {
			t.Error("a corrupted backup reached the host")
		}
	})

	t.Run("restore onto a fresh host brings the data and its password back", func(t *testing.T) {
		out, _, code := berth(t, h2.args("restore", "--from", dir)...)
		if code != 0 {
			t.Fatalf("restore exit %d", code)
		}
		if !strings.Contains(out, "restored 2 volume(s)") {
			t.Errorf("restore result: %q", out)
		}
		if got := volumeDigest(t, dbVol); got != dbDigest {
			t.Errorf("db volume differs after restore: %s, want %s", got, dbDigest)
		}
		if got := volumeDigest(t, webVol); got != webDigest {
			t.Errorf("web volume differs after restore")
		}
		if got := readStoredSecret(t, h2); got != secret {
			t.Error("host 2 stores a different secret than host 1 had")
		}
		// The db checks the password it was initialised with: web reading
		// through it proves the original password came back.
		if st, body := httpDo(t, "GET", h2.url("/kv/post1"), ""); st != 200 || body != "my first post" {
			t.Fatalf("after restore web answers %d %q", st, body)
		}
		if _, _, code := berth(t, h2.args("plan")...); code != 0 {
			t.Errorf("plan after restore exits %d, want 0 (in sync)", code)
		}
	})

	t.Run("restore refuses to overwrite data without --force", func(t *testing.T) {
		dbID := containerID(t, h2.prefix+"db")
		_, errOut, code := berth(t, h2.args("restore", "--from", dir)...)
		if code != exitFailure || !strings.Contains(errOut, "--force") {
			t.Fatalf("exit %d, want %d and a pointer to --force: %q", code, exitFailure, errOut)
		}
		if containerID(t, h2.prefix+"db") != dbID {
			t.Error("a refused restore touched the db container")
		}
		if st, _ := httpDo(t, "PUT", h2.url("/kv/post2"), "written after the backup"); st != 200 {
			t.Fatal("write failed")
		}
		if _, _, code := berth(t, h2.args("restore", "--from", dir, "--force")...); code != 0 {
			t.Fatalf("restore --force exit %d", code)
		}
		if got := volumeDigest(t, dbVol); got != dbDigest {
			t.Error("restore --force did not make the volume the backup's again")
		}
		if st, body := httpDo(t, "GET", h2.url("/kv/post1"), ""); st != 200 || body != "my first post" {
			t.Fatalf("after restore --force web answers %d %q", st, body)
		}
		if st, _ := httpDo(t, "GET", h2.url("/kv/post2"), ""); st != 404 {
			t.Errorf("a post written after the backup answers %d after restore --force, want 404", st)
		}
	})

	t.Run("backup to S3 keeps the newest, restore from S3", func(t *testing.T) {
		mem := s3mem.New()
		srv := httptest.NewServer(gofakes3.New(mem).Server())
		defer srv.Close()
		if err := mem.CreateBucket("bkt"); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
		t.Setenv("AWS_REGION", "us-east-1")
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "fake")
		t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
		for range 2 {
			if _, _, code := berth(t, h2.args("backup", "--to", "s3://bkt/team", "--keep", "1")...); code != 0 {
				t.Fatalf("backup to S3: exit %d", code)
			}
		}
		hostDir := "team/" + h2.prefix + "stack/" + pathSafe(h2.sshd.Target())
		list, err := mem.ListBucket("bkt", &gofakes3.Prefix{Prefix: hostDir + "/", HasPrefix: true, Delimiter: "/", HasDelimiter: true}, gofakes3.ListBucketPage{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.CommonPrefixes) != 1 {
			t.Fatalf("--keep 1 left %d backups in S3", len(list.CommonPrefixes))
		}
		from := "s3://bkt/" + strings.TrimSuffix(list.CommonPrefixes[0].Prefix, "/")
		if st, _ := httpDo(t, "PUT", h2.url("/kv/post3"), "after the S3 backup"); st != 200 {
			t.Fatal("write failed")
		}
		if _, _, code := berth(t, h2.args("restore", "--from", from, "--force")...); code != 0 {
			t.Fatalf("restore from S3: exit %d", code)
		}
		if got := volumeDigest(t, dbVol); got != dbDigest {
			t.Error("the volume restored from S3 differs")
		}
		if st, _ := httpDo(t, "GET", h2.url("/kv/post3"), ""); st != 404 {
			t.Errorf("post3 answers %d after the restore from S3, want 404", st)
		}
	})
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
}

// TestBackupHotDump: a volume whose playbook declares backup: {exec,
// restore} is backed up by its dump command in the running container (never
// stopped), which logs in with the container's secret from its env file; the
// manifest records the method; a restore onto a host without the stack runs
// the restore command in the redeployed container and the data is back.
func TestBackupHotDump(t *testing.T) {
	e := newStackEnv(t)
	// An image of its own: the shared v1 tag may hold another checkout's
	// app, without dump and load, on an engine that checkouts share.
	img := testimage.Build(t, "dump-"+strings.TrimSuffix(e.prefix, "-"), "v1")
	t.Cleanup(func() { exec.Command("docker", "rmi", img).Run() })
	t.Setenv("BERTH_BACKUP_PASSPHRASE", "correct horse battery staple")
	args := func(cmd string, extra ...string) []string {
		a := append([]string{cmd}, sshFlags(e.sshd)...)
		a = append(a, "--playbook", "testdata/dump-stack.yaml", "--var", "prefix="+e.prefix, "--var", "image="+img, "--state-dir", e.stateDir)
		return append(a, extra...)
	}
	vol, db := e.prefix+"dump-data", e.prefix+"dump-db"
	if _, _, code := berth(t, args("deploy")...); code != 0 {
		t.Fatalf("deploy exit %d", code)
	}
	mp := dockerOut(t, "volume", "inspect", "--format", "{{.Mountpoint}}", vol)
	if err := os.WriteFile(filepath.Join(mp, "kv-post1"), []byte("my first post"), 0o600); err != nil {
		t.Fatal(err)
	}
	started := dockerOut(t, "inspect", "--format", "{{.State.StartedAt}}", db)
	root := t.TempDir()
	if _, errOut, code := berth(t, args("backup", "--to", root)...); code != 0 {
		t.Fatalf("backup exit %d: %s", code, errOut)
	}
	if dockerOut(t, "inspect", "--format", "{{.State.StartedAt}}", db) != started {
		t.Error("a hot dump stopped the container")
	}
	dir := onlyBackup(t, root)
	b, err := os.ReadFile(filepath.Join(dir, backup.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m backup.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Volumes) != 1 || m.Volumes[0].Method != backup.MethodExec || m.Volumes[0].Container != db || m.Method != backup.MethodExec {
		t.Fatalf("manifest %+v, want one volume dumped by exec in %s", m, db)
	}
	stored, err := os.ReadFile(filepath.Join(e.stateDir, e.prefix+"dump", "secrets.env"))
	if err != nil {
		t.Fatal(err)
	}
	_, secret, _ := strings.Cut(strings.TrimSpace(string(stored)), "=")
	argv, err := os.ReadFile(e.shimLog)
	if err != nil {
		t.Fatal(err)
	}
	if secret == "" || strings.Contains(string(argv), secret) {
		t.Errorf("the secret %q is empty or reached a docker argv:\n%s", secret, argv)
	}

	if _, _, code := berth(t, args("destroy", "--volumes", "--yes")...); code != 0 {
		t.Fatalf("destroy exit %d", code)
	}
	if _, errOut, code := berth(t, args("restore", "--from", dir)...); code != 0 {
		t.Fatalf("restore exit %d: %s", code, errOut)
	}
	mp = dockerOut(t, "volume", "inspect", "--format", "{{.Mountpoint}}", vol)
	if got, err := os.ReadFile(filepath.Join(mp, "kv-post1")); err != nil || string(got) != "my first post" {
		t.Fatalf("after the restore kv-post1 = %q, %v", got, err)
	}
}
