package remote

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

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
	// CertProblem says why a certificate the host presented did not vouch
	// for it (no known authority, expired, wrong name), when it did not.
	CertProblem string
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
		cert := ""
		if e.CertProblem != "" {
			cert = " (its host certificate was not accepted: " + e.CertProblem + ")"
		}
		return fmt.Sprintf("unknown host %s: its key %s %s is not in %s%s; verify the fingerprint, then add it "+
			"(ssh-keyscan -p %s %s >> %s) or rerun with --host-key-policy accept-new",
			e.Host, e.KeyType, e.Fingerprint, e.File, cert, port, host, e.File)
	}
	return fmt.Sprintf("HOST KEY MISMATCH for %s: it presented %s %s, which differs from the key recorded in %s:%d; "+
		"this may be a man-in-the-middle attack; if the host was rebuilt, remove the old entry (ssh-keygen -f %s -R '%s')",
		e.Host, e.KeyType, e.Fingerprint, e.File, e.Line, e.File, e.Host)
}

// hostKeys checks host keys against one known_hosts file under a policy,
// with OpenSSH's semantics: a host certificate signed by a matching
// @cert-authority is accepted; any other certificate counts as its plain
// key; @revoked keys (hosts' or authorities') are refused.
type hostKeys struct {
	file    string
	policy  HostKeyPolicy
	warn    io.Writer
	check   ssh.HostKeyCallback // nil when the file does not exist yet
	caLines map[int]bool        // lines of file marked @cert-authority
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
		if h.caLines, err = certAuthorityLines(file); err != nil {
			return nil, fmt.Errorf("read known hosts: %w", err)
		}
	}
	return h, nil
}

// certAuthorityLines finds the @cert-authority lines, numbered as knownhosts
// numbers them: knownhosts reports the lines matching a host but not their markers.
func certAuthorityLines(file string) (map[int]bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lines := map[int]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if f := strings.Fields(sc.Text()); len(f) > 0 && f[0] == "@cert-authority" {
			lines[n] = true
		}
	}
	return lines, sc.Err()
}

// recorded lists the keys known_hosts holds for addr: host keys and authorities.
func (h *hostKeys) recorded(addr string) (keys, cas []knownhosts.KnownKey) {
	if h.check == nil {
		return nil, nil
	}
	var kerr *knownhosts.KeyError
	if !errors.As(h.check(addr, tcpAddrOrDummy(nil), probeKey{}), &kerr) {
		return nil, nil
	}
	for _, k := range kerr.Want {
		if k.Filename == h.file && h.caLines[k.Line] {
			cas = append(cas, k)
		} else {
			keys = append(keys, k)
		}
	}
	return keys, cas
}

// checkCert accepts a host certificate signed by an authority known_hosts
// names for addr, valid now and for the host's name. A revoked certificate
// key or authority is a *HostKeyError; any other problem is returned for the
// caller to fall back to the plain key, as OpenSSH does.
func (h *hostKeys) checkCert(addr string, remote net.Addr, cert *ssh.Certificate, herr *HostKeyError) error {
	for _, k := range []ssh.PublicKey{cert.Key, cert.SignatureKey} {
		var rerr *knownhosts.RevokedError
		if h.check != nil && errors.As(h.check(addr, remote, k), &rerr) {
			herr.Revoked, herr.File, herr.Line = true, rerr.Revoked.Filename, rerr.Revoked.Line
			return herr
		}
	}
	_, cas := h.recorded(addr)
	for _, ca := range cas {
		if !bytes.Equal(ca.Key.Marshal(), cert.SignatureKey.Marshal()) {
			continue
		}
		cc := ssh.CertChecker{IsHostAuthority: func(ssh.PublicKey, string) bool { return true }}
		if err := cc.CheckHostKey(addr, remote, cert); err != nil {
			return fmt.Errorf("%s:%d: %w", ca.Filename, ca.Line, err)
		}
		return nil
	}
	return fmt.Errorf("no @cert-authority in %s signed it (signer %s)", h.file, ssh.FingerprintSHA256(cert.SignatureKey))
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
		if cert, ok := key.(*ssh.Certificate); ok {
			err := h.checkCert(addr, tcpAddrOrDummy(remote), cert, herr)
			if err == nil || herr.Revoked {
				return err
			}
			// Not vouched for by an authority: judge its plain key.
			herr.CertProblem = err.Error()
			key = cert.Key
			herr.KeyType, herr.Fingerprint = key.Type(), ssh.FingerprintSHA256(key)
		}
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
		case errors.As(err, &kerr):
			// Authorities vouch only through certificates: a host recorded
			// only by its authority is unknown when it shows a plain key.
			if keys, _ := h.recorded(addr); len(keys) > 0 {
				herr.File, herr.Line = keys[0].Filename, keys[0].Line
				return herr
			}
			if h.policy == HostKeyAcceptNew {
				if err := h.record(addr, key); err != nil {
					return err
				}
				fmt.Fprintf(h.warn, "berth: trusting new host %s (%s %s), recorded in %s\n", addr, key.Type(), ssh.FingerprintSHA256(key), h.file)
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
	keys, cas := h.recorded(addr)
	if len(keys) == 0 {
		return nil // the library's default prefers certificates, then any key
	}
	var algos []string
	seen := map[string]bool{}
	add := func(as ...string) {
		for _, a := range as {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	if len(cas) > 0 {
		// A certificate from an authority is as good as a recorded key.
		add(ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01,
			ssh.CertAlgoECDSA521v01, ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01)
	}
	for _, k := range keys {
		add(algorithmsForKeyType(k.Key.Type())...)
	}
	// A certificate of a recorded key is checked as that key, as OpenSSH does,
	// for hosts that offer only their certificate.
	for _, k := range keys {
		if c, ok := certAlgos[k.Key.Type()]; ok {
			add(algorithmsForKeyType(c)...)
		}
	}
	return algos
}

// certAlgos maps a key type to the type of its certificates.
var certAlgos = map[string]string{
	ssh.KeyAlgoED25519:  ssh.CertAlgoED25519v01,
	ssh.KeyAlgoECDSA256: ssh.CertAlgoECDSA256v01,
	ssh.KeyAlgoECDSA384: ssh.CertAlgoECDSA384v01,
	ssh.KeyAlgoECDSA521: ssh.CertAlgoECDSA521v01,
	ssh.KeyAlgoRSA:      ssh.CertAlgoRSAv01,
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
