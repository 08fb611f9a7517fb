package deploy

import (
	"context"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// Status observes the stack on a host without changing anything or taking the
// lock: one round trip.
func Status(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, opts Options) (*State, error) {
	st, err := observe(ctx, conn, pb, opts.observeRequest(opts.stack(pb)))
	if err != nil {
		return nil, err
	}
	if err := checkObserved(st, ui.Host{R: reporter(opts), Name: conn.Host()}); err != nil {
		return nil, err
	}
	return st, nil
}

// Serving reports whether st shows the stack serving: every container the
// playbook declares exists, carries the stack's label, runs, and is not
// unhealthy or still starting. It is what decides whether a host that this
// run did not converge stays in DNS.
func (st *State) Serving(pb *playbooks.Playbook, opts Options) bool {
	stack := opts.stack(pb)
	for _, c := range pb.Containers {
		ct, ok := st.Docker.Containers[c.Name]
		if !ok || ct.Labels[docker.LabelStack] != stack || ct.State != "running" {
			return false
		}
		if ct.Health != "" && ct.Health != "healthy" {
			return false
		}
	}
	return true
}
