package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
)

func TestResolveSecrets(t *testing.T) {
	pb := &playbooks.Playbook{Secrets: []string{"db_password", "api_key"}, Volumes: []playbooks.Volume{{Name: "data"}}}
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	withData := &docker.Observed{Volumes: map[string]*docker.VolumeState{"data": {Name: "data", Labels: map[string]string{docker.LabelStack: "s"}}}}
	othersData := &docker.Observed{Volumes: map[string]*docker.VolumeState{"data": {Name: "data", Labels: map[string]string{docker.LabelStack: "other"}}}}
	tests := []struct {
		name       string
		stored     map[string]string
		env        map[string]string
		data       bool // the stack's volume exists
		othersData bool // a volume of that name exists, but another stack's
		newSecrets bool
		wantStore  bool
		check      func(t *testing.T, got map[string]string)
		wantErr    string
	}{
		{name: "stored values are reused", stored: map[string]string{"db_password": "a", "api_key": "b"}, data: true,
			check: func(t *testing.T, got map[string]string) {
				if got["db_password"] != "a" || got["api_key"] != "b" {
					t.Errorf("got %v", got)
				}
			}},
		{name: "missing ones are generated for a new stack", stored: map[string]string{"db_password": "a"}, wantStore: true,
			check: func(t *testing.T, got map[string]string) {
				if got["db_password"] != "a" || len(got["api_key"]) != 32 || strings.ContainsAny(got["api_key"], "\n=+/") {
					t.Errorf("got %v", got)
				}
			}},
		{name: "missing ones are refused when the volumes exist", stored: map[string]string{"db_password": "a"}, data: true,
			wantErr: "volumes data already exist but no stored value of secret api_key"},
		{name: "another stack's volume is not this stack's data", stored: map[string]string{"db_password": "a"}, othersData: true, wantStore: true},
		{name: "--new-secrets generates them anyway", stored: map[string]string{"db_password": "a"}, data: true, newSecrets: true, wantStore: true,
			check: func(t *testing.T, got map[string]string) {
				if got["db_password"] != "a" || len(got["api_key"]) != 32 {
					t.Errorf("got %v", got)
				}
			}},
		{name: "the environment provides them for existing data", data: true,
			env: map[string]string{"BERTH_SECRET_DB_PASSWORD": "a1234", "BERTH_SECRET_API_KEY": "b1234"}, wantStore: true},
		{name: "environment wins", stored: map[string]string{"db_password": "a", "api_key": "b"},
			env: map[string]string{"BERTH_SECRET_API_KEY": "from-env"}, wantStore: true,
			check: func(t *testing.T, got map[string]string) {
				if got["api_key"] != "from-env" {
					t.Errorf("got %v", got)
				}
			}},
		{name: "environment equal to stored changes nothing", stored: map[string]string{"db_password": "a", "api_key": "b"},
			env: map[string]string{"BERTH_SECRET_API_KEY": "b"}},
		{name: "newline refused", env: map[string]string{"BERTH_SECRET_DB_PASSWORD": "a\nb"}, wantErr: "NUL, CR or LF"},
		{name: "carriage return refused", env: map[string]string{"BERTH_SECRET_DB_PASSWORD": "a\rb"}, wantErr: "NUL, CR or LF"},
		{name: "NUL refused", env: map[string]string{"BERTH_SECRET_DB_PASSWORD": "a\x00b"}, wantErr: "NUL, CR or LF"},
		{name: "non-UTF-8 refused", env: map[string]string{"BERTH_SECRET_DB_PASSWORD": "caf\xe9-s3cret"}, wantErr: "BERTH_SECRET_DB_PASSWORD: not valid UTF-8"},
		{name: "a bad stored value is refused", stored: map[string]string{"db_password": "caf\xe9-s3cret", "api_key": "b"},
			wantErr: "stored secret db_password in /state/s: not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &State{Dir: "/state/s", Secrets: tt.stored, Docker: &docker.Observed{}}
			if tt.data {
				st.Docker = withData
			}
			if tt.othersData {
				st.Docker = othersData
			}
			got, err := resolveSecrets(pb, st, secretInputs{host: "h", stack: "s", lookupEnv: env(tt.env), newSecrets: tt.newSecrets, key: []byte("k")})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				for _, v := range tt.env {
					if strings.Contains(err.Error(), v) {
						t.Errorf("the error shows the value: %v", err)
					}
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("the error shows the value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.store != tt.wantStore {
				t.Errorf("store %v, want %v", got.store, tt.wantStore)
			}
			for _, name := range pb.Secrets {
				if got.digests[name] != docker.SecretDigest([]byte("k"), name, got.values[name]) {
					t.Errorf("digest of %s is not the keyed digest of its value", name)
				}
			}
			if tt.check != nil {
				tt.check(t, got.values)
			}
		})
	}
}

func TestSecretsFileRoundTrip(t *testing.T) {
	in := map[string]string{"b": "2", "a": "x=y"}
	if got := string(docker.EnvFile(in)); got != "a=x=y\nb=2\n" {
		t.Fatalf("formatEnv = %q", got)
	}
	out := parseSecrets(docker.EnvFile(in))
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
		{"", lockState{}},
		{"acquired\n", lockState{Acquired: true}},
		{"held 125\nholder root@laptop pid=1 run=abc\n", lockState{Held: true, Age: 125 * time.Second, Holder: "root@laptop pid=1 run=abc"}},
		{"held 3\nholder \n", lockState{Held: true, Age: 3 * time.Second}},
		{"broke 700\nbroke-holder ci@runner pid=9\nacquired\n", lockState{Acquired: true, Broke: true, BrokeAge: 700 * time.Second, Broken: "ci@runner pid=9"}},
	}
	for _, tt := range tests {
		if got := parseLock([]byte(tt.in)); got != tt.want {
			t.Errorf("parseLock(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestLockHeldErrorNamesHolder(t *testing.T) {
	err := &LockHeldError{Host: "h", Holder: "ci@runner pid=7", Age: 45 * time.Minute}
	for _, want := range []string{"h:", "ci@runner pid=7", "45m0s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err.Error(), want)
		}
	}
	if err := (&LockHeldError{Host: "h"}).Error(); !strings.Contains(err, "left no holder information") {
		t.Errorf("an info-less lock reads %q", err)
	}
}

func TestHeartbeatWithinStaleLimit(t *testing.T) {
	for _, stale := range []time.Duration{2 * time.Second, 10 * time.Minute, time.Hour} {
		if every := heartbeatEvery(stale); every <= 0 || every >= stale/3 {
			t.Errorf("stale %s: heartbeat every %s, want under a third of it", stale, every)
		}
	}
}

func TestWithholdEnvFile(t *testing.T) {
	argv := []string{"docker", "run", "-d", "--env-file", "/var/lib/berth/s/web.env", "img"}
	out := "docker: invalid env file (/var/lib/berth/s/web.env): invalid utf8 bytes at line 1: DB_PASSWORD=caf\xe9\nSee 'docker run --help'.\n"
	got := withholdEnvFile(out, argv)
	if strings.Contains(got, "DB_PASSWORD=") || !strings.Contains(got, "withheld") || !strings.Contains(got, "See 'docker run --help'.") {
		t.Errorf("withholdEnvFile = %q", got)
	}
	if got := withholdEnvFile("port is already allocated\n", argv[:3]); got != "port is already allocated" {
		t.Errorf("without an env file: %q", got)
	}
}
