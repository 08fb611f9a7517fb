// Package remote runs commands on a target host and uploads files to it.
//
// A Conn is the one small interface everything above this package uses; the
// SSH and local implementations share it. Optional capabilities (dialing
// through the connection, counting round trips) are separate interfaces that
// callers discover with a type assertion.
package remote

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Cmd is one command to run: an argv, never shell text. Implementations turn
// Args into shell text only through Quote.
type Cmd struct {
	Args   []string
	Stdin  io.Reader // nil: empty stdin
	Stdout io.Writer // nil: discarded
	Stderr io.Writer // nil: kept (its tail) in the ExitError
	// Timeout bounds this command, for those whose length the caller knows
	// (health waits). Zero: the connection's command timeout.
	Timeout time.Duration
}

// Conn is a connection to one host.
type Conn interface {
	// Host names the target in output, e.g. "deploy@10.0.0.5:22" or "local".
	Host() string
	// Run runs one command and waits for it. A non-zero exit is an *ExitError.
	Run(ctx context.Context, cmd Cmd) error
	// Upload writes data to path atomically (temp file, then rename) with mode.
	Upload(ctx context.Context, path string, data []byte, mode os.FileMode) error
	Close() error
}

// Dialer is implemented by connections that can open TCP connections from the
// remote host's point of view (SSH direct-tcpip, or plainly on the local host).
// Readiness probes use it so the host needs no curl.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Stats counts what users feel: connections opened and command round trips.
type Stats struct {
	Connections int // TCP (SSH) connections opened; 0 for local
	Commands    int // commands run (one session each over SSH)
	Uploads     int // files uploaded
}

// Add sums two counts, e.g. over the hosts of a run.
func (s Stats) Add(o Stats) Stats {
	return Stats{Connections: s.Connections + o.Connections, Commands: s.Commands + o.Commands, Uploads: s.Uploads + o.Uploads}
}

// RoundTrips is the number of request/response exchanges a run cost.
func (s Stats) RoundTrips() int { return s.Commands + s.Uploads }

// Counter is implemented by connections that count their round trips.
type Counter interface {
	Stats() Stats
}

// Addresser is implemented by connections that know the address they reached
// the host at, so DNS can publish exactly that instead of resolving names again.
type Addresser interface {
	// Addr is the IP address of the TCP connection to the host; through a
	// jump host, which resolves the name itself, it is the address (or name)
	// the last hop was asked for after the ssh config's HostName was applied.
	Addr() string
}

// ExitError is a command that ran and exited non-zero (or was killed).
type ExitError struct {
	Host   string
	Args   []string
	Code   int    // -1 when killed by a signal or the status is unknown
	Stderr string // tail of stderr when the caller did not stream it
}

func (e *ExitError) Error() string {
	name := "command"
	if len(e.Args) > 0 {
		name = e.Args[0]
	}
	msg := fmt.Sprintf("%s: %s exited with status %d", e.Host, name, e.Code)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Script runs a constant shell script sent on stdin, with data passed as
// positional arguments ($1, $2, ...), so no data is ever spliced into shell text.
func Script(ctx context.Context, c Conn, script string, stdout io.Writer, args ...string) error {
	return ScriptWithin(ctx, c, 0, script, stdout, args...)
}

// ScriptWithin is Script bounded by timeout instead of the connection's
// command timeout, for scripts that wait on purpose (health checks).
func ScriptWithin(ctx context.Context, c Conn, timeout time.Duration, script string, stdout io.Writer, args ...string) error {
	argv := append([]string{"sh", "-s", "--"}, args...)
	return c.Run(ctx, Cmd{Args: argv, Stdin: strings.NewReader(script), Stdout: stdout, Timeout: timeout})
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }
