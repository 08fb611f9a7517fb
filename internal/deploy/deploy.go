// Package deploy converges one host: lock, observe (one round trip), plan,
// apply, wait until healthy, unlock.
package deploy

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// Options shape one host's deploy.
type Options struct {
	Stack     string // defaults to the playbook's name
	StateDir  string // on the host; "" means $HOME/.berth
	DryRun    bool   // stop after the plan
	Pull      bool   // pull every image first; recreate what got a new image ID
	LockWait  time.Duration
	LockStale time.Duration // a held lock older than this is reported as stale
	Version   string        // berth's, recorded in the lock
	LookupEnv func(string) (string, bool)
	Reporter  ui.Reporter
	// Adopt takes over objects with the playbook's names that carry no berth
	// label; see plan.Adopt.
	Adopt bool

	// afterStep, when set (by this package's tests), is called after each
	// step of a container swap, with the step's name.
	afterStep func(step string)
}

func (o Options) stack(pb *playbooks.Playbook) (string, error) {
	return playbooks.Stack(o.Stack, pb)
}

func (o Options) lookupEnv() func(string) (string, bool) {
	if o.LookupEnv != nil {
		return o.LookupEnv
	}
	return os.LookupEnv
}

// Result is one host's outcome.
type Result struct {
	Host     string
	Plan     *plan.Plan
	Applied  int
	Stats    remote.Stats
	Duration time.Duration
}

// finish records how long a run took and what it cost in round trips.
func (r *Result) finish(conn remote.Conn, start time.Time) {
	r.Duration = time.Since(start)
	if c, ok := conn.(remote.Counter); ok {
		r.Stats = c.Stats()
	}
}

// Deploy converges the playbook's stack on the host behind conn.
//
// A run with nothing to change costs one round trip: it observes without the
// lock, finds nothing to do and stops. A run with changes takes the lock and
// observes again in one more round trip (someone may have changed the host in
// between), then applies.
func Deploy(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, opts Options) (*Result, error) {
	start := time.Now()
	rep := ui.Host{R: reporter(opts), Name: conn.Host()}
	res := &Result{Host: conn.Host()}
	defer res.finish(conn, start)
	stack, err := opts.stack(pb)
	if err != nil {
		return res, err
	}
	popts := plan.Options{Adopt: opts.Adopt}

	req := observeRequest{stateDir: opts.StateDir, stack: stack}
	if opts.Pull {
		req.pull = images(pb)
	}
	st, err := observe(ctx, conn, pb, req)
	if err != nil {
		return res, err
	}
	if err := checkObserved(st, rep); err != nil {
		return res, err
	}
	res.Plan = plan.Compute(stack, pb, st.Docker, popts)
	if opts.DryRun || res.Plan.Err() != nil {
		reportPlan(rep, res.Plan)
		return res, res.Plan.Err()
	}
	if res.Plan.InSync() && !st.Lock.Held {
		return res, nil
	}

	// Changes ahead: take the lock and look again under it.
	info := lockInfo(opts.Version, time.Now())
	req.take, req.lockInfo, req.pull = true, info, nil
	st, err = takeLock(ctx, conn, pb, req, opts, rep)
	if err != nil {
		return res, err
	}
	defer func() {
		if err := releaseLock(ctx, conn, st.Dir, info); err != nil {
			rep.Warn("%v", err)
		}
	}()
	res.Plan = plan.Compute(stack, pb, st.Docker, popts)
	if err := res.Plan.Err(); err != nil {
		reportPlan(rep, res.Plan)
		return res, err
	}
	if len(res.Plan.Leftovers) > 0 {
		// An interrupted run left backups: settle them, then look again.
		if err := settleLeftovers(ctx, conn, st, res.Plan.Leftovers, rep); err != nil {
			return res, err
		}
		req.take = false
		if st, err = observe(ctx, conn, pb, req); err != nil {
			return res, err
		}
		res.Plan = plan.Compute(stack, pb, st.Docker, popts)
	}
	if res.Plan.InSync() {
		return res, nil
	}
	reportPlan(rep, res.Plan)

	secrets, changed, err := resolveSecrets(pb, st.Secrets, opts.lookupEnv())
	if err != nil {
		return res, err
	}
	if changed {
		if err := conn.Upload(ctx, st.Dir+"/secrets.env", formatEnv(secrets), 0o600); err != nil {
			return res, fmt.Errorf("store secrets: %w", err)
		}
	}
	a := &applier{conn: conn, stack: stack, dir: st.Dir, secrets: secrets, rep: rep, afterStep: opts.afterStep}
	res.Applied, err = a.apply(ctx, res.Plan)
	return res, err
}

// takeLock acquires the deploy lock in the observe round trip, waiting up to
// LockWait for another run to finish.
func takeLock(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, req observeRequest, opts Options, rep ui.Host) (*State, error) {
	deadline := time.Now().Add(opts.LockWait)
	delay := time.Second
	for {
		st, err := observe(ctx, conn, pb, req)
		if err != nil {
			return nil, err
		}
		if err := checkObserved(st, rep); err != nil {
			return nil, err
		}
		if st.Lock.Acquired {
			return st, nil
		}
		held := &LockHeldError{Host: conn.Host(), Holder: st.Lock.Holder, Age: st.Lock.Age,
			Stale: opts.LockStale > 0 && st.Lock.Age > opts.LockStale}
		if held.Stale || time.Now().Add(delay).After(deadline) {
			return nil, held
		}
		rep.Progress("waiting for the deploy lock held by %s", held.Holder)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for deploy lock: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// checkObserved turns what the host said about Docker and pulls into errors.
func checkObserved(st *State, rep ui.Host) error {
	if st.Docker.Err != nil {
		return fmt.Errorf("%s: %w", rep.Name, st.Docker.Err)
	}
	for _, line := range st.Pulled {
		if strings.HasPrefix(line, "failed ") {
			ref, msg, _ := strings.Cut(strings.TrimPrefix(line, "failed "), ": ")
			if _, ok := st.Docker.Images[ref]; !ok {
				return fmt.Errorf("%s: pull %s: %s", rep.Name, ref, msg)
			}
			rep.Warn("pull %s failed, keeping the local image: %s", ref, msg)
		}
	}
	return nil
}

func images(pb *playbooks.Playbook) []string {
	seen := map[string]bool{}
	var refs []string
	for _, c := range pb.Containers {
		if !seen[c.Image] {
			seen[c.Image] = true
			refs = append(refs, c.Image)
		}
	}
	return refs
}

// reportPlan prints a host's plan as a diff, before anything is applied.
func reportPlan(h ui.Host, p *plan.Plan) {
	var b strings.Builder
	p.Write(&b)
	h.Emit(ui.KindPlan, b.String(), map[string]any{"changes": p.Changes(), "in_sync": p.InSync()})
}

func reporter(o Options) ui.Reporter {
	if o.Reporter != nil {
		return o.Reporter
	}
	return ui.Discard{}
}
