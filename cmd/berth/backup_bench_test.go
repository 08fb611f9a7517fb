package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"
)

// TestBenchBackup measures (it asserts nothing about time): a live backup of
// a volume of BERTH_BENCH_BACKUP_MB MiB of random data against the floor,
// `ssh host tar c -C MOUNTPOINT . | cat > file` over the same sshd; and the
// downtime of a consistent backup of the test stack. Run by bench/backup.
func TestBenchBackup(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("BERTH_BENCH_BACKUP_MB"))
	if mb <= 0 {
		t.Skip("set BERTH_BENCH_BACKUP_MB (bench/backup does)")
	}
	e := newStackEnv(t)
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("deploy exit %d", code)
	}
	vol := e.prefix + "db-data"
	mp := dockerOut(t, "volume", "inspect", "--format", "{{.Mountpoint}}", vol)
	f, err := os.Create(filepath.Join(mp, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, int64(mb)<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// An X25519 recipient, as a scheduled backup would use: a passphrase
	// adds scrypt's deliberate cost (about 0.5 s of CPU per backup here),
	// which is not what this measures.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_BACKUP_RECIPIENT", id.Recipient().String())
	out := t.TempDir()

	host, port, _ := net.SplitHostPort(e.sshd.Addr)
	// floor is the goal's floor; with durable it also fsyncs the file, as
	// berth does before it renames an archive into place.
	floor := func(durable bool) time.Duration {
		start := time.Now()
		ssh := exec.Command("ssh", "-i", e.sshd.ClientKeyPath, "-o", "UserKnownHostsFile="+e.sshd.KnownHostsPath,
			"-o", "StrictHostKeyChecking=yes", "-F", "none", "-p", port, e.sshd.User+"@"+host, "tar", "c", "-C", mp, ".")
		dst, err := os.Create(filepath.Join(out, "floor.tar"))
		if err != nil {
			t.Fatal(err)
		}
		defer dst.Close()
		var stderr bytes.Buffer
		ssh.Stdout, ssh.Stderr = dst, &stderr
		if err := ssh.Run(); err != nil {
			t.Fatalf("ssh tar: %v %s", err, stderr.String())
		}
		if durable {
			if err := dst.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		return time.Since(start)
	}
	live := func() time.Duration {
		start := time.Now()
		if _, _, code := berth(t, e.args("backup", "--live", "--volume", vol, "--to", out, "--keep", "1")...); code != 0 {
			t.Fatalf("backup exit %d", code)
		}
		return time.Since(start)
	}
	var floors, durables, berths []time.Duration
	for range 3 {
		floors = append(floors, floor(false))
		berths = append(berths, live())
		durables = append(durables, floor(true))
	}
	fl, dl, bl := median(floors), median(durables), median(berths)
	start := time.Now()
	stdout, _, code := berth(t, e.args("backup", "--to", out, "--json")...)
	if code != 0 {
		t.Fatalf("consistent backup exit %d", code)
	}
	total := time.Since(start)
	var downtime any
	for _, ev := range events(t, stdout) {
		if d, ok := ev.Data["downtime_ms"]; ok {
			downtime = d
		}
	}
	fmt.Printf("backup of a %d MiB volume (random data), median of 3: berth backup --live %s, ssh tar | cat %s, ratio %.2f\n",
		mb, bl.Round(time.Millisecond), fl.Round(time.Millisecond), float64(bl)/float64(fl))
	fmt.Printf("backup against the floor with an fsync of its file (as berth syncs the archive): %s, ratio %.2f\n",
		dl.Round(time.Millisecond), float64(bl)/float64(dl))
	fmt.Printf("consistent backup of the test stack (db + web stopped, archived, started, healthy): %s in all, downtime %v ms\n",
		total.Round(time.Millisecond), downtime)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
