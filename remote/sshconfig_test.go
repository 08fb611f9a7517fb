package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitTarget(t *testing.T) {
	tests := []struct {
		in         string
		user, host string
		port       int
		wantErr    bool
	}{
		{in: "10.0.0.5", host: "10.0.0.5"},
		{in: "deploy@10.0.0.5", user: "deploy", host: "10.0.0.5"},
		{in: "deploy@10.0.0.5:2222", user: "deploy", host: "10.0.0.5", port: 2222},
		{in: "blog", host: "blog"},
		{in: "a@b@host:22", user: "a@b", host: "host", port: 22},
		{in: "[::1]:2200", host: "::1", port: 2200},
		{in: "root@[fe80::1]", user: "root", host: "fe80::1"},
		{in: "::1", host: "::1"},
		{in: "[::1]", host: "::1"},
		{in: "my_alias", host: "my_alias"},
		{in: "host:0", wantErr: true},
		{in: "host:", wantErr: true},
		{in: "@host", wantErr: true},
		{in: "[::1", wantErr: true},
		{in: "[::1]x", wantErr: true},
		{in: "[::1]:", wantErr: true},
		{in: "[1.2.3.4]:22", wantErr: true},
		{in: "[alias]", wantErr: true},
		{in: "1:2:3", wantErr: true},
		{in: "host:ssh", wantErr: true},
		{in: "user@", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, h, p, err := SplitTarget(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %q %q %d", u, h, p)
				}
				return
			}
			if err != nil || u != tt.user || h != tt.host || p != tt.port {
				t.Fatalf("got %q %q %d %v", u, h, p, err)
			}
		})
	}
}

func TestResolveEndpoint(t *testing.T) {
	home := t.TempDir()
	cfgPath := filepath.Join(home, "config")
	cfg := `Host blog
  HostName 10.1.2.3
  User deploy
  Port 2222
  IdentityFile ~/.ssh/blog_key
  ProxyJump bastion

Host *.internal
  User ops
  IdentityFile %d/keys/%h-%r

Host *
  Port 2200
`
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadSSHConfig(cfgPath, true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target, defUser string
		defPort         int
		want            string
		identities      []string
		jump            string
	}{
		{target: "blog", want: "deploy@10.1.2.3:2222", identities: []string{home + "/.ssh/blog_key"}, jump: "bastion"},
		{target: "admin@blog:22", want: "admin@10.1.2.3:22", identities: []string{home + "/.ssh/blog_key"}, jump: "bastion"},
		{target: "blog", defUser: "cli", defPort: 23, want: "cli@10.1.2.3:23", identities: []string{home + "/.ssh/blog_key"}, jump: "bastion"},
		{target: "db.internal", want: "ops@db.internal:2200", identities: []string{home + "/keys/db.internal-ops"}},
		{target: "x@10.0.0.9", want: "x@10.0.0.9:2200"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			e, err := resolveEndpoint(tt.target, tt.defUser, tt.defPort, c, home)
			if err != nil {
				t.Fatal(err)
			}
			if e.String() != tt.want || e.proxyJump != tt.jump ||
				strings.Join(e.identities, ",") != strings.Join(tt.identities, ",") {
				t.Fatalf("got %s jump %q identities %q", e, e.proxyJump, e.identities)
			}
		})
	}
	t.Run("no config", func(t *testing.T) {
		none, err := loadSSHConfig("none", true)
		if err != nil || none != nil {
			t.Fatalf("none: %v %v", none, err)
		}
		missing, err := loadSSHConfig(filepath.Join(home, "absent"), false)
		if err != nil || missing != nil {
			t.Fatalf("missing default: %v %v", missing, err)
		}
		e, err := resolveEndpoint("u@blog", "", 0, nil, home)
		if err != nil || e.String() != "u@blog:22" {
			t.Fatalf("got %s %v", e, err)
		}
	})
}

func TestParseHostKeyPolicy(t *testing.T) {
	for in, want := range map[string]HostKeyPolicy{"": HostKeyStrict, "strict": HostKeyStrict,
		"accept-new": HostKeyAcceptNew, "insecure-ignore-host-key": HostKeyInsecureIgnore} {
		if got, err := ParseHostKeyPolicy(in); err != nil || got != want {
			t.Errorf("ParseHostKeyPolicy(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseHostKeyPolicy("no"); err == nil {
		t.Error("accepted \"no\"")
	}
}

func TestParsePort(t *testing.T) {
	for in, want := range map[string]int{"22": 22, "1": 1, "65535": 65535, "0": 0, "65536": 0, "+22": 0, "022": 0, "-1": 0, "": 0, "x": 0, " 22": 0} {
		got, err := ParsePort(in)
		if got != want || (err == nil) != (want != 0) {
			t.Errorf("ParsePort(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// TestHostID: a target is named after the ssh config is applied, so an
// alias and its HostName, or a host with and without its default port,
// are one id.
func TestHostID(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("Host blog\n  HostName 10.0.0.5\n  User admin\n  Port 2222\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target string
		opts   SSHOptions
		want   string
	}{
		{"blog", SSHOptions{}, "admin@10.0.0.5:2222"},
		{"root@blog", SSHOptions{}, "root@10.0.0.5:2222"},
		{"blog:22", SSHOptions{}, "admin@10.0.0.5:22"},
		{"10.0.0.7", SSHOptions{User: "deploy"}, "deploy@10.0.0.7:22"},
		{"10.0.0.7", SSHOptions{User: "deploy", Port: 2200}, "deploy@10.0.0.7:2200"},
		{"ops@[2001:db8::1]:2022", SSHOptions{}, "ops@[2001:db8::1]:2022"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			tt.opts.SSHConfigFile, tt.opts.HomeDir = cfg, dir
			got, err := HostID(tt.target, tt.opts)
			if err != nil || got != tt.want {
				t.Fatalf("HostID(%q) = %q, %v; want %q", tt.target, got, err, tt.want)
			}
		})
	}
}
