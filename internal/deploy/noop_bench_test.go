package deploy_test

// Benchmarks of berth's no-op path against a converged test stack on this
// machine's Docker engine: once through remote.Local (berth's own CPU with no
// SSH in the way) and once through a real sshd on loopback. bench/run takes a
// CPU profile of the first; docs/BENCHMARKS.md reports it. They skip without
// Docker (and sshd), like the integration tests.

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/internal/testimage"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// convergedStack deploys the test stack once (untimed) and removes it when
// the benchmark ends.
func convergedStack(b *testing.B, conn remote.Conn) (*playbooks.Playbook, deploy.Options) {
	b.Helper()
	ref := testimage.Build(b, "bench", "v1")
	prefix := testimage.Unique(b)
	pb, err := playbooks.Load(filepath.Join("..", "..", "cmd", "berth", "testdata", "stack.yaml"), map[string]string{
		"prefix": prefix, "image": ref, "web_image": ref, "web_port": freePort(b),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { removePrefixed(prefix) })
	opts := deploy.Options{StateDir: b.TempDir(), LockWait: time.Minute, Version: "bench",
		LookupEnv: func(string) (string, bool) { return "", false }}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := deploy.Deploy(ctx, conn, pb, opts); err != nil {
		b.Fatalf("converge: %v", err)
	}
	return pb, opts
}

func benchNoop(b *testing.B, conn remote.Conn, pb *playbooks.Playbook, opts deploy.Options) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := deploy.Deploy(ctx, conn, pb, opts)
		if err != nil {
			b.Fatal(err)
		}
		if !res.Plan.InSync() || res.Applied != 0 {
			b.Fatalf("not a no-op: %d changes applied, in sync %v", res.Applied, res.Plan.InSync())
		}
	}
}

// BenchmarkNoopDeploy is one no-op deploy through remote.Local: one
// observe round trip (a shell running docker inspect) and the plan.
func BenchmarkNoopDeploy(b *testing.B) {
	conn := remote.NewLocal(false)
	pb, opts := convergedStack(b, conn)
	benchNoop(b, conn, pb, opts)
}

// BenchmarkNoopDeploySSH is the same over one SSH connection to a real sshd,
// reused across iterations (the handshake is not in the loop).
func BenchmarkNoopDeploySSH(b *testing.B) {
	srv := sshtest.Start(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := remote.DialSSH(ctx, srv.Target(), srv.Options())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	pb, opts := convergedStack(b, conn)
	benchNoop(b, conn, pb, opts)
}

func freePort(b *testing.B) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("pick a port: %v", err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// removePrefixed removes the containers, networks and volumes the benchmark made.
func removePrefixed(prefix string) {
	for _, kind := range [][]string{{"ps", "-a", "--format", "{{.Names}}"}, {"network", "ls", "--format", "{{.Name}}"}, {"volume", "ls", "--format", "{{.Name}}"}} {
		out, _ := exec.Command("docker", append(kind, "--filter", "name="+prefix)...).Output()
		for _, name := range strings.Fields(string(out)) {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			switch kind[0] {
			case "ps":
				_ = exec.Command("docker", "rm", "-f", name).Run()
			case "network":
				_ = exec.Command("docker", "network", "rm", name).Run()
			default:
				_ = exec.Command("docker", "volume", "rm", "-f", name).Run()
			}
		}
	}
}
