package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// dnsTimeout bounds the DNS flip once it has started: past the point of no
// return it runs to its end even after Ctrl-C.
const dnsTimeout = 10 * time.Minute

// MoveOptions shape a move of a stack from one host to another.
type MoveOptions struct {
	Force          bool         // replace the contents of the destination's volumes that hold data
	DNS            *rollout.DNS // the record to point at the destination; nil: none
	DestroySource  bool         // remove the source's containers once DNS points at the destination
	DestroyVolumes bool         // and its volumes (and stored secrets) too
	// Deploy shapes the destination's deploy and both hosts' locks.
	Deploy deploy.Options
}

// MoveResult is what a move did.
type MoveResult struct {
	Volumes  []string
	Bytes    int64         // tar bytes streamed from source to destination
	Stopped  []string      // the source's containers stopped for the copy
	Downtime time.Duration // stop on the source until healthy on the destination
	DNS      *dns.Change   // nil without a record
	// SourceStopped lists every container left stopped on the source at the end.
	SourceStopped []string
	Destroyed     bool // the source's containers were removed
}

// MoveAbortedError says a move stopped before DNS pointed at the
// destination: the source serves again and DNS is as it was.
type MoveAbortedError struct {
	Source, Destination string
	Err                 error
	Restarted           bool // the source's stopped containers were started again
	InDNS               bool // the failure was the DNS change itself
}

func (e *MoveAbortedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "move aborted: %v; ", e.Err)
	if e.Restarted {
		fmt.Fprintf(&b, "the source %s was restarted and serves again", e.Source)
	} else {
		fmt.Fprintf(&b, "the source %s was not stopped and still serves", e.Source)
	}
	if e.InDNS {
		b.WriteString("; the DNS change failed: check the record, it may still name the source")
	} else {
		b.WriteString("; DNS was not changed")
	}
	fmt.Fprintf(&b, "; %s may keep a partial copy (run the move again with --force to replace it)", e.Destination)
	return b.String()
}

func (e *MoveAbortedError) Unwrap() error { return e.Err }

// moveSteps are the steps of a move on its two hosts and in DNS. runMove
// orders them; each knows only its own work, so the order can be tested
// with a fake.
type moveSteps interface {
	lock(ctx context.Context) error // both hosts' locks; refuse a destination with data
	stopSource(ctx context.Context) error
	copyVolumes(ctx context.Context) error
	deployDestination(ctx context.Context) error // returns once healthy
	pointDNS(ctx context.Context) error
	restartSource(ctx context.Context) error
	stopSourceStack(ctx context.Context) error
	destroySource(ctx context.Context) error
	unlock() // idempotent
}

// moveNames names the two hosts in errors.
type moveNames struct{ source, destination string }

// runMove runs a move's steps in their one safe order. DNS changes only once
// the destination is healthy; until then, any failure or cancellation
// starts the source again (if it was stopped) and leaves DNS alone. It
// returns the downtime: the source's stop until healthy on the destination.
func runMove(ctx context.Context, s moveSteps, names moveNames, destroy bool) (time.Duration, error) {
	defer s.unlock()
	if err := s.lock(ctx); err != nil {
		return 0, err // nothing was stopped, DNS untouched
	}
	stopped := false
	abort := func(err error, inDNS bool) error {
		e := &MoveAbortedError{Source: names.source, Destination: names.destination, Err: err, InDNS: inDNS}
		if stopped {
			// Even after Ctrl-C: the move must never be what takes a
			// site down.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restartTimeout)
			defer cancel()
			if rerr := s.restartSource(rctx); rerr != nil {
				return errors.Join(e, fmt.Errorf("restart the source %s: %w: it does not serve; run berth deploy there", names.source, rerr))
			}
			e.Restarted = true
		}
		return e
	}
	start := time.Now()
	stopped = true // a stop that failed half way stopped some
	if err := s.stopSource(ctx); err != nil {
		return 0, abort(err, false)
	}
	if err := s.copyVolumes(ctx); err != nil {
		return 0, abort(err, false)
	}
	if err := s.deployDestination(ctx); err != nil {
		return 0, abort(err, false)
	}
	downtime := time.Since(start)
	if err := ctx.Err(); err != nil {
		return downtime, abort(err, false)
	}
	// The point of no return: once started, the flip runs to its end.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dnsTimeout)
	err := s.pointDNS(dctx)
	cancel()
	if err != nil {
		return downtime, abort(err, true)
	}
	if err := s.stopSourceStack(context.WithoutCancel(ctx)); err != nil {
		return downtime, fmt.Errorf("moved, and DNS points at %s, but stopping the stack on the source %s failed: %w", names.destination, names.source, err)
	}
	if destroy {
		s.unlock() // destroy takes the source's lock itself
		if err := s.destroySource(ctx); err != nil {
			return downtime, fmt.Errorf("moved, and DNS points at %s, but destroying the stack on the source %s failed (its containers are stopped): %w", names.destination, names.source, err)
		}
	}
	return downtime, nil
}

// Move moves the stack from the host behind src to the host behind dst:
// each volume's tar streams from the source through berth straight into the
// destination's volume (nothing is staged on this machine's disk), the stack
// is deployed on the destination with the source's stored secrets (kept in
// memory only), DNS is pointed at the destination once it is healthy, and
// the stack's containers on the source are then stopped, not removed.
func Move(ctx context.Context, src, dst remote.Conn, srcPB, dstPB *playbooks.Playbook, opts MoveOptions) (*MoveResult, error) {
	stack, err := playbooks.Stack(opts.Deploy.Stack, srcPB)
	if err != nil {
		return nil, err
	}
	vols, err := Volumes(srcPB, nil)
	if err != nil {
		return nil, err
	}
	m := &mover{src: src, dst: dst, srcPB: srcPB, dstPB: dstPB, opts: opts, stack: stack,
		rep: reporterOf(opts.Deploy.Reporter), res: &MoveResult{Volumes: vols}}
	m.opts.Deploy.Stack = stack
	m.res.Downtime, err = runMove(ctx, m, moveNames{source: src.Host(), destination: dst.Host()}, opts.DestroySource)
	return m.res, err
}

// mover is a move's real steps over the two hosts' connections.
type mover struct {
	src, dst     remote.Conn
	srcPB, dstPB *playbooks.Playbook
	opts         MoveOptions
	stack        string
	rep          ui.Handler
	res          *MoveResult

	srcSt, dstSt           *deploy.State
	releaseSrc, releaseDst func()
}

func (m *mover) say(conn remote.Conn, format string, args ...any) {
	ui.Host{R: m.rep, Name: conn.Host()}.Progress(format, args...)
}

func (m *mover) lock(ctx context.Context) error {
	var err error
	m.srcSt, m.releaseSrc, err = deploy.Hold(ctx, m.src, m.srcPB, m.opts.Deploy)
	if err != nil {
		return err
	}
	for _, name := range m.res.Volumes {
		v, ok := m.srcSt.Docker.Volumes[name]
		if !ok {
			return fmt.Errorf("move volume %s from %s: it does not exist there", name, m.src.Host())
		}
		if owner := v.Labels[docker.LabelStack]; owner != m.stack {
			return fmt.Errorf("move volume %s from %s: it belongs to stack %q, not %q", name, m.src.Host(), owner, m.stack)
		}
	}
	if !m.srcSt.Serving(m.srcPB, m.opts.Deploy) {
		ui.Host{R: m.rep, Name: m.src.Host()}.Warn("the stack does not serve healthy here; moving what its volumes hold")
	}
	// The secrets the data was initialised with: in memory, never on disk.
	m.opts.Deploy.Redactor.Add(slices.Collect(maps.Values(m.srcSt.Secrets))...)
	m.dstSt, m.releaseDst, err = deploy.Hold(ctx, m.dst, m.dstPB, m.opts.Deploy)
	if err != nil {
		return err
	}
	return checkTarget(ctx, m.dst, m.dstSt, m.stack, m.res.Volumes, m.opts.Force)
}

func (m *mover) unlock() {
	for _, r := range []*func(){&m.releaseDst, &m.releaseSrc} {
		if *r != nil {
			(*r)()
			*r = nil
		}
	}
}

func (m *mover) stopSource(ctx context.Context) error {
	m.res.Stopped = consumers(m.srcSt, m.srcPB, m.stack, m.res.Volumes)
	if len(m.res.Stopped) > 0 {
		m.say(m.src, "stop %s for the move (downtime starts)", strings.Join(m.res.Stopped, ", "))
	}
	return stopAll(ctx, m.src, m.res.Stopped)
}

func (m *mover) restartSource(ctx context.Context) error {
	if len(m.res.Stopped) == 0 {
		return nil
	}
	m.say(m.src, "start %s again", strings.Join(m.res.Stopped, ", "))
	return startAll(ctx, m.src, m.rep, m.srcPB, m.res.Stopped)
}

func (m *mover) copyVolumes(ctx context.Context) error {
	mode := "fresh"
	if m.opts.Force {
		mode = "force"
	}
	// With --force the destination may run the stack: its volumes must not
	// change under running containers (deploy starts them again).
	if busy := consumers(m.dstSt, m.dstPB, m.stack, m.res.Volumes); len(busy) > 0 {
		m.say(m.dst, "stop %s to replace their volumes", strings.Join(busy, ", "))
		if err := stopAll(ctx, m.dst, busy); err != nil {
			return err
		}
	}
	for _, name := range m.res.Volumes {
		m.say(m.dst, "copy volume %s from %s", name, m.src.Host())
		n, err := streamVolume(ctx, m.src, m.dst, name, m.srcSt.Docker.Volumes[name].Mountpoint, m.stack, mode)
		m.res.Bytes += n
		if err != nil {
			return err
		}
	}
	return nil
}

// streamVolume pipes the source's tar of one volume into the destination's
// extract, both commands running at once: the volume crosses this machine
// as a stream, never as a file.
func streamVolume(ctx context.Context, src, dst remote.Conn, vol, mountpoint, stack, mode string) (int64, error) {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	tarred := &counter{w: pw}
	srcDone := make(chan error, 1)
	go func() {
		err := remote.Script(ctx, src, archiveScript, tarred, mountpoint)
		if err != nil {
			err = fmt.Errorf("archive volume %s on %s: %w", vol, src.Host(), err)
			cancel() // the destination stops reading a stream that will not end well
		}
		pw.CloseWithError(err) // nil: the reader sees EOF
		srcDone <- err
	}()
	dstErr := extractInto(ctx, dst, pr, vol, stack, mode)
	if dstErr == nil {
		// tar stops at its end marker: take the padding after it too, so
		// the source ends cleanly.
		_, dstErr = io.Copy(io.Discard, pr)
	}
	pr.CloseWithError(errDestinationStopped)
	if dstErr != nil {
		cancel()
	}
	srcErr := <-srcDone
	switch {
	case srcErr == nil:
		return tarred.n, dstErr
	case dstErr != nil && parent.Err() == nil && (errors.Is(srcErr, errDestinationStopped) || errors.Is(srcErr, context.Canceled)):
		return tarred.n, dstErr // the destination failed first: the source only stopped for it
	}
	return tarred.n, srcErr // the cause; the destination's error follows from it
}

// errDestinationStopped ends a source's stream whose destination failed.
var errDestinationStopped = errors.New("the destination stopped reading")

func (m *mover) deployDestination(ctx context.Context) error {
	// The lock is handed to deploy, as restore does.
	m.releaseDst()
	m.releaseDst = nil
	dopts := m.opts.Deploy
	dopts.LookupEnv = secretsFirst(m.srcSt.Secrets, dopts.LookupEnv)
	m.say(m.dst, "deploy the moved stack")
	_, err := deploy.Deploy(ctx, m.dst, m.dstPB, dopts)
	return err
}

func (m *mover) pointDNS(ctx context.Context) error {
	if m.opts.DNS == nil {
		m.say(m.dst, "no DNS record to point here (no --domain and no dns.name in the playbook)")
		return nil
	}
	var err error
	m.res.DNS, err = rollout.PointAt(ctx, *m.opts.DNS, m.dst, m.rep)
	return err
}

func (m *mover) stopSourceStack(ctx context.Context) error {
	running := stackContainers(m.srcSt, m.srcPB, m.stack, func(*docker.ContainerState) bool { return true })
	var rest []string
	for _, n := range running {
		if !slices.Contains(m.res.Stopped, n) {
			rest = append(rest, n)
		}
	}
	m.res.SourceStopped = append(slices.Clone(m.res.Stopped), rest...)
	if len(rest) > 0 {
		m.say(m.src, "stop %s (kept, not removed)", strings.Join(rest, ", "))
	}
	return stopAll(ctx, m.src, rest)
}

func (m *mover) destroySource(ctx context.Context) error {
	m.say(m.src, "destroy the stack here (volumes too: %t)", m.opts.DestroyVolumes)
	_, err := deploy.Destroy(ctx, m.src, m.srcPB, m.opts.DestroyVolumes, m.opts.Deploy)
	if err == nil {
		m.res.Destroyed = true
	}
	return err
}
