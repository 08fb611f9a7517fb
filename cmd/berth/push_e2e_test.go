package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/hosttest"
	"github.com/berth-sh/berth/internal/testenv"
	"github.com/berth-sh/berth/internal/testimage"
)

// TestPushMissingLocalImage: --push of an image this machine lacks, or an
// archive that cannot be read, is a usage error found before any host is
// reached (the host here does not exist).
func TestPushMissingLocalImage(t *testing.T) {
	testenv.NeedDocker(t)
	ref := testimage.Image + ":no-such-tag"
	for _, tc := range []struct {
		name string
		flag []string
		want []string
	}{
		{"local image", []string{"--push"}, []string{ref, "not in the local Docker engine"}},
		{"archive", []string{"--push-archive", "/nonexistent/image.tar"}, []string{"--push-archive", "/nonexistent/image.tar"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"deploy", "--host", "root@127.0.0.1:1", "--ssh-config", "none",
				"--playbook", "testdata/stack.yaml", "--var", "image=" + ref, "--var", "web_image=" + ref}, tc.flag...)
			_, errOut, code := berth(t, args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not say %q: %q", w, errOut)
				}
			}
			if strings.Contains(errOut, "127.0.0.1:1") {
				t.Errorf("berth reached for the host before checking the image: %q", errOut)
			}
		})
	}
}

// TestPushLocalImage: an image built here, on no host, reaches three hosts with
// --push and the stack serves it; a second deploy sends nothing (1 round
// trip); after a rebuild, a load cut short tags nothing and changes nothing;
// then only the changed top layer travels, from the engine and from a file.
func TestPushLocalImage(t *testing.T) {
	tag := "push-" + strings.TrimSuffix(testimage.Unique(t), "-")
	ref := testimage.Build(t, tag, "v1")
	t.Cleanup(func() { exec.Command("docker", "rmi", ref).Run() }) // the tag; shared layers stay
	f := hosttest.Start(t, 3, hosttest.Options{Ports: []int{80}})
	run := func(t *testing.T, push []string, hosts ...*hosttest.Host) (string, string, int) {
		t.Helper()
		args := []string{"deploy", "--json", "--playbook", "testdata/stack.yaml", "--identity", f.Identity,
			"--known-hosts", f.KnownHosts, "--ssh-config", "none", "--state-dir", fleetStateDir,
			"--var", "image=" + ref, "--var", "web_image=" + ref, "--var", "web_bind=0.0.0.0", "--var", "web_port=80"}
		args = append(args, push...)
		for _, h := range hosts {
			args = append(args, "--host", h.Target("root"))
		}
		return berth(t, args...)
	}
	deploy := func(t *testing.T, push []string, hosts ...*hosttest.Host) map[string]int64 {
		t.Helper()
		out, errOut, code := run(t, push, hosts...)
		if code != exitOK {
			t.Fatalf("deploy: exit %d\n%s", code, errOut)
		}
		pushed := map[string]int64{}
		for host, s := range summaries(t, out) {
			if host == "" {
				continue
			}
			n, _ := s.Data["pushed_bytes"].(float64) // omitted when nothing was pushed
			pushed[host] = int64(n)
			if n := s.Data["round_trips"].(float64); pushed[host] == 0 && s.Data["changes"].(float64) == 0 && n != 1 {
				t.Errorf("%s: a deploy with nothing to send or change took %v round trips, want 1", host, n)
			}
		}
		return pushed
	}
	serves := func(t *testing.T, h *hosttest.Host, version string) {
		t.Helper()
		if st, body := httpDo(t, "GET", "http://"+h.Addr+"/", ""); st != 200 || !strings.HasPrefix(body, "web "+version+" ") {
			t.Errorf("%s: web answers %d %q, want %s", h.Addr, st, body, version)
		}
	}

	push := []string{"--push"}
	// A dry run says what it would push, and pushes nothing.
	if out, _, code := run(t, append([]string{"--dry-run"}, push...), f.Hosts[0]); code != exitDrift || !strings.Contains(out, "would push "+ref) {
		t.Errorf("deploy --dry-run --push: exit %d, want %d and \"would push\"; stdout:\n%s", code, exitDrift, out)
	}
	if out, _ := f.Hosts[0].Exec(t, "docker", "images", "-q", ref); out != "" {
		t.Errorf("a dry run pushed the image: %q", out)
	}
	first := deploy(t, push, f.Hosts...)
	for _, h := range f.Hosts {
		if first[h.ID("root")] == 0 {
			t.Errorf("%s: nothing pushed to a host without the image", h.Addr)
		}
		serves(t, h, "v1")
	}
	if t.Failed() {
		t.FailNow()
	}
	for host, n := range deploy(t, push, f.Hosts...) {
		if n != 0 {
			t.Errorf("%s: the second deploy pushed %d bytes, want 0", host, n)
		}
	}

	v1 := testimage.ImageID(t, ref)
	testimage.Build(t, tag, "v2") // same tag; only the top layer (/version) differs
	h := f.Hosts[0]

	// A load that fails halfway (the archive cut short, as by a lost
	// connection): nothing tagged, nothing changed, v1 still serving.
	wrapper := "#!/bin/sh\nif [ \"$1\" = load ]; then head -c 1000 | /usr/bin/docker load; exit $?; fi\nexec /usr/bin/docker \"$@\"\n"
	if out, err := h.Exec(t, "sh", "-c", `printf '%s' "$1" > /usr/local/bin/docker && chmod 755 /usr/local/bin/docker`, "sh", wrapper); err != nil {
		t.Fatalf("install the cutting docker: %v %s", err, out)
	}
	_, errOut, code := run(t, push, h)
	if code != exitFailure || !strings.Contains(errOut, "docker load failed, nothing was tagged and the running version is untouched") {
		t.Errorf("a cut load: exit %d, want %d and the reason; stderr:\n%s", code, exitFailure, errOut)
	}
	if id, _ := h.Exec(t, "docker", "image", "inspect", "--format", "{{.Id}}", ref); id != v1 {
		t.Errorf("after a cut load the host's %s is %q, want v1's %s", ref, id, v1)
	}
	serves(t, h, "v1")
	if out, err := h.Exec(t, "rm", "/usr/local/bin/docker"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	layer := deploy(t, push, h)[h.ID("root")]
	whole := first[h.ID("root")]
	t.Logf("bytes pushed: whole image %d, after a top-layer change %d", whole, layer)
	if layer == 0 || layer > whole/20 {
		t.Errorf("a one-layer change pushed %d bytes of the whole image's %d", layer, whole)
	}
	serves(t, h, "v2")

	// The same from a docker save file, to the other host.
	archive := filepath.Join(t.TempDir(), "v2.tar")
	if out, err := exec.Command("docker", "save", "-o", archive, ref).CombinedOutput(); err != nil {
		t.Fatalf("docker save: %v %s", err, out)
	}
	h = f.Hosts[1]
	fromFile := deploy(t, []string{"--push-archive", archive}, h)[h.ID("root")]
	t.Logf("bytes pushed from the archive after a top-layer change: %d", fromFile)
	if fromFile == 0 || fromFile > whole/20 {
		t.Errorf("a one-layer change from an archive pushed %d bytes of the whole image's %d", fromFile, whole)
	}
	serves(t, h, "v2")
}
