package bootstrap

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Installer is how a distribution installs Docker from its own packages.
type Installer struct {
	OS      string // the system's own name for itself, e.g. "Debian GNU/Linux 12 (bookworm)"
	Manager string // apt, dnf or yum: the install script's branch
	Package string
}

// UnsupportedError is a system berth cannot install Docker on by itself.
type UnsupportedError struct {
	OS  string
	Why string // what the user should do instead
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("cannot install Docker on %s: %s", e.OS, e.Why)
}

// byHand is what any unsupported system's user needs to do.
const byHand = "install Docker Engine by hand (https://docs.docker.com/engine/install/), start it, " +
	"add the SSH user to the docker group, then run berth bootstrap again"

// Detect picks the installer for the system described by /etc/os-release.
func Detect(osRelease string) (Installer, error) {
	f := ParseOSRelease(osRelease)
	name := f["PRETTY_NAME"]
	if name == "" {
		name = strings.TrimSpace(f["NAME"] + " " + f["VERSION_ID"])
	}
	if name == "" {
		name = "an unknown system (no /etc/os-release)"
	}
	id := f["ID"]
	like := strings.Fields(f["ID_LIKE"])
	is := func(ids ...string) bool {
		return slices.Contains(ids, id) || slices.ContainsFunc(like, func(l string) bool { return slices.Contains(ids, l) })
	}
	switch {
	case id == "amzn" && f["VERSION_ID"] == "2":
		return Installer{OS: name, Manager: "yum", Package: "docker"}, nil
	case id == "amzn":
		return Installer{OS: name, Manager: "dnf", Package: "docker"}, nil
	case id == "fedora":
		// Fedora packages Docker Engine as moby-engine.
		return Installer{OS: name, Manager: "dnf", Package: "moby-engine"}, nil
	case is("rhel", "centos"):
		// Their own repositories carry Podman, and "dnf install docker" gets
		// podman-docker: a CLI shim with no daemon to start.
		return Installer{}, &UnsupportedError{OS: name, Why: "its own packages have no Docker Engine (only podman-docker); " +
			"add Docker's repository and install docker-ce (https://docs.docker.com/engine/install/rhel/), start it, " +
			"add the SSH user to the docker group, then run berth bootstrap again"}
	case is("debian", "ubuntu"):
		return Installer{OS: name, Manager: "apt", Package: "docker.io"}, nil
	}
	return Installer{}, &UnsupportedError{OS: name, Why: byHand}
}

// ParseOSRelease reads os-release(5) text: KEY=value lines, values optionally
// quoted, comments and blank lines ignored.
func ParseOSRelease(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil && strings.HasPrefix(v, `"`) {
			v = u
		} else if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[k] = v
	}
	return m
}
