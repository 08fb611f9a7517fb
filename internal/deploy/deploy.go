// Package deploy converges one host: lock, observe (one round trip), plan,
// apply, wait until healthy, unlock.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/imagepush"
	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// Options shape one host's deploy.
type Options struct {
	Stack      string // defaults to the playbook's name
	StateDir   string // on the host; "" means DefaultStateDir
	DryRun     bool   // stop after the plan
	Pull       bool   // pull every image first; recreate what got a new image ID
	NewSecrets bool   // generate missing secrets even though the stack's volumes exist
	LockWait   time.Duration
	LockStale  time.Duration // a lock without a heartbeat for this long is broken; 0: never
	Version    string        // berth's, recorded in the lock
	LookupEnv  func(string) (string, bool)
	Reporter   ui.Handler
	Redactor   *ui.Redactor // learns every secret value as soon as it is known; may be nil
	// Adopt takes over objects with the playbook's names that carry no berth
	// label; see plan.Adopt.
	Adopt bool
	// Push maps image refs to the local images to send to hosts that lack
	// them (see imagepush); the refs no container of the playbook runs are
	// ignored.
	Push map[string]imagepush.Image
	// PushSpool, when set, shares one local read of each pushed image among
	// the run's hosts.
	PushSpool *imagepush.Spool
	// CommandTimeout bounds each step of the apply that has no wait of its
	// own (the steps share one session, so the connection's per-command
	// bound cannot); 0 is remote.DefaultCommandTimeout.
	CommandTimeout time.Duration

	// afterStep, when set (by this package's tests), is called after each
	// step of a container swap, with the step's name.
	afterStep func(step string)
	// lockPoll is the first pause between looks at a held lock; 0 is one
	// second. This package's tests shorten it.
	lockPoll time.Duration
}

func (o Options) stack(pb *playbooks.Playbook) (string, error) {
	return playbooks.Stack(o.Stack, pb)
}

func (o Options) commandTimeout() time.Duration {
	if o.CommandTimeout > 0 {
		return o.CommandTimeout
	}
	return remote.DefaultCommandTimeout
}

func (o Options) lookupEnv() func(string) (string, bool) {
	if o.LookupEnv != nil {
		return o.LookupEnv
	}
	return os.LookupEnv
}

// observeRequest is what every command observes a stack with, read-only.
func (o Options) observeRequest(stack string) observeRequest {
	return observeRequest{root: stateRoot(o.StateDir), legacy: o.StateDir == "", stack: stack, lockStale: o.LockStale}
}

// secrets resolves the secrets of a deploy against what the host stores,
// teaching the redactor every value before anything can print it.
func (o Options) secrets(pb *playbooks.Playbook, st *State, host, stack string, underLock bool) (*secretSet, error) {
	for _, v := range st.Secrets {
		o.Redactor.Add(v)
	}
	if underLock && len(st.Key) == 0 {
		return nil, fmt.Errorf("%s: no digest key in %s: the host could not create it", host, st.Dir)
	}
	ss, err := resolveSecrets(pb, st, secretInputs{host: host, stack: stack, lookupEnv: o.lookupEnv(), newSecrets: o.NewSecrets, key: st.Key})
	if err != nil {
		return nil, err
	}
	for _, v := range ss.values {
		o.Redactor.Add(v)
	}
	return ss, nil
}

// Result is one host's outcome.
type Result struct {
	Host     string
	Plan     *plan.Plan
	Applied  int
	Stats    remote.Stats
	Duration time.Duration
	Pushed   int64 // bytes of images pushed to the host
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
// lock, resolves the secrets, finds nothing to do and stops, having written
// nothing. A run with changes takes the lock and observes again in one more
// round trip (someone may have changed the host in between), then applies,
// refreshing the lock's heartbeat meanwhile.
func Deploy(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, opts Options) (*Result, error) {
	start := time.Now()
	host := conn.Host()
	rep := ui.Host{R: reporter(opts), Name: host}
	res := &Result{Host: host}
	defer res.finish(conn, start)
	stack, err := opts.stack(pb)
	if err != nil {
		return res, err
	}
	popts := plan.Options{Adopt: opts.Adopt}

	req := opts.observeRequest(stack)
	if opts.Pull {
		req.pull = docker.Images(pb)
	}
	st, err := observe(ctx, conn, pb, req)
	if err != nil {
		return res, err
	}
	if err := checkObserved(st, rep); err != nil {
		return res, err
	}
	if err := checkStateDir(host, req.root, st); err != nil {
		return res, err
	}
	ss, secretsErr := opts.secrets(pb, st, host, stack, false)
	if secretsErr == nil {
		popts.Secrets = ss.digests
	}
	pushes := opts.toPush(pb, st.Docker)
	assumePushed(st.Docker, pushes)
	res.Plan = plan.Compute(stack, pb, st.Docker, popts)
	// Foreign objects first: they say why nothing may be touched at all.
	if err := res.Plan.Err(); err != nil {
		reportPlan(rep, res.Plan)
		return res, err
	}
	if secretsErr != nil {
		return res, secretsErr
	}
	if opts.DryRun {
		if st.Legacy != "" {
			rep.Progress("secrets are stored in %s; a deploy moves them to %s", st.Legacy, st.Dir)
		}
		for _, img := range pushes {
			rep.Progress("would push %s", img.Ref)
		}
		reportPlan(rep, res.Plan)
		return res, nil
	}
	if res.Plan.InSync() && len(pushes) == 0 && !st.Lock.Held && !ss.store && st.Legacy == "" {
		return res, nil
	}

	// Changes ahead: take the lock and look again under it.
	info := lockInfo(opts.Version, time.Now())
	req.take, req.lockInfo, req.pull = true, info, nil
	st, err = takeLock(ctx, conn, pb, req, opts, rep)
	if err != nil {
		return res, err
	}
	released := false // by the batch, as its last step
	defer func() {
		if released {
			return
		}
		if err := releaseLock(ctx, conn, st.Dir, info); err != nil {
			rep.Warn("%v", err)
		}
	}()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopHeartbeat := sync.OnceFunc(heartbeat(ctx, cancel, conn, st.Dir, info, heartbeatEvery(opts.LockStale), rep))
	defer stopHeartbeat()

	if st.Migrated != "" {
		rep.Warn("moved the stored secrets from %s to %s/secrets.env, berth's host-wide state (the old file is kept as %s.migrated)", st.Migrated, st.Dir, st.Migrated)
	}
	if ss, err = opts.secrets(pb, st, host, stack, true); err != nil {
		return res, err
	}
	popts.Secrets = ss.digests
	res.Plan = plan.Compute(stack, pb, st.Docker, popts)
	if err := res.Plan.Err(); err != nil {
		reportPlan(rep, res.Plan)
		return res, err
	}
	// Under the lock, before anything changes: a push that fails stops the
	// deploy with the host as it was.
	res.Pushed, err = push(ctx, conn, st.Docker, opts.toPush(pb, st.Docker), opts.PushSpool, rep)
	if err != nil {
		return res, err
	}
	res.Plan = plan.Compute(stack, pb, st.Docker, popts)
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
	if res.Plan.InSync() && !ss.store {
		return res, nil
	}
	if !res.Plan.InSync() {
		reportPlan(rep, res.Plan)
	}

	// Storing the secrets, every action and the release of the lock: one
	// session.
	a := &applier{conn: conn, stack: stack, dir: st.Dir, secrets: ss.values, digests: ss.digests, rep: rep, afterStep: opts.afterStep}
	ops := newBatch(st.Dir, info)
	secretsFile := st.Dir + "/secrets.env"
	if ss.store {
		ops.file(secretsFile, 0o660)
	}
	if err := ops.actions(a, res.Plan); err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("apply: %w", err)
	}
	b := startBatch(ctx, conn, batchBound(res.Plan, opts.commandTimeout()), opts.commandTimeout(), ops.args)
	b.beforeRelease = stopHeartbeat
	a.x = b
	if ss.store {
		if err = b.upload(ctx, secretsFile, docker.EnvFile(ss.values), 0o660); err != nil {
			err = fmt.Errorf("store secrets: %w", err)
		}
	}
	if err == nil {
		res.Applied, err = a.apply(ctx, res.Plan)
	}
	released, relErr := b.finish(ctx)
	if relErr != nil {
		rep.Warn("%v", relErr)
	}
	if err != nil && errors.Is(context.Cause(ctx), ErrLockLost) {
		return res, fmt.Errorf("%s: %w: %w", host, ErrLockLost, err)
	}
	return res, err
}

// takeLock acquires the deploy lock in the observe round trip, breaking a
// stale one, and waiting up to LockWait for another run to finish.
func takeLock(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, req observeRequest, opts Options, rep ui.Host) (*State, error) {
	deadline := time.Now().Add(opts.LockWait)
	delay := opts.lockPoll
	if delay == 0 {
		delay = time.Second
	}
	for {
		st, err := observe(ctx, conn, pb, req)
		if err == nil {
			err = checkObserved(st, rep)
		}
		if err == nil {
			err = checkStateDir(conn.Host(), req.root, st)
		}
		if err != nil && (st == nil || st.Lock.Acquired) {
			// The round trip may have taken the lock before it failed (a
			// cancel or a dropped connection lost the answer; Docker failed
			// after the prelude): free it when it is ours.
			if relErr := releaseLock(ctx, conn, req.root+"/"+req.stack, req.lockInfo); relErr != nil {
				rep.Warn("%v", relErr)
			}
		}
		if err != nil {
			return nil, err
		}
		if st.Lock.Broke {
			rep.R.Handle(ui.Lock{Host: rep.Name, Status: ui.LockBroken, Holder: st.Lock.Broken,
				Age: ui.Duration(st.Lock.BrokeAge), Stale: ui.Duration(opts.LockStale)})
		}
		if st.Lock.Acquired {
			return st, nil
		}
		held := &LockHeldError{Host: conn.Host(), Holder: st.Lock.Holder, Age: st.Lock.Age}
		if time.Now().Add(delay).After(deadline) {
			return nil, held
		}
		rep.R.Handle(ui.Lock{Host: rep.Name, Status: ui.LockWaiting, Holder: held.Holder, Age: ui.Duration(held.Age)})
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

// reportPlan reports a host's plan, before anything is applied.
func reportPlan(h ui.Host, p *plan.Plan) { h.R.Handle(p.Event(h.Name)) }

func reporter(o Options) ui.Handler { return ui.Or(o.Reporter) }
