package main

import (
	"os"
	"path/filepath"
	"testing"

	goldenfile "github.com/berth-sh/berth/internal/golden"
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "golden", name), got)
}

func TestSchedulePrint(t *testing.T) {
	fixed := []string{"--berth-path", "/usr/local/bin/berth", "--workdir", "/srv/blog"}
	tests := []struct {
		name string
		args []string
	}{
		{"systemd-hourly", []string{"--every", "1h", "--print", "--ec2-tag", "Name=blog", "--domain", "blog.example.com", "--pull"}},
		{"systemd-hostile-var", []string{"--every=15m", "--print", "--host", "deploy@10.0.0.5", "--var", "greeting=100% $(reboot) it's"}},
		{"cron-hourly", []string{"--every", "1h", "--cron", "--host", "deploy@10.0.0.5", "--var", "greeting=100% $(reboot)"}},
		{"cron-15m", []string{"--every", "15m", "--cron", "--local", "--quiet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, code := berth(t, append(append([]string{"schedule"}, fixed...), tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			golden(t, "schedule-"+tt.name+".txt", out)
		})
	}
}

func TestScheduleRefusesOddCronPeriod(t *testing.T) {
	_, errOut, code := berth(t, "schedule", "--every", "7m", "--cron", "--local")
	if code != exitUsage {
		t.Fatalf("exit %d, want %d: %s", code, exitUsage, errOut)
	}
}

func TestScheduleWritesUnits(t *testing.T) {
	dir := t.TempDir()
	_, _, code := berth(t, "schedule", "--every", "1h", "--local", "--unit-dir", dir, "--unit-name", "berth-test", "--berth-path", "/bin/berth", "--workdir", "/")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"berth-test.service", "berth-test.timer"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
