package deploy

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/fakeconn"
)

// TestStepTimeoutIsTheCommandTimeout: a step of the batched apply that never
// answers is given up after Options.CommandTimeout (--command-timeout), not
// after the default ten minutes, and the lock is released.
func TestStepTimeoutIsTheCommandTimeout(t *testing.T) {
	h := fakeHost(t)
	conn := fakeConn(h)
	conn.Before = func(ctx context.Context, c fakeconn.Call) error {
		if slices.Equal(steps([]fakeconn.Call{c}), []string{"docker network create net"}) {
			<-ctx.Done() // hangs until berth gives up on the session
			return ctx.Err()
		}
		return nil
	}
	opts := testOptions()
	opts.CommandTimeout = 50 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		_, err := Deploy(context.Background(), conn, shop(t), opts)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("deploy: %v, want the step's deadline", err)
		}
	case <-time.After(time.Minute): // far above the 50ms bound, far below the default 10m
		t.Fatal("a hung step outlived --command-timeout")
	}
	if stateOf(h).locked {
		t.Error("the lock is still held")
	}
}
