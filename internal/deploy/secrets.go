package deploy

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
)

// The secrets file on the host holds NAME=value lines (0660, root:docker).
// Values are generated as URL-safe base64, so they never need quoting in an
// env file; values given by the user are checked to fit one line of it.

func parseSecrets(b []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if ok && name != "" {
			m[name] = value
		}
	}
	return m
}

// checkSecretValue says why v cannot be a secret value: it must be one line
// of an env file, and Docker refuses env files that are not UTF-8. The error
// never contains the value.
func checkSecretValue(v string) error {
	switch {
	case !utf8.ValidString(v):
		return errors.New("not valid UTF-8")
	case strings.ContainsAny(v, "\x00\r\n"):
		return errors.New("contains a NUL, CR or LF")
	}
	return nil
}

// SecretsMissingError refuses to generate secrets for data that exists: the
// volumes were initialised with values berth no longer has.
type SecretsMissingError struct {
	Host    string
	Dir     string
	Names   []string
	Volumes []string
}

func (e *SecretsMissingError) Error() string {
	var env []string
	for _, n := range e.Names {
		env = append(env, "BERTH_SECRET_"+strings.ToUpper(n))
	}
	return fmt.Sprintf("%s: volumes %s already exist but no stored value of secret %s was found in %s: "+
		"new random values would not match the data. Give the values the data was set up with "+
		"(%s=...), or restore %s/secrets.env from a backup; --new-secrets generates new ones anyway",
		e.Host, strings.Join(e.Volumes, ", "), strings.Join(e.Names, ", "), e.Dir, strings.Join(env, "=..., "), e.Dir)
}

// secretSet is every secret a deploy uses, and what must be stored.
type secretSet struct {
	values  map[string]string // by name; stored ones the playbook no longer declares stay
	digests map[string]string // keyed digests of the declared ones, for container specs
	store   bool              // the host's file must be (re)written
}

type secretInputs struct {
	host       string
	stack      string
	lookupEnv  func(string) (string, bool)
	newSecrets bool   // generate missing secrets even when volumes exist
	key        []byte // digest key; nil: a throwaway one (nothing stored yet)
}

// resolveSecrets returns the value of every secret the playbook declares:
// BERTH_SECRET_<NAME> from the environment wins, then the value stored on the
// host, else a fresh random one, unless the stack's volumes already exist.
func resolveSecrets(pb *playbooks.Playbook, st *State, in secretInputs) (*secretSet, error) {
	ss := &secretSet{values: map[string]string{}, digests: map[string]string{}}
	for name, v := range st.Secrets {
		ss.values[name] = v
	}
	var missing []string
	for _, name := range pb.Secrets {
		env := "BERTH_SECRET_" + strings.ToUpper(name)
		if v, ok := in.lookupEnv(env); ok && v != "" {
			if err := checkSecretValue(v); err != nil {
				return nil, fmt.Errorf("secret %s from %s: %w", name, env, err)
			}
			if ss.values[name] != v {
				ss.values[name] = v
				ss.store = true
			}
			continue
		}
		if v, ok := ss.values[name]; ok {
			if err := checkSecretValue(v); err != nil {
				return nil, fmt.Errorf("%s: stored secret %s in %s: %w; set %s or fix the file", in.host, name, st.Dir, err, env)
			}
			continue
		}
		missing = append(missing, name)
	}
	if len(missing) > 0 && !in.newSecrets {
		if vols := existingVolumes(pb, st, in.stack); len(vols) > 0 {
			return nil, &SecretsMissingError{Host: in.host, Dir: st.Dir, Names: missing, Volumes: vols}
		}
	}
	for _, name := range missing {
		v, err := generateSecret()
		if err != nil {
			return nil, fmt.Errorf("generate secret %s: %w", name, err)
		}
		ss.values[name] = v
		ss.store = true
	}
	key := in.key
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("make a digest key: %w", err)
		}
	}
	for _, name := range pb.Secrets {
		ss.digests[name] = docker.SecretDigest(key, name, ss.values[name])
	}
	return ss, nil
}

// existingVolumes are the playbook's volumes found on the host that may hold
// this stack's data: labelled with the stack, or with no stack at all. A
// volume of another stack is not this stack's data (and not berth's to use).
func existingVolumes(pb *playbooks.Playbook, st *State, stack string) []string {
	var names []string
	for _, v := range pb.Volumes {
		got, ok := st.Docker.Volumes[v.Name]
		if !ok {
			continue
		}
		if owner := got.Labels[docker.LabelStack]; owner == "" || owner == stack {
			names = append(names, v.Name)
		}
	}
	return names
}

func generateSecret() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// envFile is the --env-file content for one container: its secret_env only.
func envFile(c *playbooks.Container, secrets map[string]string) []byte {
	if len(c.SecretEnv) == 0 {
		return nil
	}
	m := make(map[string]string, len(c.SecretEnv))
	for env, secret := range c.SecretEnv {
		m[env] = secrets[secret]
	}
	return docker.EnvFile(m)
}
