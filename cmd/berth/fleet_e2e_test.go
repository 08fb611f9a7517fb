package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/berth-sh/berth/internal/awsfake"
	"github.com/berth-sh/berth/internal/hosttest"
	"github.com/berth-sh/berth/internal/testimage"
)

// fleetEnv is n test hosts, each its own machine with its own Docker engine,
// all deploying one playbook with identical names, from one berth.yaml.
type fleetEnv struct {
	*hosttest.Fleet
	config string
}

// fleetStateDir is berth's state directory on every fleet host.
const fleetStateDir = "/var/lib/berth-test"

// newFleet starts n hosts with the test image loaded and the web port
// published on each host's address. wrongKey lists hosts whose known_hosts
// entry is some other key.
func newFleet(t *testing.T, n int, wrongKey map[int]bool) *fleetEnv {
	t.Helper()
	img := testimage.Build(t, "v1", "v1")
	f := &fleetEnv{Fleet: hosttest.Start(t, n, hosttest.Options{Ports: []int{80}, Images: []string{img}})}
	var known strings.Builder
	for i, h := range f.Hosts {
		key := h.HostKey
		if wrongKey[i] {
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			sk, _ := ssh.NewSignerFromKey(other)
			key = sk.PublicKey()
		}
		known.WriteString(h.KnownHostsLine(key))
	}
	if err := os.WriteFile(f.KnownHosts, []byte(known.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// berth.yaml: the hosts and shared settings; each host's own greeting
	// must beat the global one.
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "playbook: testdata/stack.yaml\nidentity: [%s]\nknown_hosts: %s\nssh_config: none\nstate_dir: %s\nconnect_timeout: 2s\nvars: {web_bind: 0.0.0.0, web_port: \"80\", greeting: global}\nhosts:\n",
		f.Identity, f.KnownHosts, fleetStateDir)
	for _, h := range f.Hosts {
		fmt.Fprintf(&cfg, "  - host: %s\n    vars: {greeting: %q}\n", h.Target("root"), h.Addr)
	}
	f.config = filepath.Join(t.TempDir(), "berth.yaml")
	if err := os.WriteFile(f.config, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFleetPartialFailureAndDNS: four hosts, one down, one whose host key is
// not the one known_hosts holds. The two healthy hosts serve the stack under
// the same names, and the A record ends with exactly their addresses.
func TestFleetPartialFailureAndDNS(t *testing.T) {
	f := newFleet(t, 4, map[int]bool{3: true})
	f.Hosts[1].Stop(t)
	aws := awsfake.New(t)
	aws.Env(t)
	zone := aws.AddZone(awsfake.Zone{Name: "example.com."})

	out, errOut, code := berth(t, "deploy", "--config", f.config, "--domain", "fleet.example.com", "--dns-poll", "10ms", "--json")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	sums := summaries(t, out)
	var okHosts []string
	for i, h := range f.Hosts {
		s, found := sums[h.ID("root")]
		if !found {
			t.Fatalf("no summary for %s", h.ID("root"))
		}
		result := s.Data["result"].(string)
		switch i {
		case 1, 3:
			if result != "failed" || s.Data["error"] == nil {
				t.Errorf("host %d: result %q (%v), want failed with its error", i, result, s.Data["error"])
			}
		default:
			okHosts = append(okHosts, h.Addr)
			if result != "changed" {
				t.Errorf("host %d: result %q, want changed", i, result)
			}
			if st, body := httpDo(t, "GET", "http://"+h.Addr+"/", ""); st != 200 || !strings.Contains(body, "greeting="+h.Addr) {
				t.Errorf("host %d: web answers %d %q", i, st, body)
			}
			if names, _ := h.Exec(t, "docker", "ps", "--format", "{{.Names}}"); names != "web\ndb" && names != "db\nweb" {
				t.Errorf("host %d runs %q, want the playbook's own names db and web", i, names)
			}
		}
	}
	if !strings.Contains(strings.ToLower(errOut), "host key") {
		t.Errorf("stderr does not explain the host key failure:\n%s", errOut)
	}
	if ps, _ := f.Hosts[3].Exec(t, "docker", "ps", "-aq"); ps != "" {
		t.Errorf("the host with the wrong key got containers: %s", ps)
	}
	var got []string
	for _, r := range aws.Records(zone) {
		if r.Name == "fleet.example.com." && r.Type == "A" {
			got = append(got, r.Values...)
		}
	}
	sort.Strings(got)
	sort.Strings(okHosts)
	if strings.Join(got, ",") != strings.Join(okHosts, ",") {
		t.Fatalf("A record holds %v, want exactly the healthy hosts %v", got, okHosts)
	}
}

// TestFleetRollingBatchesStopAfterFailedWave: waves of one; the second host
// is down, so with no failure tolerated the third wave never starts.
func TestFleetRollingBatchesStopAfterFailedWave(t *testing.T) {
	f := newFleet(t, 3, nil)
	f.Hosts[1].Stop(t)
	out, _, code := berth(t, "deploy", "--config", f.config, "--batch", "1", "--max-failures", "0", "--json")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	sums := summaries(t, out)
	want := []string{"changed", "failed", "skipped"}
	for i, h := range f.Hosts {
		result := sums[h.ID("root")].Data["result"].(string)
		if result != want[i] {
			t.Errorf("host %d: %q, want %s", i, result, want[i])
		}
	}
	if ps, _ := f.Hosts[2].Exec(t, "docker", "ps", "-aq"); ps != "" {
		t.Errorf("the third wave ran although the second failed: %s", ps)
	}
}

// TestStoppedRolloutKeepsServingHostsInDNS: a batched rollout that stops in
// wave 2 rewrites the A record from what serves at the end, not from the
// hosts it converged: wave 3's untouched hosts stay while they serve, a host
// another run has locked stays, and only the failed host and a host observed
// down leave.
func TestStoppedRolloutKeepsServingHostsInDNS(t *testing.T) {
	f := newFleet(t, 6, nil)
	aws := awsfake.New(t)
	aws.Env(t)
	zone := aws.AddZone(awsfake.Zone{Name: "example.com."})
	args := []string{"deploy", "--config", f.config, "--domain", "fleet.example.com", "--dns-poll", "10ms"}
	if _, _, code := berth(t, args...); code != 0 {
		t.Fatalf("first deploy: exit %d", code)
	}
	record := func() string {
		var got []string
		for _, r := range aws.Records(zone) {
			if r.Name == "fleet.example.com." && r.Type == "A" {
				got = append(got, r.Values...)
			}
		}
		sort.Strings(got)
		return strings.Join(got, ",")
	}
	addrs := func(idx ...int) string {
		var want []string
		for _, i := range idx {
			want = append(want, f.Hosts[i].Addr)
		}
		sort.Strings(want)
		return strings.Join(want, ",")
	}
	if got, want := record(), addrs(0, 1, 2, 3, 4, 5); got != want {
		t.Fatalf("record after the first deploy: %s, want %s", got, want)
	}

	// Waves of 2: {0,1} converge; in {2,3}, host 2 is down and another run
	// holds host 3's lock, so the rollout stops; {4,5} are never deployed:
	// 4 still serves, 5's web was stopped behind berth's back.
	f.Hosts[2].Stop(t)
	lock := fleetStateDir + "/stack/lock"
	info := "someone@elsewhere pid=1 at=now berth=test run=other"
	if out, err := f.Hosts[3].Exec(t, "sh", "-c", `mkdir -p "$1" && printf '%s\n' "$2" > "$1/info"`, "sh", lock, info); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := f.Hosts[5].Exec(t, "docker", "stop", "web"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	out, _, code := berth(t, append(args, "--batch", "2", "--max-failures", "0", "--json")...)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	sums := summaries(t, out)
	for _, i := range []int{4, 5} {
		s := sums[f.Hosts[i].ID("root")]
		if s.Data["skipped"] != true {
			t.Errorf("host %d: %+v, want skipped", i, s)
		}
		// Deciding whether an untouched host serves costs one observe.
		if s.Data["connections"] != 1.0 || s.Data["round_trips"] != 1.0 {
			t.Errorf("host %d: %v connection(s), %v round trip(s) to observe it; want 1 and 1", i, s.Data["connections"], s.Data["round_trips"])
		}
	}
	if got, want := record(), addrs(0, 1, 3, 4); got != want {
		t.Errorf("record after the stopped rollout: %s, want %s (serving hosts only, converged or not)", got, want)
	}
}
