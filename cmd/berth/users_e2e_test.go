package main

import (
	"fmt"
	"os/exec"
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
		target string   // as the summary names it
		alias  any      // the target's own name in the summary (nil: none)
		stderr string   // what berth says about the user it chose
		setup  []string // run on the host first, as root
	}{
		{"admin with sudo from EC2", f.Hosts[0], append([]string{"--ec2-tag", "Name=blog", "--sudo"}, ssh...),
			f.Hosts[0].ID("admin"), "blog", "logging in as admin", nil},
		{"deploy in the docker group", f.Hosts[1], append([]string{"--host", f.Hosts[1].Target("deploy")}, ssh...),
			// The state root a user without sudo cannot make (berth bootstrap makes it).
			f.Hosts[1].ID("deploy"), nil, "", []string{"install", "-d", "-m", "2770", "-g", "docker", "/var/lib/berth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				if out, err := tt.h.Exec(t, tt.setup...); err != nil {
					t.Fatalf("%v: %v\n%s", tt.setup, err, out)
				}
			}
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
			if s := summaries(t, out)[tt.target]; s.Data["result"] != "changed" || s.Data["name"] != tt.alias {
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

// TestAdminAndDeployShareOneLockAndOneSecretSet: on one host, admin with
// --sudo (root on the host) and deploy (docker group) find the same state:
// deploy's run after admin's is a no-op with admin's secrets, there is one
// secrets file and the containers run with its values, and a lock taken by
// either stops the other.
func TestAdminAndDeployShareOneLockAndOneSecretSet(t *testing.T) {
	img := testimage.Build(t, "v1", "v1")
	f := hosttest.Start(t, 1, hosttest.Options{Images: []string{img}})
	h := f.Hosts[0]
	ssh := []string{"--identity", f.Identity, "--known-hosts", f.KnownHosts, "--ssh-config", "none", "--playbook", "testdata/stack.yaml"}
	admin := append([]string{"--host", h.Target("admin"), "--sudo"}, ssh...)
	deployer := append([]string{"--host", h.Target("deploy")}, ssh...)
	as := func(user []string, cmd string, extra ...string) []string {
		return append(append([]string{cmd}, user...), extra...)
	}
	const dir = "/var/lib/berth/stack"
	sh := func(script string) string {
		t.Helper()
		out, err := h.Exec(t, "sh", "-c", script)
		if err != nil {
			t.Fatalf("on the host: %s: %v\n%s", script, err, out)
		}
		return out
	}

	// Without /var/lib/berth, deploy (no sudo) is told how to get one.
	sh("rm -rf /var/lib/berth")
	_, errOut, code := berth(t, as(deployer, "deploy")...)
	for _, want := range []string{"/var/lib/berth does not exist and deploy cannot create it", "--sudo", "berth bootstrap", "sudo install -d -m 2770 -g docker /var/lib/berth"} {
		if code != exitFailure || !strings.Contains(errOut, want) {
			t.Errorf("deploy without a state directory: exit %d, want %d and %q:\n%s", code, exitFailure, want, errOut)
		}
	}

	out, errOut, code := berth(t, as(admin, "deploy", "--json")...)
	if code != exitOK || summaries(t, out)[h.ID("admin")].Data["result"] != "changed" {
		t.Fatalf("admin's deploy: exit %d\n%s", code, errOut)
	}

	// deploy finds admin's stack in sync: the same secrets, else the spec
	// hashes (keyed digests of them) would differ and recreate.
	before := h.Connections(t)
	out, errOut, code = berth(t, as(deployer, "deploy", "--json")...)
	sum := summaries(t, out)[h.ID("deploy")]
	if code != exitOK || sum.Data["changes"] != 0.0 || sum.Data["result"] != "ok" || sum.Data["connections"] != 1.0 || sum.Data["round_trips"] != 1.0 {
		t.Errorf("deploy's run after admin's: exit %d, %v; want no change with 1 connection and 1 round trip\n%s", code, sum.Data, errOut)
	}
	if n := h.Connections(t) - before; n != 1 {
		t.Errorf("sshd accepted %d connections for deploy's no-op, want 1", n)
	}

	if files := sh("find / -xdev -name 'secrets.env*' | sort"); files != dir+"/secrets.env" {
		t.Errorf("secrets files on the host: %q, want only %s", files, dir+"/secrets.env")
	}
	stored := sh("cat " + dir + "/secrets.env")
	env := sh(`docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' db | sed -n 's/^DB_PASSWORD=//p'`)
	if env == "" || stored != "db_password="+env {
		t.Errorf("stored secrets %q, db runs with DB_PASSWORD=%q", stored, env)
	}

	// A lock admin's run leaves (killed outright) stops deploy's, naming the
	// holder; once stale, deploy's run breaks it: the lock directory root made
	// is the docker group's too.
	cmd := exec.Command(berthBinary(t), as(admin, "deploy", "--var", "greeting=held")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	for {
		if _, err := h.Exec(t, "test", "-s", dir+"/lock/info"); err == nil {
			break
		}
		select {
		case <-exited:
			t.Fatal("admin's deploy ended before it held the lock")
		default:
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	holder := sh("head -n 1 " + dir + "/lock/info")
	if !strings.Contains(holder, fmt.Sprintf("pid=%d ", cmd.Process.Pid)) {
		t.Fatalf("the lock names %q, not the killed run (pid %d)", holder, cmd.Process.Pid)
	}
	_, errOut, code = berth(t, as(deployer, "deploy", "--lock-wait", "0")...)
	if code != exitLockHeld || !strings.Contains(errOut, "deploy lock held by "+holder) {
		t.Errorf("deploy's run against admin's lock: exit %d, want %d naming %q", code, exitLockHeld, holder)
	}
	sh("touch -d '-1 hour' " + dir + "/lock/info " + dir + "/lock")
	_, errOut, code = berth(t, as(deployer, "deploy", "--lock-stale", "30m")...)
	if code != exitOK || !strings.Contains(errOut, "broke the stale deploy lock held by "+holder) {
		t.Errorf("deploy's run against admin's stale lock: exit %d, want %d and the broken lock's holder %q", code, exitOK, holder)
	}
	if _, err := h.Exec(t, "test", "-e", dir+"/lock"); err == nil {
		t.Error("a lock was left behind")
	}

	if _, errOut, code := berth(t, as(deployer, "destroy")...); code != exitOK {
		t.Fatalf("deploy's destroy of admin's stack: exit %d\n%s", code, errOut)
	}
	if ps, _ := h.Exec(t, "docker", "ps", "-aq"); ps != "" {
		t.Errorf("containers left after destroy: %s", ps)
	}
}
