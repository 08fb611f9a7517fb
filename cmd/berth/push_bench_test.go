package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/hosttest"
	"github.com/berth-sh/berth/internal/testimage"
)

// TestBenchPush measures (it asserts nothing about time) berth deploy --push
// of an image with a BERTH_BENCH_PUSH_MB MiB layer of random data to one
// harness host against the floor, `docker save IMAGE | ssh host docker load`;
// the bytes a one-layer change sends against the whole image; and berth's
// peak RSS (GNU time). Run by bench/push.
func TestBenchPush(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("BERTH_BENCH_PUSH_MB"))
	if mb <= 0 {
		t.Skip("set BERTH_BENCH_PUSH_MB (bench/push does)")
	}
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		t.Fatal("needs GNU time (/usr/bin/time)")
	}
	base := testimage.Build(t, "v1", "v1")
	tag := "bench-" + strings.TrimSuffix(testimage.Unique(t), "-")
	ref := testimage.Image + ":" + tag
	dir := t.TempDir()
	big, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(big, rand.Reader, int64(mb)<<20); err != nil {
		t.Fatal(err)
	}
	big.Close()
	build := func(stamp string) {
		t.Helper()
		files := map[string]string{"stamp": stamp, "Dockerfile": "FROM " + base + "\nCOPY big /big\nCOPY stamp /stamp\n"}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("docker", "build", "-q", "-t", ref, dir)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker build: %v\n%s", err, out)
		}
	}
	build("1")
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	bin := berthBinary(t)
	f := hosttest.Start(t, 1, hosttest.Options{Ports: []int{80}})
	h := f.Hosts[0]

	// The floor, then the host cleared of the image again.
	start := time.Now()
	floor := exec.Command("sh", "-c", `docker save "$1" | ssh -F none -i "$2" -o UserKnownHostsFile="$3" -o StrictHostKeyChecking=yes "$4" docker load`,
		"sh", ref, f.Identity, f.KnownHosts, h.Target("root"))
	if out, err := floor.CombinedOutput(); err != nil {
		t.Fatalf("floor: %v\n%s", err, out)
	}
	floorTime := time.Since(start)
	if out, err := h.Exec(t, "docker", "rmi", ref); err != nil {
		t.Fatalf("rmi on host: %v %s", err, out)
	}

	deploy := func() (pushed int64, push time.Duration, rssKB int) {
		t.Helper()
		timeOut := filepath.Join(dir, "time")
		cmd := exec.Command("/usr/bin/time", "-f", "%M", "-o", timeOut, bin, "deploy", "--push", "--json",
			"--playbook", "testdata/stack.yaml", "--identity", f.Identity, "--known-hosts", f.KnownHosts,
			"--ssh-config", "none", "--state-dir", fleetStateDir, "--host", h.Target("root"),
			"--var", "image="+ref, "--var", "web_image="+ref, "--var", "web_bind=0.0.0.0", "--var", "web_port=80")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("berth deploy: %v\n%s", err, stderr.String())
		}
		for _, ev := range events(t, stdout.String()) {
			if b, ok := ev.Data["bytes"].(float64); ok && ev.Type == "transfer" && ev.Data["status"] == "pushed" {
				pushed += int64(b)
				push += time.Duration(ev.Data["elapsed_ms"].(float64)) * time.Millisecond
			}
		}
		tb, _ := os.ReadFile(timeOut)
		rssKB, _ = strconv.Atoi(strings.TrimSpace(string(tb)))
		return pushed, push, rssKB
	}
	whole, pushTime, rss := deploy()
	build("2")
	layer, layerTime, _ := deploy()
	fmt.Printf("push of a %d MiB image (random data) to one harness host: berth deploy --push: push %s, docker save | ssh docker load %s, ratio %.2f\n",
		mb, pushTime.Round(time.Millisecond), floorTime.Round(time.Millisecond), float64(pushTime)/float64(floorTime))
	fmt.Printf("bytes sent: whole image %d (gzip), one-layer change %d in %s\n", whole, layer, layerTime.Round(time.Millisecond))
	fmt.Printf("berth peak RSS (whole push and deploy): %d MiB\n", rss/1024)
}
