package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"

	"github.com/berth-sh/berth/remote"
)

type envVar struct{ name, value string }

// captured is the environment a scheduled run needs from the one schedule
// was typed in: plain settings go into the unit, secrets only into a 0600
// file.
type captured struct {
	plain   []envVar
	secrets []envVar
}

// pathEnv says whether a variable holds a file name, made absolute for the unit.
func pathEnv(name string) bool {
	switch name {
	case "BERTH_CONFIG", "BERTH_BACKUP_IDENTITY", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE":
		return true
	}
	return false
}

// captureEnv keeps the variables that change what berth does: AWS_* (the
// SDK's region, profile, endpoints, credentials), BERTH_* and the proxy
// settings the SDK honours. Credentials and berth's secrets are set apart.
func captureEnv(environ []string, base string) (captured, error) {
	var c captured
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !capturedName(name) {
			continue
		}
		if err := noControl(value); err != nil {
			return c, usageError("schedule: $%s: %v", name, err)
		}
		if pathEnv(name) && value != "" {
			value = absPath(value, base, "")
		}
		if secretName(name) {
			c.secrets = append(c.secrets, envVar{name, value})
		} else {
			c.plain = append(c.plain, envVar{name, value})
		}
	}
	byName := func(vs []envVar) { sort.Slice(vs, func(i, j int) bool { return vs[i].name < vs[j].name }) }
	byName(c.plain)
	byName(c.secrets)
	return c, nil
}

func capturedName(name string) bool {
	switch strings.ToUpper(name) {
	case "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY":
		return true
	}
	return strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "BERTH_")
}

// secretName says whether a variable must never be written into a unit file,
// which any local user can read.
func secretName(name string) bool {
	switch name {
	case remote.PassphraseEnv, "BERTH_BACKUP_PASSPHRASE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN":
		return true
	}
	return strings.HasPrefix(name, "BERTH_SECRET_")
}

func secretNames(vs []envVar) string {
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

// writeEnvFile writes the secrets as KEY='value' lines, which both systemd's
// EnvironmentFile= and sh's "." read the same way, into a file only its
// owner can read.
func writeEnvFile(path string, vs []envVar) error {
	var b bytes.Buffer
	b.WriteString("# Written by berth schedule: secrets for scheduled deploys. Keep it mode 0600.\n")
	for _, v := range vs {
		if strings.ContainsAny(v.value, `'\`) {
			return usageError("schedule: $%s contains ' or \\, which an environment file cannot hold unambiguously for both systemd and sh", v.name)
		}
		fmt.Fprintf(&b, "%s='%s'\n", v.name, v.value)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".berth-env-*")
	if err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write env file: %w", err)
	}
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write env file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	return nil
}

// readEnvFile reads an existing environment file for --check, refusing one
// that others can read.
func readEnvFile(path string) ([]envVar, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, usageError("schedule --env-file: %v", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, usageError("schedule --env-file %s: mode %04o lets others read its secrets; chmod 600 it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	var vs []envVar
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, usageError("schedule --env-file %s: %q: want NAME=value", path, line)
		}
		if len(value) >= 2 && (value[0] == '\'' || value[0] == '"') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		vs = append(vs, envVar{strings.TrimSpace(name), value})
	}
	return vs, nil
}

// schedulingUser is who a system unit runs as: the user who typed the
// command, also when they typed it through sudo to write /etc/systemd.
func schedulingUser() (*user.User, error) {
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("find current user: %w", err)
	}
	if name := os.Getenv("SUDO_USER"); u.Uid == "0" && name != "" && name != "root" {
		if su, err := user.Lookup(name); err == nil {
			return su, nil
		}
	}
	return u, nil
}

// lookupEnv finds name in an environ list.
func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

// absPath makes a user-given path absolute against base, expanding ~/.
func absPath(p, base, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		p = home + p[1:]
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}
