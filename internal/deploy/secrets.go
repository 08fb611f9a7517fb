package deploy

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/berth-sh/berth/playbooks"
)

// The secrets file on the host holds NAME=value lines (0600). Values are
// generated as URL-safe base64, so they never need quoting in an env file.

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

func formatEnv(m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	return []byte(b.String())
}

// resolveSecrets returns the value of every secret the playbook declares:
// BERTH_SECRET_<NAME> from the environment wins, then the value stored on the
// host, else a fresh random one. changed says whether the host's file must be
// rewritten.
func resolveSecrets(pb *playbooks.Playbook, stored map[string]string, lookupEnv func(string) (string, bool)) (values map[string]string, changed bool, err error) {
	values = map[string]string{}
	for name, v := range stored {
		values[name] = v
	}
	for _, name := range pb.Secrets {
		if v, ok := lookupEnv("BERTH_SECRET_" + strings.ToUpper(name)); ok && v != "" {
			if strings.ContainsAny(v, "\n\r\x00") {
				return nil, false, fmt.Errorf("secret %s: BERTH_SECRET_%s contains a newline or NUL", name, strings.ToUpper(name))
			}
			if values[name] != v {
				values[name] = v
				changed = true
			}
			continue
		}
		if _, ok := values[name]; ok {
			continue
		}
		v, err := generateSecret()
		if err != nil {
			return nil, false, fmt.Errorf("generate secret %s: %w", name, err)
		}
		values[name] = v
		changed = true
	}
	return values, changed, nil
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
	return formatEnv(m)
}
