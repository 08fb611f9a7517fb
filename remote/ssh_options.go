package remote

import (
	"fmt"
	"io"
	"os"
	"time"
)

// HostKeyPolicy says what to do with a host key that known_hosts does not vouch for.
type HostKeyPolicy string

const (
	// HostKeyStrict refuses unknown and changed host keys (the default).
	HostKeyStrict HostKeyPolicy = "strict"
	// HostKeyAcceptNew trusts an unknown host on first use and records its key
	// in known_hosts; a changed key is still refused.
	HostKeyAcceptNew HostKeyPolicy = "accept-new"
	// HostKeyInsecureIgnore verifies nothing. The name is long on purpose.
	HostKeyInsecureIgnore HostKeyPolicy = "insecure-ignore-host-key"
)

// ParseHostKeyPolicy checks a policy name as given on the command line.
func ParseHostKeyPolicy(s string) (HostKeyPolicy, error) {
	switch p := HostKeyPolicy(s); p {
	case "":
		return HostKeyStrict, nil
	case HostKeyStrict, HostKeyAcceptNew, HostKeyInsecureIgnore:
		return p, nil
	}
	return "", fmt.Errorf("parse host key policy %q: want %s, %s or %s", s, HostKeyStrict, HostKeyAcceptNew, HostKeyInsecureIgnore)
}

// PassphraseEnv names the environment variable read for key passphrases when
// SSHOptions.Passphrase is nil.
const PassphraseEnv = "BERTH_SSH_PASSPHRASE"

// SSHOptions configures DialSSH. The zero value is usable: it behaves like
// OpenSSH's client with StrictHostKeyChecking=yes.
type SSHOptions struct {
	User string // default: the target's user@, then ssh config User, then the local user
	Port int    // default: the target's :port, then ssh config Port, then 22

	// Identities are private key files to offer. Empty: the ssh config's
	// IdentityFile for the host, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist.
	Identities []string
	// AgentSocket is the ssh-agent socket. Empty: $SSH_AUTH_SOCK; "none": no agent.
	AgentSocket string
	// Passphrase returns the passphrase of an encrypted key file. Nil: the
	// value of $BERTH_SSH_PASSPHRASE when set, else encrypted keys are skipped.
	Passphrase func(keyFile string) ([]byte, error)

	// KnownHostsFile defaults to ~/.ssh/known_hosts.
	KnownHostsFile string
	HostKeyPolicy  HostKeyPolicy // default HostKeyStrict

	// SSHConfigFile defaults to ~/.ssh/config (used when it exists); "none" disables it.
	SSHConfigFile string
	// Jump is a comma-separated list of [user@]host[:port] hops, like ssh -J.
	// Empty: the ssh config's ProxyJump for the host; "none": direct.
	Jump string

	ConnectTimeout time.Duration // total time to keep retrying the connection; default 30s
	Keepalive      time.Duration // keepalive@openssh.com interval; default 15s, negative disables
	// CommandTimeout bounds each remote command (and each SFTP upload) that
	// sets no Timeout of its own; default DefaultCommandTimeout.
	CommandTimeout time.Duration

	Sudo bool // run commands as "sudo -n -- argv..."

	// Warn receives warnings (e.g. host keys not verified). Default os.Stderr.
	Warn io.Writer
	// HomeDir is where "~" points for the default files above; default $HOME.
	// Tests set it to keep the user's own keys and config out.
	HomeDir string
}

const (
	defaultConnectTimeout = 30 * time.Second
	defaultKeepalive      = 15 * time.Second
	// maxSessions stays under OpenSSH's default MaxSessions (10), leaving room for SFTP.
	maxSessions = 8
)

// withDefaults returns a copy with every default filled in.
func (o SSHOptions) withDefaults() (SSHOptions, error) {
	if o.HomeDir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return o, fmt.Errorf("find home directory: %w", err)
		}
		o.HomeDir = h
	}
	p, err := ParseHostKeyPolicy(string(o.HostKeyPolicy))
	if err != nil {
		return o, err
	}
	o.HostKeyPolicy = p
	if o.KnownHostsFile == "" {
		o.KnownHostsFile = o.HomeDir + "/.ssh/known_hosts"
	}
	if o.SSHConfigFile == "" {
		o.SSHConfigFile = o.HomeDir + "/.ssh/config"
	}
	if o.AgentSocket == "" {
		o.AgentSocket = os.Getenv("SSH_AUTH_SOCK")
	}
	if o.Passphrase == nil {
		o.Passphrase = envPassphrase
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = defaultConnectTimeout
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	if o.Keepalive == 0 {
		o.Keepalive = defaultKeepalive
	}
	if o.Warn == nil {
		o.Warn = os.Stderr
	}
	return o, nil
}

// envPassphrase reads the passphrase from $BERTH_SSH_PASSPHRASE; an empty
// result means "no passphrase source".
func envPassphrase(string) ([]byte, error) {
	return []byte(os.Getenv(PassphraseEnv)), nil
}
