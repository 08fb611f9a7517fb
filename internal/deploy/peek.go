package deploy

import (
	"context"

	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// Peek observes a stack on a host through deploy's own round trip, without
// taking the lock: backup reads the stored secrets, volumes and containers
// from the same place deploy does, wherever that is.
func Peek(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, stack, stateDir string) (*State, error) {
	st, err := observe(ctx, conn, pb, observeRequest{stateDir: stateDir, stack: stack})
	if err != nil {
		return nil, err
	}
	if err := checkObserved(st, ui.Host{R: ui.Discard{}, Name: conn.Host()}); err != nil {
		return nil, err
	}
	return st, nil
}

// WaitReady runs start (a docker argv; may be empty) and waits for container c
// to be healthy and ready, exactly as deploy waits for it.
func WaitReady(ctx context.Context, conn remote.Conn, c *playbooks.Container, start []string) error {
	return waitReady(ctx, conn, c, start)
}
