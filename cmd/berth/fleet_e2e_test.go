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
	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/internal/testimage"
)

// fleetHost is one sshd on its own loopback address, with its own stack
// prefix and web port on the shared Docker engine.
type fleetHost struct {
	sshd   *sshtest.Server
	prefix string
	port   string
}

type fleetEnv struct {
	hosts      []*fleetHost
	identity   string
	knownHosts string
	stateDir   string
	config     string
}

// newFleet starts n sshd hosts on 127.0.0.2.. that all accept one client key.
// wrongKey lists hosts whose known_hosts entry is some other key.
func newFleet(t *testing.T, n int, wrongKey map[int]bool) *fleetEnv {
	t.Helper()
	testimage.Build(t, "v1", "v1")
	f := &fleetEnv{stateDir: filepath.Join(t.TempDir(), "state")}
	first := sshtest.Start(t, sshtest.ListenAddr("127.0.0.2"))
	f.identity = first.ClientKeyPath
	pemBytes, err := os.ReadFile(first.ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	var known strings.Builder
	base := testimage.Unique(t)
	for i := 0; i < n; i++ {
		s := first
		if i > 0 {
			s = sshtest.Start(t, sshtest.ListenAddr(fmt.Sprintf("127.0.0.%d", i+2)), sshtest.AuthorizedKey(signer.PublicKey()))
		}
		h := &fleetHost{sshd: s, prefix: fmt.Sprintf("%sh%d-", base, i), port: freePort(t)}
		cleanupStack(t, h.prefix)
		f.hosts = append(f.hosts, h)
		key := s.HostKey
		if wrongKey[i] {
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			sk, _ := ssh.NewSignerFromKey(other)
			key = sk.PublicKey()
		}
		fmt.Fprintf(&known, "[%s]:%d %s", s.Host, s.Port, ssh.MarshalAuthorizedKey(key))
	}
	dir := t.TempDir()
	f.knownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(f.knownHosts, []byte(known.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	// berth.yaml: the hosts, each with its own vars, and shared settings. The
	// global web_port would clash on every host: each host's own must win.
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "playbook: testdata/stack.yaml\nidentity: [%s]\nknown_hosts: %s\nssh_config: none\nstate_dir: %s\nconnect_timeout: 2s\nvars: {web_port: \"1\"}\nhosts:\n",
		f.identity, f.knownHosts, f.stateDir)
	for _, h := range f.hosts {
		fmt.Fprintf(&cfg, "  - host: %s\n    vars: {prefix: %s, web_port: %q}\n", h.sshd.Target(), h.prefix, h.port)
	}
	f.config = filepath.Join(dir, "berth.yaml")
	if err := os.WriteFile(f.config, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFleetPartialFailureAndDNS(t *testing.T) {
	f := newFleet(t, 5, map[int]bool{3: true})
	f.hosts[1].sshd.Stop() // host 1 is down
	aws := awsfake.New(t)
	aws.Env(t)
	zone := aws.AddZone(awsfake.Zone{Name: "example.com."})

	out, errOut, code := berth(t, "deploy", "--config", f.config, "--domain", "fleet.example.com", "--dns-poll", "10ms", "--json")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	sums := summaries(t, out)
	var okHosts, failed []string
	for i, h := range f.hosts {
		s, found := sums[h.sshd.Target()]
		if !found {
			t.Fatalf("no summary for %s", h.sshd.Target())
		}
		result := s.Data["result"].(string)
		switch i {
		case 1, 3:
			failed = append(failed, h.sshd.Host)
			if !strings.HasPrefix(result, "FAILED") {
				t.Errorf("host %d: result %q, want FAILED", i, result)
			}
		default:
			okHosts = append(okHosts, h.sshd.Host)
			if result != "changed" {
				t.Errorf("host %d: result %q, want changed", i, result)
			}
			if st, _ := httpDo(t, "GET", "http://127.0.0.1:"+h.port+"/", ""); st != 200 {
				t.Errorf("host %d: web answers %d", i, st)
			}
		}
	}
	if !strings.Contains(strings.ToLower(errOut), "host key") {
		t.Errorf("stderr does not explain the host key failure:\n%s", errOut)
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
		t.Fatalf("A record holds %v, want exactly the healthy hosts %v (failed: %v)", got, okHosts, failed)
	}
}

func TestFleetRollingBatchesStopAfterFailedWave(t *testing.T) {
	f := newFleet(t, 5, nil)
	f.hosts[2].sshd.Stop() // in the second wave of 2
	out, _, code := berth(t, "deploy", "--config", f.config, "--batch", "2", "--max-failures", "0", "--json")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	sums := summaries(t, out)
	want := []string{"changed", "changed", "FAILED", "changed", "skipped"}
	for i, h := range f.hosts {
		result := sums[h.sshd.Target()].Data["result"].(string)
		if !strings.HasPrefix(result, want[i]) {
			t.Errorf("host %d: %q, want %s", i, result, want[i])
		}
	}
	if containerID(t, f.hosts[4].prefix+"db") != "" {
		t.Error("the third wave ran although the second failed")
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
			want = append(want, f.hosts[i].sshd.Host)
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
	f.hosts[2].sshd.Stop()
	lock := filepath.Join(f.stateDir, f.hosts[3].prefix+"stack", "lock")
	if err := os.MkdirAll(lock, 0o700); err != nil {
		t.Fatal(err)
	}
	info := fmt.Sprintf("someone@elsewhere pid=%d at=now berth=test run=other\n", os.Getpid())
	if err := os.WriteFile(filepath.Join(lock, "info"), []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(lock) })
	dockerOut(t, "stop", f.hosts[5].prefix+"web")

	out, _, code := berth(t, append(args, "--batch", "2", "--max-failures", "0", "--json")...)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d", code, exitFailure)
	}
	sums := summaries(t, out)
	for _, i := range []int{4, 5} {
		s := sums[f.hosts[i].sshd.Target()]
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
