package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/deploy"
)

// Exit codes, documented in the README and `berth --help`.
const (
	exitOK          = 0   // success; for deploy: converged (changed or not)
	exitFailure     = 1   // a host failed, or berth itself did
	exitDrift       = 2   // plan, deploy --dry-run, destroy --dry-run: changes found; deploy --detailed-exitcode: changes applied
	exitLockHeld    = 3   // another run holds a deploy lock
	exitUsage       = 64  // bad flags, arguments, playbook or configuration, no AWS region
	exitInterrupted = 130 // Ctrl-C or SIGTERM
)

const exitCodesHelp = `EXIT CODES:
   0    success (deploy: the hosts converged, with or without changes)
   1    failure: at least one host failed, or berth could not run
   2    plan, deploy --dry-run, destroy --dry-run: something would change;
        deploy --detailed-exitcode: changes were applied
   3    a deploy lock is held by another run (see berth unlock)
   64   usage error: bad flags, arguments, playbook or configuration (or no AWS region)
   130  interrupted (Ctrl-C or SIGTERM); locks were released`

// exitError carries an exit code through urfave/cli's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// withCode gives err the exit code it maps to.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// exitCode picks the code for an error returned by a command.
func exitCode(ctx context.Context, err error) int {
	if ctx.Err() != nil {
		// Even without an error: hosts an interrupt kept from starting
		// are skipped, not failed, and the run did not do its work.
		return exitInterrupted
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if errors.Is(err, awscfg.ErrNoRegion) {
		return exitUsage // a setting is missing, as with a missing flag
	}
	var lock *deploy.LockHeldError
	if errors.As(err, &lock) {
		return exitLockHeld
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	return exitFailure
}
