package backup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/fakeconn"
	"github.com/berth-sh/berth/playbooks"
)

func writeBackup(t *testing.T, dir Dir, files map[string]string) *Manifest {
	t.Helper()
	ctx := context.Background()
	m := &Manifest{Stack: "s"}
	for name, body := range files {
		f, err := writeSum(ctx, dir, name, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		m.Volumes = append(m.Volumes, Volume{Name: strings.TrimSuffix(name, ".tar.gz"), File: f})
	}
	if err := writeManifest(ctx, dir, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		corrupt func(dir string) error
		want    string // "" means verified
	}{
		{"intact", func(string) error { return nil }, ""},
		{"one byte flipped", func(d string) error { return os.WriteFile(filepath.Join(d, "a.tar.gz"), []byte("alphA"), 0o600) }, "checksum of a.tar.gz"},
		{"truncated", func(d string) error { return os.WriteFile(filepath.Join(d, "b.tar.gz"), []byte("bet"), 0o600) }, "checksum of b.tar.gz"},
		{"missing", func(d string) error { return os.Remove(filepath.Join(d, "a.tar.gz")) }, "verify a.tar.gz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := Dir(t.TempDir())
			writeBackup(t, dir, map[string]string{"a.tar.gz": "alpha", "b.tar.gz": "beta"})
			if err := tc.corrupt(string(dir)); err != nil {
				t.Fatal(err)
			}
			m, err := ReadManifest(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			err = Verify(ctx, dir, m)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Verify: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

func TestReadManifestRefusesPathsOutOfTheBackup(t *testing.T) {
	for _, name := range []string{"../x", "a/b", ".hidden", ""} {
		dir := Dir(t.TempDir())
		m := &Manifest{Volumes: []Volume{{Name: "v", File: File{File: name}}}}
		if err := writeManifest(context.Background(), dir, m); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadManifest(context.Background(), dir); err == nil {
			t.Errorf("file name %q accepted", name)
		}
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		complete []bool // oldest first; false: no manifest (a failed run)
		keep     int
		removed  []string
	}{
		{"fewer than keep", []bool{true, true}, 3, nil},
		{"older ones go", []bool{true, true, true, true}, 2, []string{"t0", "t1"}},
		{"failed runs do not count", []bool{true, true, false, false}, 2, nil},
		{"an old failed run goes with the old ones", []bool{false, true, true, true}, 2, []string{"t0", "t1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := Dir(t.TempDir())
			for i, ok := range tc.complete {
				sub := root.Sub("t" + string(rune('0'+i)))
				name := "partial"
				if ok {
					name = ManifestName
				}
				if err := putFile(ctx, sub, name, strings.NewReader("{}")); err != nil {
					t.Fatal(err)
				}
			}
			removed, err := Prune(ctx, root, tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			// Removed newest first; compare as sets in name order.
			got := append([]string(nil), removed...)
			for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
				got[i], got[j] = got[j], got[i]
			}
			if !reflect.DeepEqual(got, tc.removed) {
				t.Errorf("removed %v, want %v", got, tc.removed)
			}
			left, _ := root.Dirs(ctx)
			if len(left)+len(removed) != len(tc.complete) {
				t.Errorf("left %v after removing %v", left, removed)
			}
		})
	}
}

func TestSecretsRoundTrip(t *testing.T) {
	secrets := map[string]string{"db_password": "s3cr3t-value", "other": "x"}
	to, err := Recipients("", "pass phrase")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := encryptSecrets(secrets, to)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "s3cr3t-value") {
		t.Fatal("plaintext in the sealed secrets")
	}
	ids, _ := Identities(nil, "pass phrase")
	got, err := decryptSecrets(strings.NewReader(string(sealed)), ids)
	if err != nil || !reflect.DeepEqual(got, secrets) {
		t.Fatalf("decrypt: %v %v", got, err)
	}
	wrong, _ := Identities(nil, "another phrase")
	if _, err := decryptSecrets(strings.NewReader(string(sealed)), wrong); err == nil {
		t.Fatal("the wrong passphrase opened the secrets")
	}
}

// TestBackupWithoutKeyRefusesBeforeConnecting: secrets without a key are
// refused before any command reaches the host; with a key, with
// --no-secrets, or with no secrets to keep, the backup goes on to the host
// (whose fake answers nothing, so it stops there).
func TestBackupWithoutKeyRefusesBeforeConnecting(t *testing.T) {
	key, err := Recipients("", "a phrase")
	if err != nil {
		t.Fatal(err)
	}
	noSecrets := testPlaybook()
	noSecrets.Secrets = nil
	tests := []struct {
		name    string
		pb      *playbooks.Playbook
		opts    Options
		refused bool
	}{
		{"secrets and no key", testPlaybook(), Options{}, true},
		{"secrets and a key", testPlaybook(), Options{Recipients: key}, false},
		{"--no-secrets", testPlaybook(), Options{NoSecrets: true}, false},
		{"no secrets to keep", noSecrets, Options{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := &fakeconn.Conn{H: fakeconn.NewHost(nil)}
			_, err := Backup(context.Background(), conn, tt.pb, Dir(t.TempDir()), tt.opts)
			if errors.Is(err, ErrNoKey) != tt.refused {
				t.Errorf("backup: %v; refused for want of a key: %v, want %v", err, errors.Is(err, ErrNoKey), tt.refused)
			}
			if sent := len(conn.Calls()); (sent == 0) != tt.refused {
				t.Errorf("%d commands reached the host", sent)
			}
		})
	}
}

func testPlaybook() *playbooks.Playbook {
	return &playbooks.Playbook{
		Name:    "s",
		Secrets: []string{"db_password"},
		Volumes: []playbooks.Volume{{Name: "data"}, {Name: "content"}},
		Containers: []playbooks.Container{
			{Name: "web", Image: "i", DependsOn: []string{"db"}, Volumes: []string{"content:/c"}},
			{Name: "db", Image: "i", Volumes: []string{"data:/d"}},
			{Name: "cache", Image: "i", DependsOn: []string{"web"}},
		},
	}
}

func TestConsumersInDependencyOrder(t *testing.T) {
	running := func(stack string, vols ...string) *docker.ContainerState {
		c := &docker.ContainerState{Running: true, Labels: map[string]string{docker.LabelStack: stack}}
		for _, v := range vols {
			c.Mounts = append(c.Mounts, docker.Mount{Type: "volume", Name: v})
		}
		return c
	}
	st := &deploy.State{Docker: &docker.Observed{Containers: map[string]*docker.ContainerState{
		"web":       running("s", "content"),
		"db":        running("s", "data"),
		"cache":     running("s"),
		"old-tool":  running("s", "data"),     // not in the playbook: last
		"neighbour": running("other", "data"), // another stack's: never touched
	}}}
	st.Docker.Containers["stopped"] = &docker.ContainerState{Labels: map[string]string{docker.LabelStack: "s"},
		Mounts: []docker.Mount{{Type: "volume", Name: "data"}}}
	for _, tc := range []struct {
		vols []string
		want []string
	}{
		{[]string{"data", "content"}, []string{"db", "web", "old-tool"}},
		{[]string{"content"}, []string{"web"}},
		{[]string{"data"}, []string{"db", "old-tool"}},
	} {
		if got := consumers(st, testPlaybook(), "s", tc.vols); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("consumers of %v = %v, want %v", tc.vols, got, tc.want)
		}
	}
}
