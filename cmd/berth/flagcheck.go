package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/fleet"
)

// flagRules bounds every numeric flag, by name, wherever it appears: a zero
// or negative value that the code would read as "unset" or "no limit" is a
// typo to refuse (exit 64), not a request to honour.
var flagRules = map[string]func(c *cli.Context, name string) error{
	"parallel":        intAtLeast(1),
	"max-failures":    intAtLeast(0),
	"port":            portNumber,
	"batch":           batchSize,
	"connect-timeout": durationAtLeast(time.Nanosecond),
	"command-timeout": durationAtLeast(time.Nanosecond),
	"lock-wait":       durationAtLeast(0),
	"lock-stale":      durationAtLeast(time.Nanosecond),
	"dns-timeout":     durationAtLeast(time.Nanosecond),
	"dns-poll":        durationAtLeast(time.Nanosecond),
	"aws-timeout":     durationAtLeast(time.Nanosecond),
	"keep":            intAtLeast(0),
}

// flagsCheckedElsewhere are numeric flags whose bounds their command checks
// with a rule of its own.
var flagsCheckedElsewhere = map[string]string{
	"every":       "schedule requires at least 1m",
	"run-timeout": "schedule requires more than 0",
}

// withFlagChecks makes every command, after its own Before (which applies
// berth.yaml), check the flags set on the command line or in the config.
func withFlagChecks(cmds []*cli.Command) {
	for _, cmd := range cmds {
		before := cmd.Before
		cmd.Before = func(c *cli.Context) error {
			if before != nil {
				if err := before(c); err != nil {
					return err
				}
			}
			return checkFlags(c)
		}
		withFlagChecks(cmd.Subcommands)
	}
}

func checkFlags(c *cli.Context) error {
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if rule, ok := flagRules[name]; ok && c.IsSet(name) {
			if err := rule(c, name); err != nil {
				return usageError("--%s %v (see berth %s --help)", name, err, c.Command.Name)
			}
		}
	}
	return nil
}

func intAtLeast(min int) func(*cli.Context, string) error {
	return func(c *cli.Context, name string) error {
		if v := c.Int(name); v < min {
			return fmt.Errorf("%d: want %d or more", v, min)
		}
		return nil
	}
}

func durationAtLeast(min time.Duration) func(*cli.Context, string) error {
	return func(c *cli.Context, name string) error {
		v := c.Duration(name)
		switch {
		case v >= min:
			return nil
		case min == 0:
			return fmt.Errorf("%s: want 0 or more", v)
		}
		return fmt.Errorf("%s: want more than 0, e.g. 30s", v)
	}
}

func portNumber(c *cli.Context, name string) error {
	if v := c.Int(name); v < 1 || v > 65535 {
		return fmt.Errorf("%d: want a port from 1 to 65535", v)
	}
	return nil
}

func batchSize(c *cli.Context, name string) error {
	v := c.String(name)
	if _, err := fleet.BatchSize(v, 1); err != nil {
		return fmt.Errorf("%q: want N hosts (1 or more) or P%% (1-100%%)", v)
	}
	return nil
}
