package remote

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a host key that was refused: unknown under the strict
// policy, different from the recorded one, or revoked. It is never retried.
type HostKeyError struct {
	Host        string // as in known_hosts, e.g. "[10.0.0.5]:2222"
	KeyType     string // of the presented key
	Fingerprint string // SHA256 of the presented key
	File        string // the known_hosts file consulted
	Line        int    // the line holding the recorded key, for a mismatch
	Unknown     bool   // no key is recorded for the host
	Revoked     bool
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("host key of %s is revoked: %s %s (marked @revoked in %s:%d)",
			e.Host, e.KeyType, e.Fingerprint, e.File, e.Line)
	case e.Unknown:
		host, port := e.Host, "22"
		if h, p, err := net.SplitHostPort(e.Host); err == nil {
			host, port = h, p
		}
		return fmt.Sprintf("unknown host %s: its key %s %s is not in %s; verify the fingerprint, then add it "+
			"(ssh-keyscan -p %s %s >> %s) or rerun with --host-key-policy accept-new",
			e.Host, e.KeyType, e.Fingerprint, e.File, port, host, e.File)
	}
	return fmt.Sprintf("HOST KEY MISMATCH for %s: it presented %s %s, which differs from the key recorded in %s:%d; "+
		"this may be a man-in-the-middle attack; if the host was rebuilt, remove the old entry (ssh-keygen -f %s -R '%s')",
		e.Host, e.KeyType, e.Fingerprint, e.File, e.Line, e.File, e.Host)
}

// hostKeys checks host keys against one known_hosts file under a policy.
type hostKeys struct {
	file   string
	policy HostKeyPolicy
	warn   io.Writer
	check  ssh.HostKeyCallback // nil when the file does not exist yet
}

func newHostKeys(file string, policy HostKeyPolicy, warn io.Writer) (*hostKeys, error) {
	h := &hostKeys{file: file, policy: policy, warn: warn}
	if policy == HostKeyInsecureIgnore {
		return h, nil
	}
	cb, err := knownhosts.New(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// No file is the same as an empty file: every host is unknown.
	case err != nil:
		return nil, fmt.Errorf("read known hosts: %w", err)
	default:
		h.check = cb
	}
	return h, nil
}

// callback returns the check for one host; addr is the host:port dialed,
// which is also the name recorded in known_hosts.
func (h *hostKeys) callback(addr string) ssh.HostKeyCallback {
	return func(_ string, remote net.Addr, key ssh.PublicKey) error {
		fp := ssh.FingerprintSHA256(key)
		if h.policy == HostKeyInsecureIgnore {
			fmt.Fprintf(h.warn, "WARNING: not verifying the host key of %s (%s %s): --host-key-policy %s\n",
				addr, key.Type(), fp, HostKeyInsecureIgnore)
			return nil
		}
		herr := &HostKeyError{Host: knownhosts.Normalize(addr), KeyType: key.Type(), Fingerprint: fp, File: h.file}
		var err error = &knownhosts.KeyError{}
		if h.check != nil {
			// The dialed name, not remote, decides: through a jump host remote
			// is not the server's address.
			err = h.check(addr, tcpAddrOrDummy(remote), key)
		}
		var kerr *knownhosts.KeyError
		var rerr *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &rerr):
			herr.Revoked, herr.Line = true, rerr.Revoked.Line
			return herr
		case errors.As(err, &kerr) && len(kerr.Want) > 0:
			herr.File, herr.Line = kerr.Want[0].Filename, kerr.Want[0].Line
			return herr
		case errors.As(err, &kerr):
			if h.policy == HostKeyAcceptNew {
				if err := h.record(addr, key); err != nil {
					return err
				}
				fmt.Fprintf(h.warn, "berth: trusting new host %s (%s %s), recorded in %s\n", addr, key.Type(), fp, h.file)
				return nil
			}
			herr.Unknown = true
			return herr
		}
		return fmt.Errorf("check host key of %s: %w", addr, err)
	}
}

// algorithms lists the host key algorithms known_hosts has for addr, so the
// server is asked for a key we can verify rather than whichever it prefers
// (otherwise a host recorded by its ed25519 key but offering ECDSA first
// would look like a mismatch). Nil means "any".
func (h *hostKeys) algorithms(addr string) []string {
	if h.check == nil {
		return nil
	}
	err := h.check(addr, tcpAddrOrDummy(nil), probeKey{})
	var kerr *knownhosts.KeyError
	if !errors.As(err, &kerr) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, k := range kerr.Want {
		for _, a := range algorithmsForKeyType(k.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

func algorithmsForKeyType(t string) []string {
	switch t {
	case ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	case ssh.CertAlgoRSAv01:
		return []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01}
	}
	return []string{t}
}

// record appends the key to known_hosts. One O_APPEND write per line keeps
// concurrent dials from interleaving their lines.
func (h *hostKeys) record(addr string, key ssh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(h.file), 0o700); err != nil {
		return fmt.Errorf("record host key: %w", err)
	}
	f, err := os.OpenFile(h.file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("record host key: %w", err)
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("record host key in %s: %w", h.file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("record host key in %s: %w", h.file, err)
	}
	return nil
}

// tcpAddrOrDummy gives knownhosts a parseable remote address; it only uses
// it when the hostname is empty, which never happens here.
func tcpAddrOrDummy(a net.Addr) net.Addr {
	if a != nil {
		if _, _, err := net.SplitHostPort(a.String()); err == nil {
			return a
		}
	}
	return &net.TCPAddr{IP: net.IPv4zero, Port: 0}
}

// probeKey is a key that matches nothing, used to list the recorded keys.
type probeKey struct{}

func (probeKey) Type() string                        { return "berth-probe" }
func (probeKey) Marshal() []byte                     { return []byte("berth-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe key") }
