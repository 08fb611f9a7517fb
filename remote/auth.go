package remote

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// auth holds the credentials for one DialSSH: the agent connection (only
// needed during handshakes, closed afterwards) and the key files loaded so far.
type auth struct {
	opts     SSHOptions
	agent    agent.ExtendedAgent
	agentC   net.Conn
	agentErr error
	keys     map[string]keyFile // by path, so hops sharing a key load it once
}

type keyFile struct {
	signer  ssh.Signer
	problem string // why the key cannot be used, for the error if auth fails
}

func newAuth(opts SSHOptions) *auth {
	a := &auth{opts: opts, keys: map[string]keyFile{}}
	if opts.AgentSocket != "" && opts.AgentSocket != "none" {
		c, err := net.Dial("unix", opts.AgentSocket)
		if err != nil {
			a.agentErr = fmt.Errorf("connect to ssh-agent at %s: %w", opts.AgentSocket, err)
		} else {
			a.agentC, a.agent = c, agent.NewClient(c)
		}
	}
	return a
}

func (a *auth) close() {
	if a.agentC != nil {
		a.agentC.Close()
	}
}

// identities lists the key files to offer to e, as OpenSSH would.
func (a *auth) identities(e endpoint) []string {
	if len(a.opts.Identities) > 0 {
		return a.opts.Identities
	}
	if len(e.identities) > 0 {
		return e.identities
	}
	var out []string
	for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		p := a.opts.HomeDir + "/.ssh/" + n
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (a *auth) load(path string) keyFile {
	if k, ok := a.keys[path]; ok {
		return k
	}
	k := a.loadUncached(path)
	a.keys[path] = k
	return k
}

func (a *auth) loadUncached(path string) keyFile {
	pem, err := os.ReadFile(path)
	if err != nil {
		return keyFile{problem: fmt.Sprintf("identity %s: %v", path, err)}
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		pass, perr := a.opts.Passphrase(path)
		if perr != nil {
			return keyFile{problem: fmt.Sprintf("identity %s: get passphrase: %v", path, perr)}
		}
		if len(pass) == 0 {
			return keyFile{problem: fmt.Sprintf("identity %s is passphrase-protected and no passphrase was given "+
				"(set %s or add the key to ssh-agent)", path, PassphraseEnv)}
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, pass)
	}
	if err != nil {
		return keyFile{problem: fmt.Sprintf("identity %s: %v", path, err)}
	}
	return keyFile{signer: signer}
}

// methods returns the auth methods for e and the reasons some keys were
// skipped. An encrypted key without a passphrase is skipped, not fatal: the
// agent may still get us in.
func (a *auth) methods(e endpoint) ([]ssh.AuthMethod, []string) {
	var signers []ssh.Signer
	var problems []string
	for _, p := range a.identities(e) {
		k := a.load(p)
		if k.problem != "" {
			problems = append(problems, k.problem)
			continue
		}
		signers = append(signers, k.signer)
	}
	if a.agentErr != nil {
		problems = append(problems, a.agentErr.Error())
	}
	if a.agent == nil && len(signers) == 0 {
		return nil, problems
	}
	ag := a.agent
	cb := func() ([]ssh.Signer, error) {
		out := signers
		if ag != nil {
			// An agent that fails to list keys should not hide the key files.
			if as, err := ag.Signers(); err == nil {
				out = append(append([]ssh.Signer(nil), as...), signers...)
			}
		}
		return dedupeSigners(out), nil
	}
	return []ssh.AuthMethod{ssh.PublicKeysCallback(cb)}, problems
}

func dedupeSigners(in []ssh.Signer) []ssh.Signer {
	seen := map[string]bool{}
	var out []ssh.Signer
	for _, s := range in {
		k := string(s.PublicKey().Marshal())
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// noCredentialsError says why there is nothing to authenticate with.
func noCredentialsError(problems []string) error {
	msg := "no SSH credentials: no usable identity file and no ssh-agent (set SSH_AUTH_SOCK or pass an identity)"
	if len(problems) > 0 {
		msg += ": " + strings.Join(problems, "; ")
	}
	return errors.New(msg)
}

// isAuthError reports an authentication failure, which retrying cannot fix.
func isAuthError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "ssh: unable to authenticate")
}
