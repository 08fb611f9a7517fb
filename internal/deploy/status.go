package deploy

import (
	"context"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// Status observes the stack on a host without changing anything or taking the
// lock: one round trip.
func Status(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, opts Options) (*State, error) {
	stack, err := opts.stack(pb)
	if err != nil {
		return nil, err
	}
	st, err := observe(ctx, conn, pb, opts.observeRequest(stack))
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
	stack, err := opts.stack(pb)
	if err != nil {
		return false
	}
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

// Foreign lists the objects with the playbook's names that the stack does
// not own: what a deploy would stop on.
func (st *State) Foreign(pb *playbooks.Playbook, opts Options) []plan.Foreign {
	stack, err := opts.stack(pb)
	if err != nil {
		return nil
	}
	return plan.Compute(stack, pb, st.Docker, plan.Options{}).Foreign
}
