package plan

import (
	"time"

	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/docker"
	goldenfile "github.com/berth-sh/berth/internal/golden"
	"github.com/berth-sh/berth/playbooks"
)

func wordpress(t testing.TB) *playbooks.Playbook {
	t.Helper()
	pb, err := playbooks.Load("wordpress", map[string]string{"domain": "blog.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// deployed returns what a host looks like right after pb was deployed as stack:
// every object present, every container running with berth's labels.
func deployed(t testing.TB, stack string, pb *playbooks.Playbook) *docker.Observed {
	t.Helper()
	obs := &docker.Observed{
		Containers: map[string]*docker.ContainerState{},
		Volumes:    map[string]*docker.VolumeState{},
		Networks:   map[string]*docker.NetworkState{},
		Images:     map[string]string{},
	}
	for _, v := range pb.Volumes {
		obs.Volumes[v.Name] = &docker.VolumeState{Name: v.Name, Driver: "local", Labels: map[string]string{docker.LabelStack: stack}}
	}
	for _, n := range pb.Networks {
		obs.Networks[n.Name] = &docker.NetworkState{Name: n.Name, Driver: n.Driver, Labels: map[string]string{docker.LabelStack: stack}}
	}
	for _, c := range pb.Containers {
		want, err := docker.NewSpec(c, testDigests)
		if err != nil {
			t.Fatal(err)
		}
		spec, err := want.Encode()
		if err != nil {
			t.Fatal(err)
		}
		id := imageID(c.Image)
		obs.Images[c.Image] = id
		obs.Containers[c.Name] = &docker.ContainerState{
			Name: c.Name, Image: c.Image, ImageID: id, State: "running", Running: true,
			Labels: map[string]string{docker.LabelStack: stack, docker.LabelHash: docker.HashBytes(spec), docker.LabelSpec: string(spec)},
		}
	}
	return obs
}

// testDigests are the secret digests the hosts of these tests were deployed with.
var testDigests = map[string]string{
	"db_password":      docker.SecretDigest([]byte("key"), "db_password", "pw1"),
	"db_root_password": docker.SecretDigest([]byte("key"), "db_root_password", "root1"),
}

func imageID(ref string) string {
	return fmt.Sprintf("sha256:%064x", len(ref)*7919)
}

func text(p *Plan) string {
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		panic(err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", name+".golden"), got)
}

func TestGoldenWordpress(t *testing.T) {
	pb := wordpress(t)

	empty := Compute("wordpress", pb, nil, Options{Secrets: testDigests})
	golden(t, "wordpress-empty", text(empty))
	if empty.InSync() || empty.Changes() != 5 {
		t.Errorf("empty host: %d changes", empty.Changes())
	}
	if empty.Actions[3].Name != "mysql-server" || empty.Actions[3].Container == nil {
		t.Errorf("containers out of dependency order: %+v", empty.Actions)
	}

	obs := deployed(t, "wordpress", pb)
	insync := Compute("wordpress", pb, obs, Options{Secrets: testDigests})
	golden(t, "wordpress-insync", text(insync))
	if !insync.InSync() {
		t.Errorf("in-sync host has changes:\n%s", text(insync))
	}

	changed := wordpress(t)
	changed.Containers[1].Env["WORDPRESS_DB_HOST"] = "db.internal"
	p := Compute("wordpress", changed, obs, Options{Secrets: testDigests})
	golden(t, "wordpress-env-changed", text(p))
	if p.Changes() != 1 || p.Count(Recreate) != 1 {
		t.Errorf("env change: %s", text(p))
	}
}

func TestCompute(t *testing.T) {
	const stack = "wordpress"
	tests := []struct {
		name  string
		pb    func(pb *playbooks.Playbook) // desired change
		host  func(obs *docker.Observed)   // observed change
		want  []string                     // lines of the diff that must appear
		check func(t *testing.T, p *Plan)  // extra checks
	}{
		{
			name: "image tag changed",
			pb:   func(pb *playbooks.Playbook) { pb.Containers[0].Image = "mysql:8.4" },
			want: []string{"~ container mysql-server (recreate: image changed (mysql:8.0-debian -> mysql:8.4))", "= container wordpress"},
		},
		{
			name: "env added removed and secret env changed",
			pb: func(pb *playbooks.Playbook) {
				c := &pb.Containers[1]
				c.Env["FOO"] = "bar"
				delete(c.Env, "WORDPRESS_DB_NAME")
				c.SecretEnv["WORDPRESS_DB_PASSWORD"] = "db_root_password"
			},
			want: []string{"~ container wordpress (recreate: env FOO added, env WORDPRESS_DB_NAME removed, secret_env WORDPRESS_DB_PASSWORD changed)"},
			check: func(t *testing.T, p *Plan) {
				if strings.Contains(text(p), "bar") || strings.Contains(text(p), "db_root_password") {
					t.Error("a value leaked into the plan")
				}
			},
		},
		{
			name: "ports and volumes and restart",
			pb: func(pb *playbooks.Playbook) {
				c := &pb.Containers[1]
				c.Ports = []string{"8080:80/tcp"}
				c.Volumes = append(c.Volumes, "/srv/uploads:/uploads:ro")
				c.Restart = "always"
			},
			want: []string{"~ container wordpress (recreate: port 80:80 removed, port 8080:80 added, volume /srv/uploads:/uploads:ro added, restart changed (unless-stopped -> always))"},
		},
		{
			name: "equivalent spelling keeps",
			pb:   func(pb *playbooks.Playbook) { pb.Containers[1].Ports = []string{"80:80/tcp"} },
			want: []string{"= container wordpress"},
			check: func(t *testing.T, p *Plan) {
				if !p.InSync() {
					t.Error("not in sync")
				}
			},
		},
		{
			name: "health changed",
			pb:   func(pb *playbooks.Playbook) { pb.Containers[0].Health.Retries = 5 },
			want: []string{"~ container mysql-server (recreate: health check changed)"},
		},
		{
			name: "image updated under the same tag",
			host: func(obs *docker.Observed) { obs.Images["mysql:8.0-debian"] = "sha256:def4560000000000000000000000" },
			want: []string{"~ container mysql-server (recreate: image updated (sha256:000000000000 -> sha256:def456000000))"},
		},
		{
			name: "stopped container starts",
			host: func(obs *docker.Observed) {
				obs.Containers["wordpress"].Running = false
				obs.Containers["wordpress"].State = "exited"
			},
			want: []string{"> container wordpress (start: not running (exited))", "Plan: 0 to create, 0 to recreate, 1 to start, 0 to remove, 4 unchanged."},
		},
		{
			name: "container without hash label",
			host: func(obs *docker.Observed) {
				obs.Containers["wordpress"].Labels = map[string]string{docker.LabelStack: stack}
			},
			want: []string{"~ container wordpress (recreate: not created by berth (no berth.hash label))"},
		},
		{
			name: "unreadable stored spec",
			host: func(obs *docker.Observed) {
				obs.Containers["wordpress"].Labels[docker.LabelHash] = "x"
				obs.Containers["wordpress"].Labels[docker.LabelSpec] = "{"
			},
			want: []string{"~ container wordpress (recreate: spec changed (stored spec unreadable))"},
		},
		{
			name: "missing container and volume",
			host: func(obs *docker.Observed) {
				delete(obs.Containers, "mysql-server")
				delete(obs.Volumes, "wp-content")
			},
			want: []string{"+ volume wp-content", "+ container mysql-server", "= container wordpress"},
		},
		{
			name: "orphans and leftovers",
			host: func(obs *docker.Observed) {
				lbl := map[string]string{docker.LabelStack: stack}
				obs.Containers["old-thing"] = &docker.ContainerState{Name: "old-thing", Labels: lbl}
				obs.Containers["wordpress.berth-old"] = &docker.ContainerState{Name: "wordpress.berth-old", Labels: lbl}
				obs.Containers["not-ours"] = &docker.ContainerState{Name: "not-ours", Labels: map[string]string{docker.LabelStack: "other"}}
			},
			want: []string{"- container old-thing (orphan)", "! container wordpress.berth-old (backup left by an interrupted deploy)",
				"Plan: 0 to create, 0 to recreate, 0 to start, 1 to remove, 5 unchanged."},
			check: func(t *testing.T, p *Plan) {
				if strings.Contains(text(p), "not-ours") || len(p.Leftovers) != 1 || p.InSync() {
					t.Errorf("leftovers %v", p.Leftovers)
				}
			},
		},
		{
			name: "leftover alone is not in sync",
			host: func(obs *docker.Observed) {
				obs.Containers["wordpress.berth-old"] = &docker.ContainerState{Labels: map[string]string{docker.LabelStack: stack}}
			},
			check: func(t *testing.T, p *Plan) {
				if p.Changes() != 0 || p.InSync() {
					t.Errorf("changes %d in sync %v", p.Changes(), p.InSync())
				}
			},
		},
		{
			name: "network driver differs",
			host: func(obs *docker.Observed) { obs.Networks["wp-net"].Driver = "overlay" },
			want: []string{"= network wp-net (driver is overlay, playbook says bridge; remove the network to change it)"},
		},
		{
			name: "command changed",
			pb:   func(pb *playbooks.Playbook) { pb.Containers[1].Command = []string{"apache2-foreground", "-X"} },
			want: []string{"~ container wordpress (recreate: command changed)"},
		},
		{
			name: "health check added and removed",
			pb: func(pb *playbooks.Playbook) {
				pb.Containers[1].Health = &playbooks.Health{Cmd: []string{"true"}, Interval: time.Second, Retries: 1}
				pb.Containers[0].Health = nil
			},
			want: []string{"~ container mysql-server (recreate: health check removed)", "~ container wordpress (recreate: health check added)"},
		},
		{
			name: "hash differs, stored spec the same",
			host: func(obs *docker.Observed) { obs.Containers["wordpress"].Labels[docker.LabelHash] = "x" },
			want: []string{"~ container wordpress (recreate: spec changed)"},
		},
		{
			name: "spec cannot be built",
			pb:   func(pb *playbooks.Playbook) { pb.Containers[1].Ports = []string{"eighty"} },
			want: []string{`~ container wordpress (recreate: canonicalize container wordpress: port "eighty": want [ip:]host:container[/proto])`},
		},
		{
			name: "image IDs without a digest prefix",
			host: func(obs *docker.Observed) {
				obs.Containers["wordpress"].ImageID = "0123456789abcdef"
				obs.Images["wordpress:6-apache"] = "fedcba9876543210"
			},
			want: []string{"~ container wordpress (recreate: image updated (0123456789ab -> fedcba987654))"},
		},
		{
			name: "external networks",
			pb: func(pb *playbooks.Playbook) {
				pb.Networks = append(pb.Networks, playbooks.Network{Name: "edge", External: true}, playbooks.Network{Name: "gone", External: true})
			},
			host: func(obs *docker.Observed) { obs.Networks["edge"] = &docker.NetworkState{Name: "edge"} },
			want: []string{"= network edge (external)", "! external network gone does not exist on the host"},
			check: func(t *testing.T, p *Plan) {
				if !p.InSync() || len(p.Warnings) != 1 {
					t.Errorf("in sync %v, warnings %q", p.InSync(), p.Warnings)
				}
			},
		},
		{
			name: "external objects",
			pb: func(pb *playbooks.Playbook) {
				pb.Volumes = append(pb.Volumes, playbooks.Volume{Name: "shared", External: true}, playbooks.Volume{Name: "gone", External: true})
			},
			host: func(obs *docker.Observed) { obs.Volumes["shared"] = &docker.VolumeState{Name: "shared"} },
			want: []string{"= volume shared (external)", "! external volume gone does not exist on the host"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := deployed(t, stack, wordpress(t))
			pb := wordpress(t)
			if tt.pb != nil {
				tt.pb(pb)
			}
			if tt.host != nil {
				tt.host(obs)
			}
			p := Compute(stack, pb, obs, Options{Secrets: testDigests})
			out := text(p)
			for _, line := range tt.want {
				if !strings.Contains(out, line+"\n") {
					t.Errorf("plan lacks %q:\n%s", line, out)
				}
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func TestComputeDependencyOrder(t *testing.T) {
	pb := &playbooks.Playbook{Containers: []playbooks.Container{
		{Name: "web", Image: "w", DependsOn: []string{"api"}},
		{Name: "api", Image: "a", DependsOn: []string{"db"}},
		{Name: "db", Image: "d"},
	}}
	p := Compute("s", pb, nil, Options{Secrets: testDigests})
	var names []string
	for _, a := range p.Actions {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "db,api,web" {
		t.Errorf("order %v", names)
	}
	d := Destroy("s", pb, deployed(t, "s", pb), false)
	names = nil
	for _, a := range d.Actions {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "web,api,db" {
		t.Errorf("destroy order %v", names)
	}
}

func TestDestroy(t *testing.T) {
	pb := wordpress(t)
	pb.Networks = append(pb.Networks, playbooks.Network{Name: "ext-net", External: true})
	obs := deployed(t, "wordpress", pb)
	lbl := map[string]string{docker.LabelStack: "wordpress"}
	obs.Containers["mysql-server.berth-old"] = &docker.ContainerState{Labels: lbl}
	obs.Containers["zz-orphan"] = &docker.ContainerState{Labels: lbl}
	obs.Containers["other"] = &docker.ContainerState{}
	obs.Networks["ext-net"] = &docker.NetworkState{Name: "ext-net"}
	delete(obs.Volumes, "wp-content")

	want := `- container wordpress
- container mysql-server
- container mysql-server.berth-old (backup)
- container zz-orphan (orphan)
= network ext-net (external)
- network wp-net
= volume mysql-volume (data kept; --volumes removes it)
Plan: 0 to create, 0 to recreate, 0 to start, 5 to remove, 2 unchanged.
`
	if got := text(Destroy("wordpress", pb, obs, false)); got != want {
		t.Errorf("destroy:\n%s\nwant:\n%s", got, want)
	}
	withVolumes := text(Destroy("wordpress", pb, obs, true))
	if !strings.Contains(withVolumes, "- volume mysql-volume (data deleted)\n") {
		t.Errorf("destroy --volumes:\n%s", withVolumes)
	}
	pb.Volumes = append(pb.Volumes, playbooks.Volume{Name: "ext-vol", External: true})
	obs.Volumes["ext-vol"] = &docker.VolumeState{Name: "ext-vol"}
	if got := text(Destroy("wordpress", pb, obs, true)); !strings.Contains(got, "= volume ext-vol (external)\n") {
		t.Errorf("destroy --volumes with an external volume:\n%s", got)
	}
	if p := Destroy("wordpress", pb, nil, true); len(p.Actions) != 0 {
		t.Errorf("destroy on an empty host: %s", text(p))
	}
}

// A rotated secret recreates every container that uses it, in dependency
// order, naming the secret and never its value.
func TestComputeSecretRotation(t *testing.T) {
	pb := wordpress(t)
	obs := deployed(t, "wordpress", pb)
	rotated := map[string]string{
		"db_password":      docker.SecretDigest([]byte("key"), "db_password", "pw2"),
		"db_root_password": testDigests["db_root_password"],
	}
	p := Compute("wordpress", pb, obs, Options{Secrets: rotated})
	out := text(p)
	for _, want := range []string{
		"~ container mysql-server (recreate: secret db_password changed)\n",
		"~ container wordpress (recreate: secret db_password changed)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "mysql-server") > strings.Index(out, "container wordpress") {
		t.Errorf("recreates out of dependency order:\n%s", out)
	}
	if strings.Contains(out, "pw2") || strings.Contains(out, rotated["db_password"]) {
		t.Errorf("plan shows the secret or its digest:\n%s", out)
	}
	onlyRoot := map[string]string{
		"db_password":      testDigests["db_password"],
		"db_root_password": docker.SecretDigest([]byte("key"), "db_root_password", "root2"),
	}
	if p := Compute("wordpress", pb, obs, Options{Secrets: onlyRoot}); p.Count(Recreate) != 1 || !strings.Contains(text(p), "~ container mysql-server (recreate: secret db_root_password changed)") {
		t.Errorf("root password rotation:\n%s", text(p))
	}
	// Containers made by a berth that did not record digests are recreated once.
	for _, c := range obs.Containers {
		spec, err := docker.DecodeSpec(c.Labels[docker.LabelSpec])
		if err != nil {
			t.Fatal(err)
		}
		spec.Secrets = nil
		js, _ := spec.Encode()
		c.Labels[docker.LabelSpec], c.Labels[docker.LabelHash] = string(js), docker.HashBytes(js)
	}
	if p := Compute("wordpress", pb, obs, Options{Secrets: testDigests}); p.Count(Recreate) != 2 || !strings.Contains(text(p), "(recreate: secret values not recorded by the berth that made it)") {
		t.Errorf("containers of an older berth:\n%s", text(p))
	}
}
