package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/awsfake"
)

// TestDeployFromEC2TagToDNS is the seed's one command: find the instance by
// tag, deploy over SSH, point the A record at it. AWS is the wire-level fake,
// reached through the real SDK clients via AWS_ENDPOINT_URL.
func TestDeployFromEC2TagToDNS(t *testing.T) {
	e := newStackEnv(t)
	aws := awsfake.New(t)
	aws.Env(t)
	aws.AddInstance(awsfake.Instance{PublicIP: "127.0.0.1", PrivateIP: "10.0.0.9", Tags: map[string]string{"Name": "blog", "env": "test"}})
	aws.AddInstance(awsfake.Instance{PublicIP: "127.0.0.7", Tags: map[string]string{"Name": "other"}})
	zone := aws.AddZone(awsfake.Zone{Name: "example.com."})
	aws.SetPendingPolls(1)

	args := []string{"deploy", "--ec2-tag", "Name=blog", "--ec2-tag", "env=test", "--user", e.sshd.User,
		"--port", itoa(e.sshd.Port), "--identity", e.sshd.ClientKeyPath, "--known-hosts", e.sshd.KnownHostsPath,
		"--ssh-config", "none", "--playbook", "testdata/stack.yaml", "--state-dir", e.stateDir,
		"--var", "prefix=" + e.prefix, "--var", "web_port=" + e.port,
		"--domain", "blog.example.com", "--dns-poll", "10ms"}

	_, errOut, code := berth(t, args...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	recs := aws.Records(zone)
	var a *awsfake.Record
	for i := range recs {
		if recs[i].Name == "blog.example.com." && recs[i].Type == "A" {
			a = &recs[i]
		}
	}
	if a == nil || len(a.Values) != 1 || a.Values[0] != "127.0.0.1" {
		t.Fatalf("A record after deploy: %+v (all: %+v)", a, recs)
	}
	if aws.Count("GetChange") < 1 {
		t.Error("berth did not wait for the change to be INSYNC")
	}
	if !strings.Contains(errOut, "blog.example.com") {
		t.Error("the DNS step is not reported")
	}
	if st, _ := httpDo(t, "GET", e.url("/"), ""); st != 200 {
		t.Fatalf("web not serving: %d", st)
	}

	aws.ResetCounts()
	if _, _, code := berth(t, args...); code != 0 {
		t.Fatalf("second run exit %d", code)
	}
	if n := aws.Count("ChangeResourceRecordSets"); n != 0 {
		t.Errorf("second run sent %d Route 53 changes, want 0", n)
	}

	t.Run("plan shows the DNS change beside the containers", func(t *testing.T) {
		out, _, code := berth(t, append(append([]string{"plan"}, args[1:len(args)-4]...), "--domain", "www.example.com")...)
		if code != exitDrift {
			t.Fatalf("exit %d, want %d", code, exitDrift)
		}
		if !strings.Contains(out, "www.example.com") {
			t.Errorf("plan output lacks the DNS change:\n%s", out)
		}
	})

	t.Run("status shows the DNS record", func(t *testing.T) {
		out, _, code := berth(t, append(append([]string{"status"}, args[1:len(args)-4]...), "--domain", "blog.example.com")...)
		if code != 0 || !strings.Contains(out, "= dns blog.example.com A 127.0.0.1") {
			t.Fatalf("status: exit %d\n%s", code, out)
		}
	})

	t.Run("dns points a record at the serving targets only", func(t *testing.T) {
		dnsArgs := append(append([]string{"dns"}, args[1:len(args)-4]...), "--domain", "www.example.com", "--dns-poll", "10ms")
		if _, _, code := berth(t, append(dnsArgs, "--dry-run")...); code != exitDrift {
			t.Fatalf("dns --dry-run: exit %d, want %d", code, exitDrift)
		}
		if _, _, code := berth(t, dnsArgs...); code != 0 {
			t.Fatalf("dns: exit %d", code)
		}
		var got []string
		for _, r := range aws.Records(zone) {
			if r.Name == "www.example.com." && r.Type == "A" {
				got = r.Values
			}
		}
		if strings.Join(got, ",") != "127.0.0.1" {
			t.Fatalf("www record %v, want [127.0.0.1]", got)
		}
		// A target that does not serve (its web stopped) is not published.
		dockerOut(t, "stop", e.prefix+"web")
		t.Cleanup(func() { dockerOut(t, "start", e.prefix+"web") })
		_, errOut, code := berth(t, append(dnsArgs[:len(dnsArgs)-4], "--domain", "www2.example.com", "--dns-poll", "10ms")...)
		if code != 0 || !strings.Contains(errOut, "no healthy host") {
			t.Fatalf("dns with the web stopped: exit %d\n%s", code, errOut)
		}
	})

	t.Run("hosts lists the discovered instance", func(t *testing.T) {
		out, _, code := berth(t, "hosts", "--ec2-tag", "Name=blog")
		if code != 0 || !strings.Contains(out, "127.0.0.1") || !strings.Contains(out, "blog") || strings.Contains(out, "127.0.0.7") {
			t.Fatalf("hosts: exit %d\n%s", code, out)
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }
