package remote

import (
	"context"
	"fmt"
	"time"
)

// DefaultCommandTimeout bounds one remote command when the caller sets no
// other bound: long enough for pulling a large image over a slow link, short
// enough that a hung dockerd does not hold a scheduled run forever.
const DefaultCommandTimeout = 10 * time.Minute

// TimeoutError is a command that ran past its deadline and was stopped.
type TimeoutError struct {
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no result within the command timeout of %s", e.After)
}

// Is lets callers treat it like any other deadline.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// withCommandTimeout bounds ctx by the command's own timeout, else by the
// connection's; the cause of a timeout is a *TimeoutError.
func withCommandTimeout(ctx context.Context, own, conn time.Duration) (context.Context, context.CancelFunc) {
	d := own
	if d <= 0 {
		d = conn
	}
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, &TimeoutError{After: d})
}
