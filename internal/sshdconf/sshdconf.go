// Package sshdconf writes the sshd_config that berth's tests and benchmarks
// run OpenSSH's sshd with: loopback only, key auth only, throwaway files,
// verbose enough to count connections and sessions from the log.
package sshdconf

import "strconv"

// Paths are the absolute files one sshd instance uses.
type Paths struct {
	HostKey        string
	AuthorizedKeys string
	PidFile        string
}

// Lines returns the config for an sshd on listen:port.
func Lines(listen string, port int, p Paths) []string {
	return []string{
		"Port " + strconv.Itoa(port),
		"ListenAddress " + listen,
		"HostKey " + p.HostKey,
		"AuthorizedKeysFile " + p.AuthorizedKeys,
		"PidFile " + p.PidFile,
		"StrictModes no",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"Subsystem sftp internal-sftp",
		// VERBOSE logs "Accepted publickey" per connection and "Starting
		// session" per command: what tests and benchmarks count.
		"LogLevel VERBOSE",
		// Fleets of many clients and many sessions per connection.
		"MaxStartups 200",
		"MaxSessions 100",
		"UseDNS no",
		"PrintMotd no",
		"AllowTcpForwarding yes",
	}
}
