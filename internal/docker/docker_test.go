package docker

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/playbooks"
)

func wordpress(t testing.TB) *playbooks.Playbook {
	t.Helper()
	pb, err := playbooks.Load("wordpress", nil)
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

func TestRunArgs(t *testing.T) {
	pb := wordpress(t)
	db := pb.Containers[0]
	digests := map[string]string{"db_password": "d1", "db_root_password": "d2"}
	argv, err := RunArgs("wordpress", db, "/tmp/berth/mysql-server.env", digests)
	if err != nil {
		t.Fatal(err)
	}
	spec := encode(t, db, digests)
	hash := HashBytes(spec)
	want := []string{"docker", "run", "-d", "--name", "mysql-server",
		"--label", "berth.stack=wordpress", "--label", "berth.hash=" + hash, "--label", "berth.spec=" + string(spec),
		"--network", "wp-net", "--restart", "unless-stopped", "-v", "mysql-volume:/var/lib/mysql",
		"-e", "MYSQL_DATABASE=wordpress", "-e", "MYSQL_USER=wordpress",
		"--env-file", "/tmp/berth/mysql-server.env",
		"--health-cmd", "mysqladmin ping -h 127.0.0.1", "--health-interval", "5s", "--health-retries", "30",
		"mysql:8.0-debian"}
	if !slices.Equal(argv, want) {
		t.Errorf("RunArgs =\n%q\nwant\n%q", argv, want)
	}

	wp := pb.Containers[1]
	wp.Command = []string{"apache2-foreground", "-X"}
	wp.Health = &playbooks.Health{Cmd: []string{"sh", "-c", "curl -f localhost || exit 1"}, Interval: time.Second}
	argv, err = RunArgs("wordpress", wp, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(argv, "\x00")
	for _, part := range []string{"-p\x0080:80", "--health-cmd\x00sh -c 'curl -f localhost || exit 1'\x00--health-interval\x001s",
		"wordpress:6-apache\x00apache2-foreground\x00-X"} {
		if !strings.Contains(joined, part) {
			t.Errorf("argv %q lacks %q", argv, part)
		}
	}
	if slices.Contains(argv, "--env-file") || slices.Contains(argv, "--health-retries") {
		t.Errorf("unexpected flags in %q", argv)
	}
	if strings.HasSuffix(joined, "\x00") || argv[len(argv)-1] != "-X" {
		t.Errorf("command not last: %q", argv)
	}
}

func TestSimpleArgs(t *testing.T) {
	tests := []struct {
		got  []string
		want string
	}{
		{VolumeCreateArgs("s", playbooks.Volume{Name: "v"}), "docker volume create --label berth.stack=s v"},
		{NetworkCreateArgs("s", playbooks.Network{Name: "n"}), "docker network create --label berth.stack=s n"},
		{NetworkCreateArgs("s", playbooks.Network{Name: "n", Driver: "macvlan"}), "docker network create --driver macvlan --label berth.stack=s n"},
		{NetworkConnectArgs("n", "c"), "docker network connect n c"},
		{RemoveArgs("c"), "docker rm -f c"},
		{StartArgs("c"), "docker start c"},
		{NetworkRemoveArgs("n"), "docker network rm n"},
		{VolumeRemoveArgs("v"), "docker volume rm v"},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.got, " "); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func encode(t testing.TB, c playbooks.Container, digests map[string]string) []byte {
	t.Helper()
	s, err := NewSpec(c, digests)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCanonicalSpec(t *testing.T) {
	a := playbooks.Container{
		Name: "a", Image: "img:1", Networks: []string{"n2", "n1"}, Ports: []string{"8080:80", "53:53/udp"},
		Volumes: []string{"v:/v", "/srv:/srv:ro"}, Env: map[string]string{"B": "2", "A": "<&>"},
		SecretEnv: map[string]string{"PW": "pw"},
		Health:    &playbooks.Health{Cmd: []string{"true"}, Interval: 5 * time.Second, Retries: 3},
	}
	b := a
	b.Name = "other name: not part of the spec"
	b.Networks = []string{"n1", "n2", "n1"}
	b.Ports = []string{"53:53/udp", "8080:80/tcp"}
	b.Volumes = []string{"/srv:/srv:ro", "v:/v"}
	b.Env = map[string]string{"A": "<&>", "B": "2"}
	b.Restart = "no"
	digests := map[string]string{"pw": SecretDigest([]byte("k"), "pw", "hunter2"), "unused": "x"}
	sa := encode(t, a, digests)
	sb := encode(t, b, digests)
	if string(sa) != string(sb) {
		t.Errorf("equivalent containers differ:\n%s\n%s", sa, sb)
	}
	want := `{"env":{"A":"<&>","B":"2"},"health":{"cmd":["true"],"interval":"5s","retries":3},"image":"img:1",` +
		`"networks":["n1","n2"],"ports":["53:53/udp","8080:80/tcp"],"restart":"no","secret_env":{"PW":"pw"},` +
		`"secrets":{"pw":"` + digests["pw"] + `"},"volumes":["/srv:/srv:ro","v:/v"]}`
	if string(sa) != want {
		t.Errorf("spec\n%s\nwant\n%s", sa, want)
	}
	ha := HashBytes(sa)
	if len(ha) != 64 {
		t.Errorf("hash %q", ha)
	}
	for _, change := range []func(c *playbooks.Container){
		func(c *playbooks.Container) { c.Image = "img:2" },
		func(c *playbooks.Container) { c.Env = map[string]string{"A": "<&>", "B": "3"} },
		func(c *playbooks.Container) { c.SecretEnv = map[string]string{"PW": "other"} },
		func(c *playbooks.Container) { c.Command = []string{"x"} },
		func(c *playbooks.Container) { c.Health = nil },
		func(c *playbooks.Container) { c.Restart = "always" },
	} {
		c := a
		change(&c)
		if h := HashBytes(encode(t, c, digests)); h == ha {
			t.Errorf("change to %+v kept hash", c)
		}
	}
	rotated := map[string]string{"pw": SecretDigest([]byte("k"), "pw", "hunter3")}
	if h := HashBytes(encode(t, a, rotated)); h == ha {
		t.Error("a rotated secret kept the hash")
	}
	back, err := DecodeSpec(string(sa))
	if err != nil || back.Image != "img:1" || back.Health.Retries != 3 {
		t.Errorf("DecodeSpec: %+v %v", back, err)
	}
}

func TestNormalizeRef(t *testing.T) {
	for in, want := range map[string]string{
		"mysql":                       "docker.io/library/mysql:latest",
		"mysql:8.0-debian":            "docker.io/library/mysql:8.0-debian",
		"user/app:1":                  "docker.io/user/app:1",
		"index.docker.io/user/app":    "docker.io/user/app:latest",
		"ghcr.io/o/app:2":             "ghcr.io/o/app:2",
		"localhost:5000/app":          "localhost:5000/app:latest",
		"localhost/app:1":             "localhost/app:1",
		"mysql@sha256:abc":            "docker.io/library/mysql@sha256:abc",
		"mysql:8@sha256:abc":          "docker.io/library/mysql:8@sha256:abc",
		"sha256:0123456789abcdef0123": "sha256:0123456789abcdef0123",
	} {
		if got := NormalizeRef(in); got != want {
			t.Errorf("NormalizeRef(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestObserveArgs(t *testing.T) {
	pb := wordpress(t)
	pb.Containers = append(pb.Containers, playbooks.Container{Name: "db2", Image: "mysql:8.0-debian"})
	got := strings.Join(ObserveArgs("wp", pb), " ")
	want := "wp mysql-server mysql-server.berth-old wordpress wordpress.berth-old db2 db2.berth-old -- mysql-volume wp-content -- wp-net -- mysql:8.0-debian wordpress:6-apache"
	if got != want {
		t.Errorf("ObserveArgs = %q, want %q", got, want)
	}
}

const fixture = `Welcome to the host!
### lock
acquired
### containers
[
  {"Id": "c1", "Name": "/wordpress", "Image": "sha256:wpimg",
   "State": {"Status": "running", "Running": true, "Health": {"Status": "healthy"}},
   "Config": {"Image": "wordpress:6-apache", "Labels": {"berth.stack": "wp"}},
   "NetworkSettings": {"Networks": {"wp-net": {}, "bridge": {}},
     "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "80"}, {"HostIp": "::", "HostPort": "80"}]}},
   "Mounts": [{"Type": "volume", "Name": "wp-content", "Source": "/var/lib/docker/volumes/wp-content/_data", "Destination": "/var/www/html", "RW": true}]},
  {"Id": "c1", "Name": "/wordpress", "Image": "sha256:wpimg", "State": {"Status": "running", "Running": true},
   "Config": {"Image": "wordpress:6-apache"}},
  {"Id": "c2", "Name": "/old", "Image": "sha256:x", "State": {"Status": "exited", "ExitCode": 1},
   "Config": {"Image": "x"}, "HostConfig": {"PortBindings": {"53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}]}},
   "NetworkSettings": {"Ports": {}}}
]
### volumes
[{"Name": "wp-content", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/wp-content/_data", "Labels": {"berth.stack": "wp"}}]
### networks
[{"Name": "wp-net", "Id": "n1", "Driver": "bridge", "Labels": null}]
### images
[{"Id": "sha256:wpimg", "RepoTags": ["wordpress:6-apache", "mysql:latest"], "RepoDigests": ["wordpress@sha256:d1"],
  "RootFS": {"Type": "layers", "Layers": ["sha256:base", "sha256:top"]}}]
### future-section
whatever
`

func TestParseObserved(t *testing.T) {
	obs, err := ParseObserved([]byte(fixture))
	if err != nil {
		t.Fatal(err)
	}
	wp := obs.Containers["wordpress"]
	if wp == nil || wp.ID != "c1" || wp.Health != "healthy" || wp.Image != "wordpress:6-apache" || wp.ImageID != "sha256:wpimg" {
		t.Fatalf("wordpress: %+v", wp)
	}
	if strings.Join(wp.Networks, ",") != "bridge,wp-net" || len(wp.Ports) != 1 || wp.Ports[0].String() != "80:80/tcp" {
		t.Errorf("networks %v ports %v", wp.Networks, wp.Ports)
	}
	if wp.Mounts[0].Name != "wp-content" || wp.Mounts[0].Destination != "/var/www/html" {
		t.Errorf("mounts %+v", wp.Mounts)
	}
	old := obs.Containers["old"]
	if old.Running || old.State != "exited" || old.ExitCode != 1 || len(old.Ports) != 1 || old.Ports[0].String() != "127.0.0.1:5353:53/udp" {
		t.Errorf("old: %+v", old)
	}
	if obs.Volumes["wp-content"].Mountpoint == "" || obs.Networks["wp-net"].ID != "n1" {
		t.Errorf("volumes %+v networks %+v", obs.Volumes, obs.Networks)
	}
	for _, ref := range []string{"wordpress:6-apache", "docker.io/library/wordpress:6-apache", "mysql", "mysql:latest", "wordpress@sha256:d1"} {
		if obs.ImageID(ref) != "sha256:wpimg" {
			t.Errorf("ImageID(%q) = %q", ref, obs.ImageID(ref))
		}
	}
	if l := obs.Layers["sha256:wpimg"]; strings.Join(l, ",") != "sha256:base,sha256:top" {
		t.Errorf("layers %v", l)
	}
	if obs.ImageID("wordpress:7") != "" {
		t.Error("unknown tag resolved")
	}
	if string(obs.Sections["lock"]) != "acquired" || string(obs.Sections["future-section"]) != "whatever" {
		t.Errorf("sections %q", obs.Sections)
	}
}

func TestParseObservedErrors(t *testing.T) {
	tests := []struct {
		out  string
		want error
		text string
	}{
		{"### error\ndocker-not-found\n", ErrDockerNotFound, "berth bootstrap"},
		{"### error\ndocker-permission\npermission denied\n", ErrDockerPermission, "docker group"},
		{"### error\ndocker-unavailable\nCannot connect to the Docker daemon\n", ErrDockerUnavailable, "Cannot connect"},
		{"### containers\n[{]\n", nil, "parse containers section at byte 3: invalid character"},
		{"### containers\n[]\n### volumes\n[{\"Name\": 7}]\n", nil, "parse volumes section at byte 11: json: cannot unmarshal number"},
		{"### containers\n[]\n### networks\n{\n", nil, "parse networks section"},
		{"### containers\n[]\n### images\n[{\"Id\": 7}]\n", nil, "parse images section"},
		{"### error\nsomething-new\nwhat the host said\n", nil, "observe host: something-new\nwhat the host said"},
		{"bash: sh: not found\n", nil, "no containers section"},
	}
	for _, tt := range tests {
		obs, err := ParseObserved([]byte(tt.out))
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("ParseObserved(%q) = %v, want %v containing %q", tt.out, err, tt.want, tt.text)
		}
		if tt.want != nil && obs.Err != err {
			t.Errorf("obs.Err = %v, want %v", obs.Err, err)
		}
	}
	obs, err := ParseObserved([]byte("### containers\n[]\n### volumes\n[]\n### networks\n[]\n### images\n[]\n"))
	if err != nil || len(obs.Containers) != 0 {
		t.Errorf("empty: %+v %v", obs, err)
	}
}

// runScript runs ObserveScript, after prelude, with PATH limited to dir and the system dirs given.
func runScript(t *testing.T, prelude, path string, args ...string) *Observed {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{"-s", "--"}, args...)...)
	cmd.Stdin = strings.NewReader(prelude + ObserveScript)
	cmd.Env = []string{"PATH=" + path}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script exit: %v\n%s", err, out)
	}
	obs, _ := ParseObserved(out)
	return obs
}

// fakeDocker installs a docker command that runs body as a shell script.
func fakeDocker(t *testing.T, body string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestObserveScriptWithoutDocker(t *testing.T) {
	obs := runScript(t, "", t.TempDir(), "wp", "a", "--", "--", "--")
	if !errors.Is(obs.Err, ErrDockerNotFound) {
		t.Errorf("Err = %v", obs.Err)
	}
}

func TestObserveScriptPermissionDenied(t *testing.T) {
	dir := fakeDocker(t, `echo "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get ...: dial unix /var/run/docker.sock: connect: permission denied" >&2; exit 1`)
	obs := runScript(t, "", dir+":/usr/bin:/bin", "wp", "a", "--", "--", "--")
	if !errors.Is(obs.Err, ErrDockerPermission) {
		t.Errorf("Err = %v", obs.Err)
	}
}

// TestObserveScriptArgs checks, with a fake docker that echoes its argv as
// JSON, that each section gets its own group of args, after a caller's prelude.
func TestObserveScriptArgs(t *testing.T) {
	dir := fakeDocker(t, `
if [ "$1" = ps ]; then
	[ "$5" = "label=berth.stack=my stack" ] || { echo "bad filter: $5" >&2; exit 1; }
	echo WARNING: noise; echo 0123456789ab; echo fedcba9876543210; exit 0
fi
printf '[{"Name": "%s:'"$1"'"' "$#"; shift 2; for a in "$@"; do printf ', "Labels": {"%s": ""}' "$a"; done; echo '}]'
`)
	prelude := "shift 2\necho '### lock'\necho held\n"
	obs := runScript(t, prelude, dir+":/usr/bin:/bin", "own1", "own2", "my stack", "c 1", "c2", "--", "v1", "--", "--", "img:1")
	if obs.Err != nil {
		t.Fatal(obs.Err)
	}
	for section, want := range map[string]string{
		"containers": `[{"Name": "6:container", "Labels": {"c 1": ""}, "Labels": {"c2": ""}, "Labels": {"0123456789ab": ""}, "Labels": {"fedcba9876543210": ""}}]`,
		"volumes":    `[{"Name": "3:volume", "Labels": {"v1": ""}}]`,
		"networks":   `[]`,
		"images":     `[{"Name": "3:image", "Labels": {"img:1": ""}}]`,
		"lock":       "held",
	} {
		if got := string(obs.Sections[section]); got != want {
			t.Errorf("section %s = %s, want %s", section, got, want)
		}
	}
}

func TestSecretDigestIsKeyed(t *testing.T) {
	d := SecretDigest([]byte("k1"), "pw", "hunter2")
	for name, other := range map[string]string{
		"another key":    SecretDigest([]byte("k2"), "pw", "hunter2"),
		"another name":   SecretDigest([]byte("k1"), "pw2", "hunter2"),
		"another value":  SecretDigest([]byte("k1"), "pw", "hunter3"),
		"plain sha256":   HashBytes([]byte("hunter2")),
		"name and value": HashBytes([]byte("pw\x00hunter2")),
	} {
		if other == d {
			t.Errorf("%s gives the same digest", name)
		}
	}
	if d != SecretDigest([]byte("k1"), "pw", "hunter2") {
		t.Error("digest not deterministic")
	}
}
