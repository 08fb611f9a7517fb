package main

import (
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/awsfake"
	"github.com/berth-sh/berth/internal/hosttest"
)

// TestDataOutlivesItsHost: the stack with data on host A moves to host B,
// each a machine with its own Docker engine. B serves A's data with A's
// password, the A record names B only after B is healthy, and A's containers
// are stopped, not removed. A move whose destination never turns healthy
// leaves A serving and the record alone. A move back onto A, whose volumes still hold the
// data, is refused without --force and changes nothing.
func TestDataOutlivesItsHost(t *testing.T) {
	f := newFleet(t, 2, nil)
	a, b := f.Hosts[0], f.Hosts[1]
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
	if _, _, code := berth(t, append([]string{"deploy", "--host", a.Target("root")}, dnsArgs...)...); code != 0 {
		t.Fatalf("deploy on A: exit %d", code)
	}
	if st, body := httpDo(t, "PUT", "http://"+a.Addr+"/kv/post1", "my first post"); st != 200 {
		t.Fatalf("write on A: %d %q", st, body)
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
