package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/playbooks"
)

func TestResolveSecrets(t *testing.T) {
	pb := &playbooks.Playbook{Secrets: []string{"db_password", "api_key"}}
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	tests := []struct {
		name        string
		stored      map[string]string
		env         map[string]string
		wantChanged bool
		check       func(t *testing.T, got map[string]string)
		wantErr     string
	}{
		{name: "stored values are reused", stored: map[string]string{"db_password": "a", "api_key": "b"},
			check: func(t *testing.T, got map[string]string) {
				if got["db_password"] != "a" || got["api_key"] != "b" {
					t.Errorf("got %v", got)
				}
			}},
		{name: "missing ones are generated", stored: map[string]string{"db_password": "a"}, wantChanged: true,
			check: func(t *testing.T, got map[string]string) {
				if got["db_password"] != "a" || len(got["api_key"]) != 32 || strings.ContainsAny(got["api_key"], "\n=+/") {
					t.Errorf("got %v", got)
				}
			}},
		{name: "environment wins", stored: map[string]string{"db_password": "a", "api_key": "b"},
			env: map[string]string{"BERTH_SECRET_API_KEY": "from-env"}, wantChanged: true,
			check: func(t *testing.T, got map[string]string) {
				if got["api_key"] != "from-env" {
					t.Errorf("got %v", got)
				}
			}},
		{name: "environment equal to stored changes nothing", stored: map[string]string{"db_password": "a", "api_key": "b"},
			env: map[string]string{"BERTH_SECRET_API_KEY": "b"}},
		{name: "newline refused", env: map[string]string{"BERTH_SECRET_DB_PASSWORD": "a\nb"}, wantErr: "newline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := resolveSecrets(pb, tt.stored, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.wantChanged {
				t.Errorf("changed %v, want %v", changed, tt.wantChanged)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestSecretsFileRoundTrip(t *testing.T) {
	in := map[string]string{"b": "2", "a": "x=y"}
	if got := string(formatEnv(in)); got != "a=x=y\nb=2\n" {
		t.Fatalf("formatEnv = %q", got)
	}
	out := parseSecrets(formatEnv(in))
	if len(out) != 2 || out["a"] != "x=y" || out["b"] != "2" {
		t.Fatalf("parseSecrets = %v", out)
	}
}

func TestEnvFileHoldsOnlySecretEnv(t *testing.T) {
	c := &playbooks.Container{Env: map[string]string{"PLAIN": "p"}, SecretEnv: map[string]string{"DB_PASSWORD": "db_password"}}
	got := string(envFile(c, map[string]string{"db_password": "s3cret", "other": "x"}))
	if got != "DB_PASSWORD=s3cret\n" {
		t.Fatalf("env file %q", got)
	}
	if envFile(&playbooks.Container{}, nil) != nil {
		t.Fatal("a container without secret_env needs no env file")
	}
}

func TestParseLock(t *testing.T) {
	tests := []struct {
		in   string
		want lockState
	}{
		{"free\n", lockState{}},
		{"acquired\n", lockState{Acquired: true}},
		{"held 125\nroot@laptop pid=1 run=abc\n", lockState{Held: true, Age: 125 * time.Second, Holder: "root@laptop pid=1 run=abc"}},
		{"", lockState{}},
	}
	for _, tt := range tests {
		if got := parseLock([]byte(tt.in)); got != tt.want {
			t.Errorf("parseLock(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestLockHeldErrorNamesHolderAndStaleness(t *testing.T) {
	err := &LockHeldError{Host: "h", Holder: "ci@runner pid=7", Age: 45 * time.Minute, Stale: true}
	for _, want := range []string{"h:", "ci@runner pid=7", "45m0s", "berth unlock"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err.Error(), want)
		}
	}
}
