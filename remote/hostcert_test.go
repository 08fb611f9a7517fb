package remote_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/remote"
)

// newCA makes a certificate authority key with ssh-keygen.
func newCA(t *testing.T) (path string, pub ssh.PublicKey) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "ca")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test-ca", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err = ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return path, pub
}

// certServer starts an sshd presenting a host certificate for principal,
// signed by ca with ssh-keygen -s, valid for validity (ssh-keygen -V).
func certServer(t *testing.T, ca, principal, validity string) (*sshtest.Server, ssh.PublicKey) {
	t.Helper()
	_, hostKey, _ := ed25519.GenerateKey(rand.Reader)
	hostPub, err := ssh.NewPublicKey(hostKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPath := filepath.Join(t.TempDir(), "host_ed25519.pub")
	if err := os.WriteFile(pubPath, ssh.MarshalAuthorizedKey(hostPub), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-q", "-s", ca, "-h", "-I", "test-host", "-n", principal, "-V", validity, pubPath}
	if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -s: %v\n%s", err, out)
	}
	certPath := strings.TrimSuffix(pubPath, ".pub") + "-cert.pub"
	return sshtest.Start(t, sshtest.HostKey(hostKey), sshtest.Config("HostCertificate "+certPath)), hostPub
}

func TestSSHHostCertificates(t *testing.T) {
	ca, caPub := newCA(t)
	_, otherCA := newCA(t)
	srv, hostPub := certServer(t, ca, "127.0.0.1", "-5m:+1h")
	host := knownhosts.Normalize(srv.Addr)
	// knownhosts (unlike OpenSSH) matches a bare * on port 22 only.
	anyHost := "[*]:" + strconv.Itoa(srv.Port)
	authority := func(pattern string, k ssh.PublicKey) string {
		return "@cert-authority " + pattern + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	}
	revoked := func(k ssh.PublicKey) string {
		return "@revoked * " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	}
	tests := []struct {
		name    string
		lines   []string
		policy  remote.HostKeyPolicy
		wantErr string // "": connects
		unknown bool
		revoked bool
	}{
		{name: "authority for the host", lines: []string{authority(host, caPub)}},
		{name: "authority for every host on the port", lines: []string{authority(anyHost, caPub)}},
		{name: "authority with tabs", lines: []string{strings.ReplaceAll(authority(host, caPub), " ", "\t")}},
		{name: "authority for another host", lines: []string{authority("[10.9.9.9]:22", caPub)},
			wantErr: "no @cert-authority", unknown: true},
		{name: "another authority", lines: []string{authority(anyHost, otherCA)}, wantErr: "no @cert-authority", unknown: true},
		{name: "another authority, plain key recorded", lines: []string{authority(anyHost, otherCA), knownhosts.Line([]string{host}, hostPub)}},
		{name: "revoked authority", lines: []string{authority(anyHost, caPub), revoked(caPub)}, revoked: true, wantErr: "revoked"},
		{name: "revoked host key", lines: []string{authority(anyHost, caPub), revoked(hostPub)}, revoked: true, wantErr: "revoked"},
		{name: "accept-new records the plain key", policy: remote.HostKeyAcceptNew},
		{name: "accept-new still honours a revoked authority", policy: remote.HostKeyAcceptNew,
			lines: []string{revoked(caPub)}, revoked: true, wantErr: "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := srv.Options()
			opts.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
			if tt.lines != nil {
				opts.KnownHostsFile = writeKnownHosts(t, tt.lines...)
			}
			opts.HostKeyPolicy = tt.policy
			opts.Warn = &strings.Builder{}
			c, err := remote.DialSSH(testCtx(t), srv.Target(), opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("DialSSH: %v", err)
				}
				c.Close()
			} else {
				var hk *remote.HostKeyError
				if !errors.As(err, &hk) || hk.Unknown != tt.unknown || hk.Revoked != tt.revoked || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want a host key error with %q (unknown %v, revoked %v)", err, tt.wantErr, tt.unknown, tt.revoked)
				}
			}
			if tt.policy == remote.HostKeyAcceptNew && err == nil {
				// What was recorded is the plain key: strict accepts it now.
				b, _ := os.ReadFile(opts.KnownHostsFile)
				if !strings.Contains(string(b), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostPub)))) {
					t.Fatalf("known_hosts holds %q, want the plain host key", b)
				}
				opts.HostKeyPolicy = remote.HostKeyStrict
				dial(t, srv.Target(), opts)
			}
		})
	}
	t.Run("certificate not valid", func(t *testing.T) {
		for name, s := range map[string]struct{ principal, validity string }{
			"expired":         {"127.0.0.1", "20200101:20200102"},
			"another host's":  {"db.example.com", "-5m:+1h"},
			"not yet current": {"127.0.0.1", "+1d:+2d"},
		} {
			t.Run(name, func(t *testing.T) {
				srv, _ := certServer(t, ca, s.principal, s.validity)
				opts := srv.Options()
				opts.KnownHostsFile = writeKnownHosts(t, authority("[*]:"+strconv.Itoa(srv.Port), caPub))
				_, err := remote.DialSSH(testCtx(t), srv.Target(), opts)
				var hk *remote.HostKeyError
				if !errors.As(err, &hk) || !hk.Unknown || hk.CertProblem == "" || !strings.Contains(err.Error(), "certificate") {
					t.Fatalf("got %v, want an unknown host whose certificate was refused", err)
				}
			})
		}
	})
}
