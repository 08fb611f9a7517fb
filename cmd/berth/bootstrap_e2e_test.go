package main

import (
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/hosttest"
	"github.com/berth-sh/berth/internal/testimage"
)

// hostFlags reach one harness host as user, with the fleet's key and known_hosts.
func hostFlags(f *hosttest.Fleet, h *hosttest.Host, user string) []string {
	return []string{"--host", h.Target(user), "--identity", f.Identity, "--known-hosts", f.KnownHosts, "--ssh-config", "none"}
}

// bootstrapRun runs berth bootstrap --json and returns its one host's result
// event and the run's cost summary.
func bootstrapRun(t *testing.T, wantCode int, args ...string) (result, cost jsonEvent) {
	t.Helper()
	out, _, code := berth(t, append([]string{"bootstrap", "--json"}, args...)...)
	if code != wantCode {
		t.Fatalf("bootstrap: exit %d, want %d", code, wantCode)
	}
	for _, e := range events(t, out) {
		switch e.Type {
		case "bootstrap":
			result = e
		case "run_summary":
			cost = e
		}
	}
	return result, cost
}

// TestBootstrapFreshHost: a host with no Docker, reached as admin (sudo, not
// in the docker group), as on a fresh cloud machine. A deploy names berth
// bootstrap; an unsupported OS gets an error naming it; bootstrap installs
// Docker from Debian's packages and adds admin to the docker group, so the
// deploy that follows works without --sudo; a second bootstrap changes nothing
// in one round trip.
func TestBootstrapFreshHost(t *testing.T) {
	img := testimage.Build(t, "v1", "v1")
	f := hosttest.Start(t, 1, hosttest.Options{Variant: hosttest.Fresh})
	h := f.Hosts[0]
	admin := hostFlags(f, h, "admin")
	deployArgs := append([]string{"deploy", "--playbook", "testdata/stack.yaml"}, admin...)

	_, errOut, code := berth(t, deployArgs...)
	if code != exitFailure || !strings.Contains(errOut, "berth bootstrap") || !strings.Contains(errOut, h.Target("admin")) {
		t.Fatalf("deploy without docker: exit %d, want %d and an error naming the host and berth bootstrap:\n%s", code, exitFailure, errOut)
	}

	t.Run("unsupported OS", func(t *testing.T) {
		if out, err := h.Exec(t, "sh", "-c", "cp /etc/os-release /etc/os-release.orig && printf 'ID=alpine\\nPRETTY_NAME=\"Alpine Linux v3.20\"\\n' > /etc/os-release"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		_, errOut, code := berth(t, append([]string{"bootstrap", "--sudo"}, admin...)...)
		if code != exitFailure || !strings.Contains(errOut, "Alpine Linux v3.20") || !strings.Contains(errOut, "install Docker Engine by hand") {
			t.Errorf("exit %d, want %d and an error naming the OS and the manual way:\n%s", code, exitFailure, errOut)
		}
		if out, err := h.Exec(t, "mv", "/etc/os-release.orig", "/etc/os-release"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	})

	t.Run("without sudo", func(t *testing.T) {
		_, errOut, code := berth(t, append([]string{"bootstrap"}, admin...)...)
		if code != exitFailure || !strings.Contains(errOut, "--sudo") {
			t.Errorf("exit %d, want %d and an error pointing to --sudo:\n%s", code, exitFailure, errOut)
		}
	})

	res, _ := bootstrapRun(t, 0, append([]string{"--sudo"}, admin...)...)
	changes := strings.Join(anyStrings(res.Data["changes"]), "\n")
	for _, want := range []string{"installed docker.io with apt", "started dockerd directly", "added admin to the docker group", "made /var/lib/berth"} {
		if !strings.Contains(changes, want) {
			t.Errorf("changes do not say %q:\n%s", want, changes)
		}
	}
	if res.Data["docker"] == "" || res.Data["os"] != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("result data %v", res.Data)
	}
	if st, err := h.Exec(t, "stat", "-c", "%U:%G %a", "/var/lib/berth"); st != "root:docker 2770" {
		t.Errorf("/var/lib/berth is %q (%v), want root:docker 2770", st, err)
	}

	// A registry would bring the image; the harness loads it.
	f.Load(t, img)
	if _, errOut, code := berth(t, deployArgs...); code != exitOK {
		t.Fatalf("deploy as admin after bootstrap (docker group, no --sudo): exit %d\n%s", code, errOut)
	}

	res, cost := bootstrapRun(t, 0, admin...)
	if n := len(anyStrings(res.Data["changes"])); n != 0 || res.Data["docker"] == "" {
		t.Errorf("second bootstrap: %d change(s): %v", n, res.Data)
	}
	if cost.Data["connections"] != 1.0 || cost.Data["round_trips"] != 1.0 {
		t.Errorf("second bootstrap cost %v connection(s), %v round trip(s); want 1 and 1", cost.Data["connections"], cost.Data["round_trips"])
	}
}

// TestBootstrapResumes: Docker installs but will not start (a broken
// daemon.json). The error says why and what was done already; once the
// config is fixed, the next bootstrap starts it without installing again.
func TestBootstrapResumes(t *testing.T) {
	f := hosttest.Start(t, 1, hosttest.Options{Variant: hosttest.Fresh})
	h := f.Hosts[0]
	root := hostFlags(f, h, "root")
	if out, err := h.Exec(t, "sh", "-c", "cp /etc/docker/daemon.json /tmp/daemon.json && echo '{\"storage-driver\": \"no-such-driver\"}' > /etc/docker/daemon.json"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	_, errOut, code := berth(t, append([]string{"bootstrap"}, root...)...)
	if code != exitFailure || !strings.Contains(errOut, "dockerd did not start") || !strings.Contains(errOut, "done before the failure: installed docker.io with apt") {
		t.Fatalf("exit %d, want %d and an error saying why and what was done:\n%s", code, exitFailure, errOut)
	}
	if out, err := h.Exec(t, "cp", "/tmp/daemon.json", "/etc/docker/daemon.json"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	res, _ := bootstrapRun(t, 0, root...)
	changes := strings.Join(anyStrings(res.Data["changes"]), "\n")
	if strings.Contains(changes, "installed") || !strings.Contains(changes, "started dockerd directly") {
		t.Errorf("after the fix: changes %q, want docker started and not installed again", changes)
	}
}

// TestDeployBootstrap: deploy --bootstrap --sudo on a host with Docker, as
// admin: bootstrap adds admin to the docker group and makes the state
// directory, then the stack deploys in the same run; the next run is in
// sync and its bootstrap costs one round trip.
func TestDeployBootstrap(t *testing.T) {
	img := testimage.Build(t, "v1", "v1")
	f := hosttest.Start(t, 1, hosttest.Options{Images: []string{img}})
	h := f.Hosts[0]
	args := append([]string{"deploy", "--bootstrap", "--sudo", "--playbook", "testdata/stack.yaml", "--json"}, hostFlags(f, h, "admin")...)
	out, _, code := berth(t, args...)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var changes []string
	for _, e := range events(t, out) {
		if e.Type == "bootstrap" {
			changes = anyStrings(e.Data["changes"])
		}
	}
	if len(changes) != 2 || !strings.Contains(changes[0], "added admin to the docker group") {
		t.Errorf("bootstrap changes %q, want the docker group and the state directory", changes)
	}
	if s := summaries(t, out)[h.ID("admin")]; s.Data["result"] != "changed" {
		t.Errorf("deploy result %v", s.Data["result"])
	}

	out, _, code = berth(t, args...)
	if code != exitOK {
		t.Fatalf("second run: exit %d", code)
	}
	var sum jsonEvent
	for _, e := range events(t, out) {
		if e.Type == "summary" {
			sum = e
		}
	}
	// One round trip for bootstrap's check, one for the deploy's observe.
	if sum.Data["connections"] != 1.0 || sum.Data["round_trips"] != 2.0 || sum.Data["changes"] != 0.0 {
		t.Errorf("second run: %v", sum.Data)
	}
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	var s []string
	for _, x := range list {
		s = append(s, x.(string))
	}
	return s
}
