package main

import (
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/awsfake"
	"github.com/berth-sh/berth/internal/hosttest"
	"github.com/berth-sh/berth/internal/testimage"
)

// TestNonRootUsers: the stack's whole life as the users cloud hosts are
// reached as. admin (sudo, not in the docker group) works with --sudo, and is
// found the way a user would: an EC2 tag and no --user, berth taking the
// login user from the instance's Debian AMI. deploy (docker group, no sudo)
// works as itself. Each: deploy, a no-op (1 connection, 1 round trip),
// status, destroy.
func TestNonRootUsers(t *testing.T) {
	img := testimage.Build(t, "v1", "v1")
	f := hosttest.Start(t, 2, hosttest.Options{Images: []string{img}})
	aws := awsfake.New(t)
	aws.Env(t)
	ami := aws.AddImage(awsfake.Image{Name: "debian-12-amd64-20240717-1811", Description: "Debian 12 (20240717-1811)", OwnerID: "136693071363"})
	aws.AddInstance(awsfake.Instance{PublicIP: f.Hosts[0].Addr, ImageID: ami, Tags: map[string]string{"Name": "blog"}})
	ssh := []string{"--identity", f.Identity, "--known-hosts", f.KnownHosts, "--ssh-config", "none"}

	tests := []struct {
		name   string
		h      *hosttest.Host
		flags  []string
		target string // as the summary names it
		stderr string // what berth says about the user it chose
	}{
		{"admin with sudo from EC2", f.Hosts[0], append([]string{"--ec2-tag", "Name=blog", "--sudo"}, ssh...),
			"blog (admin@" + f.Hosts[0].Addr + ")", "logging in as admin"},
		{"deploy in the docker group", f.Hosts[1], append([]string{"--host", f.Hosts[1].Target("deploy")}, ssh...),
			f.Hosts[1].Target("deploy"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(cmd string, extra ...string) (string, string) {
				t.Helper()
				args := append(append([]string{cmd, "--playbook", "testdata/stack.yaml"}, tt.flags...), extra...)
				out, errOut, code := berth(t, args...)
				if code != exitOK {
					t.Fatalf("%s: exit %d\n%s", cmd, code, errOut)
				}
				return out, errOut
			}
			out, errOut := run("deploy", "--json")
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr does not say %q:\n%s", tt.stderr, errOut)
			}
			if s := summaries(t, out)[tt.target]; s.Data["result"] != "changed" {
				t.Fatalf("deploy: %v", s.Data)
			}
			if names, _ := tt.h.Exec(t, "docker", "ps", "--format", "{{.Names}}"); names != "web\ndb" && names != "db\nweb" {
				t.Errorf("host runs %q", names)
			}

			before := tt.h.Connections(t)
			out, _ = run("deploy", "--json")
			sum := summaries(t, out)[tt.target]
			if sum.Data["connections"] != 1.0 || sum.Data["round_trips"] != 1.0 || sum.Data["changes"] != 0.0 || sum.Data["result"] != "ok" {
				t.Errorf("no-op deploy: %v, want no change with 1 connection and 1 round trip", sum.Data)
			}
			if n := tt.h.Connections(t) - before; n != 1 {
				t.Errorf("sshd accepted %d connections for the no-op, want 1", n)
			}

			out, _ = run("status")
			if !strings.Contains(out, "running") || !strings.Contains(out, "db-data") {
				t.Errorf("status:\n%s", out)
			}

			run("destroy")
			if ps, _ := tt.h.Exec(t, "docker", "ps", "-aq"); ps != "" {
				t.Errorf("containers left after destroy: %s", ps)
			}
			if vols, _ := tt.h.Exec(t, "docker", "volume", "ls", "-q"); !strings.Contains(vols, "db-data") {
				t.Errorf("destroy without --volumes removed the data: volumes %q", vols)
			}
		})
	}
}
