// Package bootstrap makes a fresh host ready for berth: Docker installed from
// the distribution's own packages, its service enabled and running, the SSH
// user in the docker group, and berth's host-wide state directory in place.
// A host that is ready already costs one round trip and changes nothing.
package bootstrap
