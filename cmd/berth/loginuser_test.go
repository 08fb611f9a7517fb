package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/awsfake"
)

// TestEC2LoginUser: with no --user and no ssh config user, an instance is
// reached as its AMI's default user, and berth says so; --user and the ssh
// config win and cost no DescribeImages; an image that does not say gets a
// warning and the SSH default.
func TestEC2LoginUser(t *testing.T) {
	aws := awsfake.New(t)
	aws.Env(t)
	deb := aws.AddImage(awsfake.Image{Name: "debian-12-amd64-20240717-1811", Description: "Debian 12 (20240717-1811)"})
	al := aws.AddImage(awsfake.Image{Name: "al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64", OwnerAlias: "amazon"})
	own := aws.AddImage(awsfake.Image{Name: "golden-2024-11"})
	aws.AddInstance(awsfake.Instance{PublicIP: "203.0.113.1", ImageID: deb, Tags: map[string]string{"Name": "a1", "app": "blog"}})
	aws.AddInstance(awsfake.Instance{PublicIP: "203.0.113.2", ImageID: deb, Tags: map[string]string{"Name": "a2", "app": "blog"}})
	aws.AddInstance(awsfake.Instance{PublicIP: "203.0.113.3", ImageID: al, Tags: map[string]string{"Name": "a3", "app": "blog"}})
	aws.AddInstance(awsfake.Instance{PublicIP: "203.0.113.4", ImageID: own, Tags: map[string]string{"Name": "a4", "app": "blog"}})
	sshConfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(sshConfig, []byte("Host 203.0.113.2\n  User ops\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		flags      []string
		want       string // users of a1..a4
		wantCalls  int    // DescribeImages requests
		wantStderr []string
	}{
		{"from the images", []string{"--ssh-config", "none"}, "admin,admin,ec2-user,", 1,
			[]string{"logging in as admin on 2 host(s) from image " + deb, "logging in as ec2-user on 1 host(s)", "image " + own + " (golden-2024-11) does not say its login user: give --user"}},
		{"ssh config wins for its host", []string{"--ssh-config", sshConfig}, "admin,,ec2-user,", 1,
			[]string{"logging in as admin on 1 host(s)"}},
		{"--user wins", []string{"--ssh-config", "none", "--user", "me"}, "me,me,me,me", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aws.ResetCounts()
			out, errOut, code := berth(t, append([]string{"hosts", "--ec2-tag", "app=blog", "--json"}, tt.flags...)...)
			if code != exitOK {
				t.Fatalf("exit %d", code)
			}
			var users []string
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				var h targetJSON
				if err := json.Unmarshal([]byte(line), &h); err != nil {
					t.Fatalf("%v: %s", err, out)
				}
				user, _, found := strings.Cut(h.SSH, "@")
				if !found {
					user = ""
				}
				users = append(users, user)
			}
			if got := strings.Join(users, ","); got != tt.want {
				t.Errorf("users %q, want %q", got, tt.want)
			}
			if n := aws.Count("DescribeImages"); n != tt.wantCalls {
				t.Errorf("%d DescribeImages requests, want %d", n, tt.wantCalls)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}
