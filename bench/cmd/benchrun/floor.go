package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// floor is what a fleet no-op cannot beat on this machine: one new OpenSSH
// connection per host running one `docker inspect` of every object of the
// stack (berth's observe asks docker for the same objects, in five calls),
// with at most parallel sessions at once, as berth's --parallel. Its CPU is
// the ssh clients' (their rusage); its RSS is the largest ssh client's.
func (b *bench) floor(ctx context.Context, servers []*sshd, st stack, parallel int) (sample, error) {
	inspect := []string{"docker", "inspect", st.prefix + "db", st.prefix + "web",
		st.prefix + "db-data", st.prefix + "web-content", st.prefix + "net", Image}
	seq := runSeq.Add(1)
	before := countLogs(servers)
	busy0 := machineBusy()
	sem := make(chan struct{}, parallel)
	var (
		mu   sync.Mutex
		smp  sample
		errs []error
		wg   sync.WaitGroup
	)
	start := time.Now()
	for i, s := range servers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			argv := append([]string{"-F", "none", "-i", b.key, "-o", "IdentitiesOnly=yes",
				"-o", "UserKnownHostsFile=" + b.known, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
				"-p", strconv.Itoa(s.port), b.user + "@" + s.ip}, inspect...)
			cmd := exec.CommandContext(ctx, "ssh", argv...)
			out, err := cmd.CombinedOutput()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				path := b.path(fmt.Sprintf("run-%03d-floor-%d.log", seq, i))
				_ = os.WriteFile(path, out, 0o644)
				errs = append(errs, fmt.Errorf("floor: ssh %s: %v (log %s)", s.ip, err, path))
				return
			}
			if st := cmd.ProcessState; st != nil {
				smp.cpu += (st.UserTime() + st.SystemTime()).Seconds()
				smp.rssKiB = max(smp.rssKiB, maxRSS(st))
			}
			smp.hosts++
		}()
	}
	wg.Wait()
	smp.wall = time.Since(start)
	smp.busy = machineBusy() - busy0
	after := countLogs(servers)
	smp.conns, smp.sessions = after.conns-before.conns, after.sessions-before.sessions
	if len(errs) > 0 {
		return smp, errs[0]
	}
	return smp, nil
}

// maxRSS is a finished process's peak RSS in KiB (Linux reports KiB).
func maxRSS(st *os.ProcessState) int64 {
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}
