package deploy

import (
	"context"
	"time"

	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// WaitReady runs start (a docker argv; may be empty) and waits for container c
// to be healthy and ready, exactly as deploy waits for it (and says so on rep).
func WaitReady(ctx context.Context, conn remote.Conn, rep ui.Handler, c *playbooks.Container, start []string) error {
	return waitReady(ctx, direct{conn}, conn, ui.Host{R: rep, Name: conn.Host()}, c, start)
}

// Hold takes the stack's deploy lock on the host, waiting up to
// opts.LockWait, and returns the state observed under it and the function
// that releases it (even after ctx is cancelled). Backup and restore hold it
// so no deploy starts containers while their volumes are archived or written.
func Hold(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, opts Options) (*State, func(), error) {
	rep := ui.Host{R: reporter(opts), Name: conn.Host()}
	stack, err := opts.stack(pb)
	if err != nil {
		return nil, nil, err
	}
	info := lockInfo(opts.Version, time.Now())
	req := opts.observeRequest(stack)
	req.take, req.lockInfo = true, info
	st, err := takeLock(ctx, conn, pb, req, opts, rep)
	if err != nil {
		return nil, nil, err
	}
	// A long archive keeps the lock fresh, as a long deploy does.
	hctx, cancel := context.WithCancelCause(ctx)
	stop := heartbeat(hctx, cancel, conn, st.Dir, info, heartbeatEvery(opts.LockStale), rep)
	release := func() {
		stop()
		cancel(nil)
		if err := releaseLock(context.WithoutCancel(ctx), conn, st.Dir, info); err != nil {
			rep.Warn("%v", err)
		}
	}
	return st, release, nil
}
