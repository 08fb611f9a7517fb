package fakeconn

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/berth-sh/berth/remote"
)

// Kind is what a script sent on stdin does, as far as the fake knows.
type Kind string

// The scripts the fake can answer. Each comment says its positional args.
const (
	Observe   Kind = "observe"   // ROOT STACK MODE INFO STALE_SECS LEGACY N_PULL PULL... then docker.ObserveArgs
	Release   Kind = "release"   // DIR INFO: remove the lock when its info is INFO
	Heartbeat Kind = "heartbeat" // DIR INFO: touch the lock's info, exit 3 when it is not INFO
	Break     Kind = "break"     // DIR: remove the lock whoever holds it, and a leftover lock.break
	SwapOut   Kind = "swap-out"  // NAME BACKUP: remove BACKUP, rename NAME to BACKUP, stop it
	Rollback  Kind = "rollback"  // NAME BACKUP: remove NAME, rename BACKUP to NAME, start it
	Wait      Kind = "wait"      // NAME SECS [DOCKER ARGV...]: run the argv, then wait for NAME to be ready
	Forget    Kind = "forget"    // DIR: remove DIR's *.env and key, then DIR when empty
	// Batch is deploy's batchScript: DIR INFO OPERATION...; its steps are
	// calls of their own (see Conn.batch).
	Batch   Kind = "batch"
	Unknown Kind = "unknown" // a script not in Conn.Scripts: it fails with status 127
)

// Call is one command a Conn was sent.
type Call struct {
	Args   []string // the argv; for a script, "sh -s -- ARGS..."
	Script Kind     // the script on stdin; "" for a plain command
	Upload string   // the path written, for an upload (Args is nil)
}

// ScriptArgs are a script's positional args.
func (c Call) ScriptArgs() []string {
	if c.Script == "" || len(c.Args) < 3 {
		return nil
	}
	return c.Args[3:]
}

// String is the call in one line: "docker rm -f web", "rollback web web.berth-old",
// "upload /var/lib/berth/s/secrets.env".
func (c Call) String() string {
	switch {
	case c.Upload != "":
		return "upload " + c.Upload
	case c.Script != "":
		return strings.Join(append([]string{string(c.Script)}, c.ScriptArgs()...), " ")
	}
	return strings.Join(c.Args, " ")
}

// Conn is a remote.Conn to a Host. It also implements remote.Counter and
// remote.Dialer (through Host.Forward).
type Conn struct {
	H    *Host
	Name string // what Host returns; "" is "fake"
	// Scripts maps each script's exact text to its kind.
	Scripts map[string]Kind
	// Before, when set, runs before the model with the call; a non-nil error
	// is the command's answer and the model does not run it (a failure, or a
	// cancel that Before waited for).
	Before func(ctx context.Context, c Call) error
	// After, when set, runs once the model ran the call. When ctx is done by
	// then, the command fails as one the caller gave up on, its effect done.
	After func(ctx context.Context, c Call)

	mu    sync.Mutex
	calls []Call
	stats remote.Stats
}

var (
	_ remote.Conn    = (*Conn)(nil)
	_ remote.Counter = (*Conn)(nil)
	_ remote.Dialer  = (*Conn)(nil)
)

func (c *Conn) Host() string {
	if c.Name == "" {
		return "fake"
	}
	return c.Name
}

func (c *Conn) Close() error { return nil }

// Stats counts the commands and uploads sent, as SSH does.
func (c *Conn) Stats() remote.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Calls returns every call so far, in order.
func (c *Conn) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// Commands returns every call so far as its String.
func (c *Conn) Commands() []string {
	var s []string
	for _, call := range c.Calls() {
		s = append(s, call.String())
	}
	return s
}

func (c *Conn) record(call Call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
	if call.Upload != "" {
		c.stats.Uploads++
	} else {
		c.stats.Commands++
	}
}

// Run answers cmd from the model. Like SSH, a command is not sent on a
// context that is already done.
func (c *Conn) Run(ctx context.Context, cmd remote.Cmd) error {
	if len(cmd.Args) == 0 {
		return fmt.Errorf("fakeconn: empty argv")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("run %s: %w", cmd.Args[0], context.Cause(ctx))
	}
	call := Call{Args: slices.Clone(cmd.Args)}
	if slices.Equal(cmd.Args[:min(3, len(cmd.Args))], []string{"sh", "-s", "--"}) {
		stdin, err := c.readScript(cmd.Stdin)
		if err != nil {
			return fmt.Errorf("fakeconn: read stdin: %w", err)
		}
		kind, ok := c.Scripts[string(stdin)]
		if !ok {
			// Sent, but nothing here knows what it does.
			c.record(Call{Args: call.Args, Script: Unknown})
			return c.exit(cmd, 127, "fakeconn: no model for this script:\n"+firstLines(string(stdin), 3))
		}
		call.Script = kind
	}
	c.record(call)
	if call.Script == Batch {
		out := cmd.Stdout
		if out == nil {
			out = io.Discard
		}
		code, err := c.batch(ctx, call.ScriptArgs(), cmd.Stdin, out)
		if err != nil {
			return fmt.Errorf("run %s: %w", cmd.Args[0], err)
		}
		if code != 0 {
			return c.exit(cmd, code, "")
		}
		return nil
	}
	if c.Before != nil {
		if err := c.Before(ctx, call); err != nil {
			return err
		}
	}
	var out, errOut bytes.Buffer
	c.H.mu.Lock()
	code := c.H.exec(call, &out, &errOut)
	c.H.mu.Unlock()
	if cmd.Stdout != nil {
		if _, err := cmd.Stdout.Write(out.Bytes()); err != nil {
			return fmt.Errorf("run %s: %w", cmd.Args[0], err)
		}
	}
	if c.After != nil {
		c.After(ctx, call)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("run %s: %w", cmd.Args[0], context.Cause(ctx))
	}
	if code != 0 {
		return c.exit(cmd, code, errOut.String())
	}
	if cmd.Stderr != nil {
		cmd.Stderr.Write(errOut.Bytes()) //nolint:errcheck // as a remote's stderr stream
	}
	return nil
}

// readScript reads a script from stdin: all of it, or, for a Batch script,
// only the script, leaving the answers that follow it to the batch.
func (c *Conn) readScript(stdin io.Reader) ([]byte, error) {
	if stdin == nil {
		return nil, nil
	}
	var buf []byte
	chunk := make([]byte, 64*1024)
	for {
		n, err := stdin.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if c.Scripts[string(buf)] == Batch {
			return buf, nil
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (c *Conn) exit(cmd remote.Cmd, code int, stderr string) error {
	x := &remote.ExitError{Host: c.Host(), Args: cmd.Args, Code: code}
	if cmd.Stderr != nil {
		cmd.Stderr.Write([]byte(stderr)) //nolint:errcheck // as a remote's stderr stream
	} else {
		x.Stderr = stderr
	}
	return x
}

// Upload writes the file on the host; its directory must exist and be usable.
func (c *Conn) Upload(ctx context.Context, p string, data []byte, mode os.FileMode) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upload %s: %w", p, err)
	}
	call := Call{Upload: p}
	c.record(call)
	if c.Before != nil {
		if err := c.Before(ctx, call); err != nil {
			return err
		}
	}
	c.H.mu.Lock()
	_, dirOK := c.H.Dirs[path.Dir(p)]
	dirOK = dirOK && !c.H.Denied[path.Dir(p)]
	if dirOK {
		c.H.Files[p] = &File{Data: slices.Clone(data), ModTime: c.H.now()}
	}
	c.H.mu.Unlock()
	if c.After != nil {
		c.After(ctx, call)
	}
	if !dirOK {
		return fmt.Errorf("upload %s: no such directory, or permission denied", p)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("upload %s: %w", p, context.Cause(ctx))
	}
	return nil
}

// DialContext reaches the local address Host.Forward names for addr, while
// a running container publishes addr's port and its image is not Unready.
func (c *Conn) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c.H.mu.Lock()
	to, ok := c.H.Forward[addr]
	ok = ok && c.H.publishes(addr)
	c.H.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("dial %s %s: connection refused", network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, to)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
