package docker

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// The builders below return argv, never shell text: the caller quotes once,
// with remote.Quote, at the connection boundary. Names were validated by
// playbooks, so none starts with "-" and none can be taken for a flag.

// VolumeCreateArgs creates a named volume labelled with the stack.
func VolumeCreateArgs(stack string, v playbooks.Volume) []string {
	return []string{"docker", "volume", "create", "--label", LabelStack + "=" + stack, v.Name}
}

// NetworkCreateArgs creates a network labelled with the stack.
func NetworkCreateArgs(stack string, n playbooks.Network) []string {
	args := []string{"docker", "network", "create"}
	if n.Driver != "" { // playbooks.Parse fills in DefaultNetworkDriver
		args = append(args, "--driver", n.Driver)
	}
	return append(args, "--label", LabelStack+"="+stack, n.Name)
}

// RunArgs starts container c detached, on its first network (the others are
// joined with NetworkConnectArgs). Plain env goes on argv; secret env must be
// in envFile, which the caller uploads before running this; digests (see
// NewSpec) enter the spec label.
func RunArgs(stack string, c playbooks.Container, envFile string, digests map[string]string) ([]string, error) {
	spec, err := NewSpec(c, digests)
	if err != nil {
		return nil, err
	}
	js, err := spec.Encode()
	if err != nil {
		return nil, err
	}
	args := []string{"docker", "run", "-d", "--name", c.Name,
		"--label", LabelStack + "=" + stack,
		"--label", LabelHash + "=" + HashBytes(js),
		"--label", LabelSpec + "=" + string(js),
	}
	if len(c.Networks) > 0 {
		args = append(args, "--network", c.Networks[0])
	}
	if c.Restart != "" {
		args = append(args, "--restart", c.Restart)
	}
	for _, p := range c.Ports {
		args = append(args, "-p", p)
	}
	for _, v := range c.Volumes {
		args = append(args, "-v", v)
	}
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		args = append(args, "-e", k+"="+c.Env[k])
	}
	if envFile != "" {
		args = append(args, "--env-file", envFile)
	}
	if h := c.Health; h != nil && len(h.Cmd) > 0 {
		// --health-cmd is run by the container's /bin/sh -c: quote it like any shell text.
		cmd, err := remote.Quote(h.Cmd)
		if err != nil {
			return nil, fmt.Errorf("quote health cmd of %s: %w", c.Name, err)
		}
		args = append(args, "--health-cmd", cmd)
		if h.Interval > 0 {
			args = append(args, "--health-interval", h.Interval.String())
		}
		if h.Retries > 0 {
			args = append(args, "--health-retries", strconv.Itoa(h.Retries))
		}
	}
	args = append(args, c.Image)
	return append(args, c.Command...), nil
}

// NetworkConnectArgs joins a running container to one more network.
func NetworkConnectArgs(network, container string) []string {
	return []string{"docker", "network", "connect", network, container}
}

// RemoveArgs force-removes a container (stopping it first).
func RemoveArgs(container string) []string { return []string{"docker", "rm", "-f", container} }

// StartArgs starts a stopped container.
func StartArgs(container string) []string { return []string{"docker", "start", container} }

// NetworkRemoveArgs removes a network.
func NetworkRemoveArgs(network string) []string { return []string{"docker", "network", "rm", network} }

// VolumeRemoveArgs removes a volume and its data.
func VolumeRemoveArgs(volume string) []string { return []string{"docker", "volume", "rm", volume} }
