package main

import (
	"strings"
	"testing"
)

func TestScheduleBackup(t *testing.T) {
	fixed := []string{"--berth-path", "/usr/local/bin/berth", "--workdir", "/srv/blog"}
	backupArgs := []string{"--host", "deploy@10.0.0.5", "--identity", "/k", "-p", stackPlaybook, "--to", "backups", "--recipient", "age1example", "--keep", "7"}
	t.Run("flags after backup", func(t *testing.T) {
		out, _, code := schedule(t, nil, alice, append(append([]string{"backup", "--every", "24h", "--print"}, fixed...), backupArgs...)...)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		golden(t, "schedule-backup-daily.txt", normalized(t, out, ""))
	})
	t.Run("schedule flags before backup", func(t *testing.T) {
		out, _, code := schedule(t, nil, alice, append(append([]string{"--every", "24h", "--print"}, fixed...), append([]string{"backup"}, backupArgs...)...)...)
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		golden(t, "schedule-backup-daily.txt", normalized(t, out, ""))
	})
	t.Run("a backup passphrase never goes into a unit", func(t *testing.T) {
		out, errOut, code := schedule(t, []string{"BERTH_BACKUP_PASSPHRASE=hunter2"}, alice, append(append([]string{"backup", "--every", "24h", "--print"}, fixed...), backupArgs...)...)
		if code != exitUsage || !strings.Contains(errOut, "refusing to copy BERTH_BACKUP_PASSPHRASE") {
			t.Fatalf("exit %d: %q", code, errOut)
		}
		if strings.Contains(out+errOut, "hunter2") {
			t.Error("the passphrase was printed")
		}
	})
}
