package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// scheduleBackupCommand is `berth schedule backup`: scheduled backups, written
// and run like scheduled deploys.
func (a *App) scheduleBackupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "run this backup unattended (same units, env file and checks as scheduled deploys)",
		ArgsUsage: "--every DURATION | --at HH:MM | --calendar EXPR [backup flags]",
		Description: `Schedules exactly this berth backup invocation (with --quiet), in units named
berth-STACK-backup. The destination (--to) is made absolute. A passphrase in
BERTH_BACKUP_PASSPHRASE is a secret: it goes into --env-file, never the unit.

Example:
   berth schedule backup --every 24h --host admin@db1 --identity ~/.ssh/deploy \
       --recipient age1... --keep 7 --to /srv/backups`,
		Flags:  concat(targetFlags(), playbookFlags(), outputFlags(), backupFlags(), scheduleFlags()),
		Before: inheritFlags,
		Action: a.scheduleAction("backup"),
	}
}

// inheritFlags gives a subcommand the values of its flags that were set on
// the parent command (schedule --every 24h backup ...) or by berth.yaml there.
func inheritFlags(c *cli.Context) error {
	lineage := c.Lineage()
	if len(lineage) < 2 {
		return nil
	}
	parent := lineage[1]
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if c.IsSet(name) || !parent.IsSet(name) {
			continue
		}
		var values []string
		switch v := parent.Value(name).(type) {
		case cli.StringSlice:
			values = v.Value()
		case *cli.StringSlice:
			values = v.Value()
		default:
			values = []string{fmt.Sprint(v)}
		}
		for _, v := range values {
			if err := c.Set(name, v); err != nil {
				return usageError("schedule backup: --%s %s: %v", name, strings.TrimSpace(v), err)
			}
		}
	}
	return nil
}
