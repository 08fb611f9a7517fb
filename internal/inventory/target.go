// Package inventory turns flags, config and EC2 discovery into the targets a
// run works on.
package inventory

import (
	"net"
	"strconv"
	"strings"
)

// Target is one host to deploy to.
type Target struct {
	Name      string // display name: the EC2 Name tag, the instance id, or the address
	ID        string // EC2 instance id, empty for --host targets
	User      string // SSH user; empty means the SSH default
	Addr      string // host name or IP to connect to
	Port      int    // SSH port; 0 means the SSH default
	PublicIP  string
	PrivateIP string
	State     string            // EC2 instance state
	ImageID   string            // the AMI an EC2 instance was launched from
	Vars      map[string]string // per-host playbook vars (EC2 tags berth:var:KEY)
}

// SSHTarget is the destination in [user@]addr[:port] form, with an IPv6
// address bracketed when a port follows it.
func (t Target) SSHTarget() string {
	var b strings.Builder
	if t.User != "" {
		b.WriteString(t.User)
		b.WriteByte('@')
	}
	if t.Port != 0 {
		b.WriteString(net.JoinHostPort(t.Addr, strconv.Itoa(t.Port)))
	} else {
		b.WriteString(t.Addr)
	}
	return b.String()
}

// String names the target for people: "name (user@addr:port)", or just the
// SSH destination when the name adds nothing.
func (t Target) String() string {
	dest := t.SSHTarget()
	switch {
	case t.Addr == "":
		return t.Name
	case t.Name == "" || t.Name == t.Addr:
		return dest
	}
	return t.Name + " (" + dest + ")"
}
