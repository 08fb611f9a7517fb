package main

import (
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/awsfake"
	"github.com/berth-sh/berth/internal/hosttest"
)

// TestDataOutlivesItsHost: the stack's data outlives the machine it was
// written on, each host a machine with its own Docker engine. Host 1's data
// is backed up, host 1's stack destroyed with its volumes (the disk is gone),
// and the backup restored onto host 2, which serves it with the original
// password. Then the stack moves from host 2 (A) to host 3 (B): B serves the
// data, the A record names B only after B is healthy, and A's containers are
// stopped, not removed. A move whose destination never turns healthy leaves A
// serving and the record alone. A move back onto A, whose volumes still hold
// the data, is refused without --force and changes nothing.
func TestDataOutlivesItsHost(t *testing.T) {
	f := newFleet(t, 3, nil)
	h1, a, b := f.Hosts[0], f.Hosts[1], f.Hosts[2]
	aws := awsfake.New(t)
	aws.Env(t)
	zone := aws.AddZone(awsfake.Zone{Name: "example.com."})
	record := func() string {
		for _, r := range aws.Records(zone) {
			if r.Name == "move.example.com." && r.Type == "A" {
				return strings.Join(r.Values, ",")
			}
		}
		return ""
	}
	// servedBy checks that h answers with the post and the record names h.
	servedBy := func(t *testing.T, h *hosttest.Host, when string) {
		t.Helper()
		if st, body := httpDo(t, "GET", "http://"+h.Addr+"/kv/post1", ""); st != 200 || body != "my first post" {
			t.Errorf("%s %s answers %d %q", when, h.Addr, st, body)
		}
		if got := record(); got != h.Addr {
			t.Errorf("record %s: %q, want %s", when, got, h.Addr)
		}
	}
	dnsArgs := []string{"--config", f.config, "--domain", "move.example.com", "--dns-poll", "10ms"}
	if _, _, code := berth(t, append([]string{"deploy", "--host", h1.Target("root")}, dnsArgs...)...); code != 0 {
		t.Fatalf("deploy on host 1: exit %d", code)
	}
	if st, body := httpDo(t, "PUT", "http://"+h1.Addr+"/kv/post1", "my first post"); st != 200 {
		t.Fatalf("write on host 1: %d %q", st, body)
	}
	servedBy(t, h1, "before host 1 is lost")

	// Host 1 is backed up, then lost with its disk; host 2 gets the backup.
	t.Setenv("BERTH_BACKUP_PASSPHRASE", "correct horse battery staple")
	root := t.TempDir()
	if _, errOut, code := berth(t, "backup", "--config", f.config, "--host", h1.Target("root"), "--to", root); code != 0 {
		t.Fatalf("backup of host 1: exit %d: %s", code, errOut)
	}
	if _, errOut, code := berth(t, "destroy", "--config", f.config, "--host", h1.Target("root"), "--volumes", "--yes"); code != 0 {
		t.Fatalf("destroy --volumes on host 1: exit %d: %s", code, errOut)
	}
	if vols, _ := h1.Exec(t, "docker", "volume", "ls", "-q"); strings.TrimSpace(vols) != "" {
		t.Fatalf("host 1 still has volumes: %q", vols)
	}
	if _, errOut, code := berth(t, "restore", "--config", f.config, "--host", a.Target("root"), "--from", onlyBackup(t, root)); code != 0 {
		t.Fatalf("restore onto host 2: exit %d: %s", code, errOut)
	}
	// web refuses to serve with a password the restored db was not set up with.
	if st, body := httpDo(t, "GET", "http://"+a.Addr+"/kv/post1", ""); st != 200 || body != "my first post" {
		t.Fatalf("host 2 after the restore answers %d %q", st, body)
	}
	if _, _, code := berth(t, append([]string{"dns", "--host", a.Target("root")}, dnsArgs...)...); code != 0 {
		t.Fatalf("dns onto host 2: exit %d", code)
	}
	servedBy(t, a, "before the move")

	t.Run("a destination that never turns healthy: A serves again, DNS unchanged", func(t *testing.T) {
		_, errOut, code := berth(t, append([]string{"move", "--from", a.Target("root"), "--to", b.Target("root"), "--var", "fail_health=yes"}, dnsArgs...)...)
		if code != exitFailure || !strings.Contains(errOut, "restarted and serves again") || !strings.Contains(errOut, "DNS was not changed") {
			t.Fatalf("exit %d, want %d and the source said to serve again: %s", code, exitFailure, errOut)
		}
		servedBy(t, a, "after the aborted move")
	})

	// B now holds a copy from the aborted move: --force replaces it.
	out, errOut, code := berth(t, append([]string{"move", "--from", a.Target("root"), "--to", b.Target("root"), "--force"}, dnsArgs...)...)
	if code != 0 {
		t.Fatalf("move: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "downtime") {
		t.Errorf("the move does not report its downtime: %q", out)
	}
	// The flip came after B was healthy: the progress lines say so in order.
	if ready, flip := strings.Index(errOut, "web answers http://"), strings.Index(errOut, "dns move.example.com: updating"); ready < 0 || flip < ready {
		t.Errorf("DNS was not updated after the destination's deploy:\n%s", errOut)
	}
	servedBy(t, b, "after the move")
	states, err := a.Exec(t, "docker", "ps", "-a", "--format", "{{.Names}}={{.State}}")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"db=exited", "web=exited"} {
		if !strings.Contains(states, want) {
			t.Errorf("A's containers: %q, want %s (stopped, not removed)", states, want)
		}
	}

	t.Run("a destination with data is refused without --force", func(t *testing.T) {
		_, errOut, code := berth(t, append([]string{"move", "--from", b.Target("root"), "--to", a.Target("root")}, dnsArgs...)...)
		if code != exitFailure || !strings.Contains(errOut, "already hold data") || !strings.Contains(errOut, "--force") {
			t.Fatalf("exit %d, want %d and a refusal naming --force: %s", code, exitFailure, errOut)
		}
		servedBy(t, b, "after the refusal")
	})

	t.Run("back onto A with --force --destroy-source: B's containers go, its volumes stay", func(t *testing.T) {
		_, errOut, code := berth(t, append([]string{"move", "--from", b.Target("root"), "--to", a.Target("root"), "--force", "--destroy-source"}, dnsArgs...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		servedBy(t, a, "after the move back")
		if ps, _ := b.Exec(t, "docker", "ps", "-aq"); ps != "" {
			t.Errorf("B still has containers: %q", ps)
		}
		if vols, _ := b.Exec(t, "docker", "volume", "ls", "-q"); !strings.Contains(vols, "db-data") {
			t.Errorf("B's volumes are gone without --volumes: %q", vols)
		}
	})
}
