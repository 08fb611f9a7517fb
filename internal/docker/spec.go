// Package docker turns desired objects into docker CLI argv and `docker
// inspect` output into observed objects. It runs nothing itself.
package docker

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/berth-sh/berth/playbooks"
)

// Labels berth puts on what it creates.
const (
	LabelStack = "berth.stack" // the stack (playbook name) an object belongs to
	LabelHash  = "berth.hash"  // sha256 of the canonical spec: same hash, same container
	LabelSpec  = "berth.spec"  // the canonical spec itself, so a plan can say what changed
)

// Spec is the canonical form of everything that defines a container. Field
// order is alphabetical and lists are sorted where order has no meaning, so
// equal containers always encode to equal bytes. Secret env maps to secret
// NAMES: values never reach a label. Secrets holds, per secret the container
// uses, a keyed digest of its value (see SecretDigest), so that a rotated
// secret changes the hash of every container that uses it.
type Spec struct {
	Command   []string          `json:"command,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Health    *HealthSpec       `json:"health,omitempty"`
	Image     string            `json:"image"`
	Networks  []string          `json:"networks,omitempty"`
	Ports     []string          `json:"ports,omitempty"`
	Restart   string            `json:"restart"`
	SecretEnv map[string]string `json:"secret_env,omitempty"`
	Secrets   map[string]string `json:"secrets,omitempty"`
	Volumes   []string          `json:"volumes,omitempty"`
}

// HealthSpec is the canonical health check; the interval is a Go duration string.
type HealthSpec struct {
	Cmd      []string `json:"cmd"`
	Interval string   `json:"interval"`
	Retries  int      `json:"retries"`
}

// NewSpec builds the canonical spec of c. Ports and volumes are rewritten to
// their canonical text, so "80:80" and "80:80/tcp" are the same container.
// digests maps secret names to SecretDigest of their values; only the
// secrets c uses enter its spec.
func NewSpec(c playbooks.Container, digests map[string]string) (*Spec, error) {
	s := &Spec{Image: c.Image, Restart: c.Restart}
	if s.Restart == "" {
		s.Restart = "no"
	}
	if len(c.Command) > 0 {
		s.Command = slices.Clone(c.Command)
	}
	if len(c.Env) > 0 {
		s.Env = c.Env
	}
	if len(c.SecretEnv) > 0 {
		s.SecretEnv = c.SecretEnv
		s.Secrets = make(map[string]string, len(c.SecretEnv))
		for _, name := range c.SecretEnv {
			s.Secrets[name] = digests[name]
		}
	}
	s.Networks = sortedSet(c.Networks)
	for _, p := range c.Ports {
		port, err := playbooks.ParsePort(p)
		if err != nil {
			return nil, fmt.Errorf("canonicalize container %s: %w", c.Name, err)
		}
		s.Ports = append(s.Ports, port.String())
	}
	s.Ports = sortedSet(s.Ports)
	for _, v := range c.Volumes {
		m, err := playbooks.ParseMount(v)
		if err != nil {
			return nil, fmt.Errorf("canonicalize container %s: %w", c.Name, err)
		}
		s.Volumes = append(s.Volumes, m.String())
	}
	s.Volumes = sortedSet(s.Volumes)
	if h := c.Health; h != nil {
		s.Health = &HealthSpec{Cmd: slices.Clone(h.Cmd), Interval: h.Interval.String(), Retries: h.Retries}
	}
	return s, nil
}

// Encode returns the canonical JSON: encoding/json sorts map keys, and HTML
// escaping is off so the label stays readable in `docker inspect`.
func (s *Spec) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// DecodeSpec reads a berth.spec label back.
func DecodeSpec(label string) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal([]byte(label), &s); err != nil {
		return nil, fmt.Errorf("decode spec label: %w", err)
	}
	return &s, nil
}

// SecretDigest is the keyed digest of one secret's value that a spec
// carries: HMAC-SHA256 under a random key kept on the host, never a plain
// hash, so a label cannot be used to guess a password offline. The name is
// part of the message: equal values of two secrets do not show as equal.
func SecretDigest(key []byte, name, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// HashBytes hashes an encoded spec.
func HashBytes(spec []byte) string {
	sum := sha256.Sum256(spec)
	return hex.EncodeToString(sum[:])
}

func sortedSet(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
