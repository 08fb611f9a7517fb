package deploy

import (
	"context"

	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// Status observes the stack on a host without changing anything or taking the
// lock: one round trip.
func Status(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, opts Options) (*State, error) {
	st, err := observe(ctx, conn, pb, observeRequest{stateDir: opts.StateDir, stack: opts.stack(pb)})
	if err != nil {
		return nil, err
	}
	if err := checkObserved(st, ui.Host{R: reporter(opts), Name: conn.Host()}); err != nil {
		return nil, err
	}
	return st, nil
}
