package playbooks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is a valid playbook; cases edit it with strings.Replace so line numbers stay readable.
const base = `name: demo
vars:
  img: busybox:1
secrets: [pw]
volumes:
  - name: data
networks:
  - name: net
containers:
  - name: db
    image: "{{ .img }}"
    networks: [net]
    volumes: ["data:/data"]
    env: { A: "1" }
    secret_env: { PW: pw }
  - name: web
    image: busybox:1
    depends_on: [db]
    networks: [net]
    ports: ["8080:80"]
`

func TestParseValid(t *testing.T) {
	pb, err := Parse("demo.yaml", []byte(base), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := pb.Containers[0].Image; got != "busybox:1" {
		t.Errorf("templated image = %q", got)
	}
	if pb.Networks[0].Driver != "bridge" {
		t.Errorf("default driver = %q", pb.Networks[0].Driver)
	}
	if pb.Vars["domain"] != "" || len(pb.Vars) != 2 {
		t.Errorf("vars = %v, want img and the built-in domain", pb.Vars)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		old, new  string // replacement in base
		overrides map[string]string
		want      string // substring of the error
	}{
		{"unknown key with suggestion", "    image: busybox:1\n    depends_on", "    imgae: busybox:1\n    depends_on",
			nil, `demo.yaml:17:5: unknown key "imgae" in container (did you mean "image"?)`},
		{"unknown top-level key", "name: demo", "name: demo\nfoo: 1", nil, `demo.yaml:2:1: unknown key "foo" in playbook`},
		{"wrong type list", `ports: ["8080:80"]`, `ports: "8080:80"`, nil, `demo.yaml:20:12: containers[1].ports: expected a list, got "8080:80"`},
		{"wrong type string", `image: busybox:1`, `image: [busybox]`, nil, `demo.yaml:17:12: containers[1].image: expected a string, got a list`},
		{"wrong type bool", "  - name: data", "  - name: data\n    external: maybe", nil, `demo.yaml:7:15: volumes[0].external: expected true or false`},
		{"duration without unit", "    ports:", "    health: { cmd: [true], interval: 5 }\n    ports:", nil, `needs a unit`},
		{"duplicate key", `    env: { A: "1" }`, `    env: { A: "1", A: "2" }`, nil, `demo.yaml:14:20: duplicate key "A" (first at line 14)`},
		{"duplicate struct key", "    image: busybox:1\n    depends_on", "    image: busybox:1\n    image: x\n    depends_on", nil, `duplicate key "image"`},
		{"undeclared volume", `"data:/data"`, `"other:/data"`, nil, `demo.yaml:13:15: volume "other" is not declared under volumes:`},
		{"undeclared network", "    networks: [net]\n    ports", "    networks: [nett]\n    ports", nil, `demo.yaml:19:16: network "nett" is not declared`},
		{"unknown dependency", "depends_on: [db]", "depends_on: [dbb]", nil, `depends_on: no container named "dbb"`},
		{"dependency cycle", "    networks: [net]\n    volumes", "    depends_on: [web]\n    networks: [net]\n    volumes", nil, `depends_on has a cycle: db -> web -> db`},
		{"self dependency", "depends_on: [db]", "depends_on: [web]", nil, `container "web" depends on itself`},
		{"duplicate host port", `ports: ["8080:80"]`, `ports: ["8080:80", "127.0.0.1:8080:81"]`, nil, `host port 8080/tcp is already published by container "web" (8080:80)`},
		{"same port other proto ok then dup", `ports: ["8080:80"]`, `ports: ["8080:80/udp", "8080:80", "8080:81/udp"]`, nil, `demo.yaml:20:39: host port 8080/udp`},
		{"bad port number", `"8080:80"`, `"8080:70000"`, nil, `container port "70000" is not a number from 1 to 65535`},
		{"bad port form", `"8080:80"`, `"8080"`, nil, `want [ip:]host:container[/proto]`},
		{"bad port proto", `"8080:80"`, `"8080:80/sctp"`, nil, `protocol must be tcp or udp`},
		{"bad port ip", `"8080:80"`, `"example:8080:80"`, nil, `is not an IP address`},
		{"hostile name subshell", "  - name: web", "  - name: $(reboot)", nil, `demo.yaml:16:11: invalid container name "$(reboot)"`},
		{"hostile name semicolon", "  - name: data", "  - name: a;b", nil, `invalid volume name "a;b"`},
		{"hostile name space", "  - name: net", "  - name: a b", nil, `invalid network name "a b"`},
		{"hostile name traversal", "  - name: web", "  - name: ../x", nil, `invalid container name "../x"`},
		{"hostile name newline", "  - name: web", `  - name: "web\nrm -rf /"`, nil, `invalid container name "web\nrm -rf /"`},
		{"hostile name leading dash", "  - name: web", "  - name: -web", nil, `invalid container name "-web"`},
		{"name too long", "  - name: web", "  - name: " + strings.Repeat("w", 64), nil, `longer than 63`},
		{"hostile stack name", "name: demo", "name: demo;reboot", nil, `demo.yaml:1:7: invalid stack name`},
		{"backup suffix reserved", "  - name: web", "  - name: web.berth-old", nil, `reserved`},
		{"duplicate container", "  - name: web", "  - name: db", nil, `container "db" declared twice`},
		{"image with space", "image: busybox:1\n    depends_on", "image: busybox:1 --privileged\n    depends_on", nil, `implausible image reference`},
		{"image leading dash", "image: busybox:1\n    depends_on", "image: --privileged\n    depends_on", nil, `implausible image reference "--privileged"`},
		{"bad env key", `env: { A: "1" }`, `env: { "A-B": "1" }`, nil, `demo.yaml:14:12: invalid env name "A-B"`},
		{"env and secret env", `env: { A: "1" }`, `env: { PW: "1" }`, nil, `env "PW" is set in both env and secret_env`},
		{"undeclared secret", "secret_env: { PW: pw }", "secret_env: { PW: pass }", nil, `demo.yaml:15:23: secret "pass" is not declared`},
		{"bad secret name", "secrets: [pw]", "secrets: [pw, Bad-Name]", nil, `invalid secret name "Bad-Name"`},
		{"push by digest", "image: busybox:1\n    depends_on", "image: busybox@sha256:" + strings.Repeat("a", 64) + "\n    push: true\n    depends_on", nil, `pinned by digest`},
		{"restart policy", "    ports:", "    restart: sometimes\n    ports:", nil, `invalid restart policy "sometimes"`},
		{"ready not http", "    ports:", "    ready: { http: https://x/ }\n    ports:", nil, `must be an http:// URL`},
		{"relative container path", `"data:/data"`, `"data:data"`, nil, `must be absolute`},
		{"missing template var", `"{{ .img }}"`, `"{{ .imag }}"`, nil, `demo.yaml:11:12: containers[0].image: undefined var "imag" in template (defined: domain, img)`},
		{"bad template", `"{{ .img }}"`, `"{{ .img "`, nil, `demo.yaml:11:12: containers[0].image: bad template`},
		{"template range over a number", `"{{ .img }}"`, `"{{ range 2000000000 }}x{{ end }}"`, nil,
			`demo.yaml:11:12: containers[0].image: bad template: range is not supported in playbook templates`},
		{"template range nested in if", `"{{ .img }}"`, `"{{ if 1 }}{{ range . }}{{ end }}{{ end }}"`, nil, `range is not supported`},
		{"template recursion", `"{{ .img }}"`, `'{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}'`, nil,
			`demo.yaml:11:12: containers[0].image: bad template: define and block are not supported`},
		{"template call", `"{{ .img }}"`, `'{{ template "a" }}'`, nil, `template is not supported`},
		{"template output limit", `"{{ .img }}"`, `'{{ printf "%999999d" 0 }}{{ printf "%999999d" 0 }}'`, nil,
			`demo.yaml:11:12: containers[0].image: template output exceeds 1048576 bytes, berth's limit for a playbook`},
		{"template output limit across values", `env: { A: "1" }`, `env: { A: '{{ printf "%999999d" 0 }}', B: '{{ printf "%999999d" 0 }}' }`, nil,
			`demo.yaml:14:47: containers[0].env.B: template output exceeds`},
		{"yaml control character located", "secrets: [pw]", "secrets: [pw]", nil, `demo.yaml:4:13: control characters are not allowed`},
		{"yaml error on line 1 located", "name: demo", "\tname: demo", nil, `demo.yaml:1: found character that cannot start any token`},
		{"undeclared override", "", "", map[string]string{"imgg": "x"}, `--var imgg: the playbook declares no var "imgg" (declared: img)`},
		{"syntax error", "vars:", "vars: [", nil, `demo.yaml:`},
		{"not a mapping", base, "- a\n- b\n", nil, `demo.yaml:1:1: playbook: expected a mapping (playbook), got a list`},
		{"hot dump without exec", "  - name: data", "  - name: data\n    backup: { restore: [load] }", nil, `demo.yaml:7:13: volume "data": backup.exec is empty`},
		{"hot dump without restore", "  - name: data", "  - name: data\n    backup: { exec: [dump] }", nil, `demo.yaml:7:13: volume "data": backup.restore is empty`},
		{"hot dump in a container that does not mount it", "  - name: data", "  - name: data\n    backup: { container: web, exec: [dump], restore: [load] }", nil,
			`demo.yaml:7:26: volume "data": backup.container "web" is not a container that mounts it (those that do: db)`},
		{"hot dump of a volume nobody mounts", `"data:/data"`, `"other:/data"`, nil, `volume "other" is not declared`},
		{"hot dump unknown key", "  - name: data", "  - name: data\n    backup: { exec: [dump], restore: [load], cmd: [x] }", nil, `unknown key "cmd"`},
		{"bad dns", "name: demo", "name: demo\ndns: { name: \"bad name\" }", nil, `invalid DNS name "bad name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := base
			if tt.old != "" {
				if !strings.Contains(src, tt.old) {
					t.Fatalf("test bug: %q not in base", tt.old)
				}
				src = strings.Replace(src, tt.old, tt.new, 1)
			}
			_, err := Parse("demo.yaml", []byte(src), tt.overrides)
			if err == nil {
				t.Fatalf("no error; want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Errorf("error is %T, want Errors", err)
			}
		})
	}
}

func TestVolumeBackup(t *testing.T) {
	src := strings.Replace(base, "  - name: data", "  - name: data\n    backup: { exec: [dump, --all], restore: [load] }", 1)
	pb, err := Parse("demo.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := pb.Volumes[0].Backup
	if b == nil || b.Container != "db" || strings.Join(b.Exec, " ") != "dump --all" || strings.Join(b.Restore, " ") != "load" {
		t.Fatalf("backup = %+v, want db's dump --all and load", b)
	}
	// Two containers mount it: the playbook must say which dumps it.
	two := strings.Replace(src, `    ports: ["8080:80"]`, `    ports: ["8080:80"]`+"\n    volumes: [\"data:/d\"]", 1)
	if _, err := Parse("demo.yaml", []byte(two), nil); err == nil || !strings.Contains(err.Error(), "several containers mount it (db, web)") {
		t.Fatalf("err = %v, want the ambiguity named", err)
	}
}

func TestParseCollectsAllErrors(t *testing.T) {
	src := strings.Replace(base, `"data:/data"`, `"other:/data"`, 1)
	src = strings.Replace(src, "depends_on: [db]", "depends_on: [nope]", 1)
	_, err := Parse("demo.yaml", []byte(src), nil)
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("want 2 errors, got %v", err)
	}
	if es[0].Line > es[1].Line {
		t.Errorf("errors not in file order: %v", err)
	}
}

func TestOverridesAndBuiltinVars(t *testing.T) {
	src := base + "dns: { name: \"{{ .domain }}\" }\n"
	pb, err := Parse("demo.yaml", []byte(src), map[string]string{"img": "alpine:3", "domain": "x.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if pb.Containers[0].Image != "alpine:3" || pb.DNS.Name != "x.example.com" {
		t.Errorf("overrides not applied: image %q dns %q", pb.Containers[0].Image, pb.DNS.Name)
	}
	if pb.DNS.Type != "A" || pb.DNS.TTL != 60 {
		t.Errorf("dns defaults: %+v", pb.DNS)
	}
}

func TestSecretNamesAreNotTemplated(t *testing.T) {
	// A secret name that looks like a template stays literal, so it fails the name check.
	src := strings.Replace(base, "secrets: [pw]", `secrets: ["{{ .img }}"]`, 1)
	_, err := Parse("demo.yaml", []byte(src), nil)
	if err == nil || !strings.Contains(err.Error(), `invalid secret name "{{ .img }}"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestAnchorsAndIntScalars(t *testing.T) {
	src := strings.Replace(base, `env: { A: "1" }`, `env: &e { A: 1, B: true }`, 1)
	src = strings.Replace(src, "    ports:", "    env: *e\n    ports:", 1)
	pb, err := Parse("demo.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pb.Containers[1].Env["A"] != "1" || pb.Containers[1].Env["B"] != "true" {
		t.Errorf("env = %v", pb.Containers[1].Env)
	}
}

func TestBuiltinWordpress(t *testing.T) {
	pb, err := Load("wordpress", map[string]string{"domain": "blog.example.com", "http_port": "8080"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Containers) != 2 || pb.Containers[0].Name != "mysql-server" || pb.Containers[1].Name != "wordpress" {
		t.Fatalf("containers: %+v", pb.Containers)
	}
	db, wp := pb.Containers[0], pb.Containers[1]
	if db.Image != "mysql:8.0-debian" || wp.Image != "wordpress:6-apache" {
		t.Errorf("images %q %q", db.Image, wp.Image)
	}
	if db.Health == nil || db.Health.Interval != 5*time.Second || db.Health.Retries != 30 ||
		strings.Join(db.Health.Cmd, " ") != "mysqladmin ping -h 127.0.0.1" {
		t.Errorf("health %+v", db.Health)
	}
	if wp.Ports[0] != "8080:80" || wp.Ready.HTTP != "http://127.0.0.1:8080/" || wp.Ready.Timeout != 180*time.Second {
		t.Errorf("ports %v ready %+v", wp.Ports, wp.Ready)
	}
	if wp.SecretEnv["WORDPRESS_DB_PASSWORD"] != "db_password" || db.SecretEnv["MYSQL_ROOT_PASSWORD"] != "db_root_password" {
		t.Errorf("secret env %v %v", wp.SecretEnv, db.SecretEnv)
	}
	if pb.DNS.Name != "blog.example.com" || pb.DNS.Type != "A" || pb.DNS.TTL != 60 {
		t.Errorf("dns %+v", pb.DNS)
	}
	// Without --domain the DNS name is empty: no DNS step.
	pb, err = Load("wordpress", nil)
	if err != nil || pb.DNS.Name != "" {
		t.Fatalf("without domain: %v %+v", err, pb)
	}
}

func TestCatalog(t *testing.T) {
	list := List()
	if len(list) == 0 || list[0].Name != "wordpress" || list[0].Description == "" {
		t.Fatalf("List() = %+v", list)
	}
	for _, info := range list {
		if _, err := Load(info.Name, nil); err != nil {
			t.Errorf("built-in %s: %v", info.Name, err)
		}
	}
	if _, err := Source("nope"); err == nil || !strings.Contains(err.Error(), "wordpress") {
		t.Errorf("Source(nope) = %v, want an error listing the built-ins", err)
	}
	if _, err := Source("../x"); err == nil {
		t.Error("Source(../x) succeeded")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "demo.yaml")
	if err := os.WriteFile(p, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), nil); err == nil {
		t.Error("missing file loaded")
	}
}

func TestOrder(t *testing.T) {
	cs := []Container{
		{Name: "web", DependsOn: []string{"api"}},
		{Name: "db"},
		{Name: "api", DependsOn: []string{"db", "cache"}},
		{Name: "cache"},
	}
	order, cycle := Order(cs)
	var names []string
	for _, i := range order {
		names = append(names, cs[i].Name)
	}
	if cycle != nil || strings.Join(names, ",") != "db,cache,api,web" {
		t.Errorf("order %v cycle %v", names, cycle)
	}
}

func TestParsePortAndMount(t *testing.T) {
	for in, want := range map[string]string{
		"80:80": "80:80/tcp", "127.0.0.1:8080:80/udp": "127.0.0.1:8080:80/udp", "[::1]:53:53/udp": "[::1]:53:53/udp",
	} {
		p, err := ParsePort(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePort(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"0:80", "80:080", "a:80", ":80", "1.2.3.4:80", "80:80/", "+80:80"} {
		if _, err := ParsePort(bad); err == nil {
			t.Errorf("ParsePort(%q) succeeded", bad)
		}
	}
	if m, err := ParseMount("/srv/x:/x:ro"); err != nil || !m.Bind() || m.Options != "ro" {
		t.Errorf("bind mount: %+v %v", m, err)
	}
	for _, bad := range []string{"x", "x:/a:bad", "/srv/../x:/x", ":/x", "a:b:c:d"} {
		if _, err := ParseMount(bad); err == nil {
			t.Errorf("ParseMount(%q) succeeded", bad)
		}
	}
}
