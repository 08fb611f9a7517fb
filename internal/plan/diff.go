package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/berth-sh/berth/internal/docker"
)

// specReasons explains, field by field, how the running container's stored
// spec differs from the desired one. Env values are never printed: plain env
// may hold things that are sensitive enough, and secret env holds secret names.
// Secrets are compared by their keyed digests and named, never shown.
func specReasons(old, want *docker.Spec) []string {
	var r []string
	if old.Image != want.Image {
		r = append(r, fmt.Sprintf("image changed (%s -> %s)", old.Image, want.Image))
	}
	if !slices.Equal(old.Command, want.Command) {
		r = append(r, "command changed")
	}
	r = append(r, mapReasons("env", old.Env, want.Env)...)
	r = append(r, mapReasons("secret_env", old.SecretEnv, want.SecretEnv)...)
	r = append(r, secretReasons(old.Secrets, want.Secrets)...)
	r = append(r, setReasons("port", old.Ports, want.Ports, shortPort)...)
	r = append(r, setReasons("volume", old.Volumes, want.Volumes, nil)...)
	r = append(r, setReasons("network", old.Networks, want.Networks, nil)...)
	if old.Restart != want.Restart {
		r = append(r, fmt.Sprintf("restart changed (%s -> %s)", old.Restart, want.Restart))
	}
	switch {
	case old.Health == nil && want.Health != nil:
		r = append(r, "health check added")
	case old.Health != nil && want.Health == nil:
		r = append(r, "health check removed")
	case old.Health != nil && (!slices.Equal(old.Health.Cmd, want.Health.Cmd) ||
		old.Health.Interval != want.Health.Interval || old.Health.Retries != want.Health.Retries):
		r = append(r, "health check changed")
	}
	return r
}

// secretReasons names the secrets whose value changed. A secret the
// container starts or stops using is already a secret_env change; a label
// from a berth that did not record digests says so once.
func secretReasons(old, want map[string]string) []string {
	if old == nil && len(want) > 0 {
		return []string{"secret values not recorded by the berth that made it"}
	}
	var r []string
	for _, k := range unionKeys(old, want) {
		o, inOld := old[k]
		w, inWant := want[k]
		if inOld && inWant && o != w {
			r = append(r, fmt.Sprintf("secret %s changed", k))
		}
	}
	return r
}

func mapReasons(what string, old, want map[string]string) []string {
	var r []string
	for _, k := range unionKeys(old, want) {
		o, inOld := old[k]
		w, inWant := want[k]
		switch {
		case !inOld:
			r = append(r, fmt.Sprintf("%s %s added", what, k))
		case !inWant:
			r = append(r, fmt.Sprintf("%s %s removed", what, k))
		case o != w:
			r = append(r, fmt.Sprintf("%s %s changed", what, k))
		}
	}
	return r
}

func setReasons(what string, old, want []string, show func(string) string) []string {
	if show == nil {
		show = func(s string) string { return s }
	}
	var r []string
	for _, o := range old {
		if !slices.Contains(want, o) {
			r = append(r, fmt.Sprintf("%s %s removed", what, show(o)))
		}
	}
	for _, w := range want {
		if !slices.Contains(old, w) {
			r = append(r, fmt.Sprintf("%s %s added", what, show(w)))
		}
	}
	return r
}

// shortPort drops the default protocol: "80:80/tcp" reads as the user wrote it.
func shortPort(p string) string { return strings.TrimSuffix(p, "/tcp") }

func unionKeys(a, b map[string]string) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// shortID shortens an image ID the way docker prints it: sha256: and 12 hex digits.
func shortID(id string) string {
	hex, hasPrefix := strings.CutPrefix(id, "sha256:")
	if len(hex) > 12 {
		hex = hex[:12]
	}
	if hasPrefix {
		return "sha256:" + hex
	}
	return hex
}
