package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// forgetScript removes the stack's state directory (its stored secrets) once
// its volumes are gone: a new database gets new secrets. Args: DIR
// Only berth's own files go; a directory holding anything else stays.
const forgetScript = `rm -f "$1"/*.env "$1"/key && rmdir "$1" 2>/dev/null; exit 0`

// Destroy removes the stack's containers and networks; volumes (and the
// secrets that belong to their data) only when volumes is true.
func Destroy(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, volumes bool, opts Options) (*Result, error) {
	start := time.Now()
	rep := ui.Host{R: reporter(opts), Name: conn.Host()}
	res := &Result{Host: conn.Host()}
	defer res.finish(conn, start)
	stack, err := opts.stack(pb)
	if err != nil {
		return res, err
	}
	info := lockInfo(opts.Version, time.Now())
	req := opts.observeRequest(stack)
	req.take, req.lockInfo = !opts.DryRun, info
	var st *State
	if opts.DryRun {
		st, err = observe(ctx, conn, pb, req)
		if err == nil {
			err = checkObserved(st, rep)
		}
	} else {
		st, err = takeLock(ctx, conn, pb, req, opts, rep)
	}
	if err != nil {
		return res, err
	}
	res.Plan = plan.Destroy(stack, pb, st.Docker, volumes)
	if err := addVolumeSizes(ctx, conn, res.Plan); err != nil {
		rep.Warn("%v", err)
	}
	reportPlan(rep, res.Plan)
	if opts.DryRun {
		return res, nil
	}
	a := &applier{conn: conn, x: direct{conn}, stack: stack, dir: st.Dir, rep: rep}
	res.Applied, err = a.apply(ctx, res.Plan)
	if relErr := releaseLock(ctx, conn, st.Dir, info); relErr != nil {
		rep.Warn("%v", relErr)
	}
	if err != nil || !volumes {
		return res, err
	}
	for _, f := range res.Plan.Foreign {
		if f.Object == plan.Volume {
			// Data that stays may have been initialised with these secrets.
			rep.Warn("kept the stored secrets of stack %s: volume %s was skipped", stack, f.Name)
			return res, nil
		}
	}
	if err := remote.Script(ctx, conn, forgetScript, nil, st.Dir); err != nil {
		return res, fmt.Errorf("remove stored secrets: %w", err)
	}
	return res, nil
}
