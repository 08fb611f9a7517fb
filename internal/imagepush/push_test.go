package imagepush

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/testenv"
	"github.com/berth-sh/berth/internal/testimage"
	"github.com/berth-sh/berth/remote"
)

// captureConn is a host whose `docker load` keeps the archive it was sent,
// or, with fail set, reads part of it and fails as a full disk would.
type captureConn struct {
	remote.Conn
	got      bytes.Buffer
	failHalf bool
	noReuse  bool // fail every archive that leaves a layer out, as the containerd store may
	loads    []int64
}

func (c *captureConn) Host() string { return "fake" }

func (c *captureConn) Run(ctx context.Context, cmd remote.Cmd) error {
	if strings.Join(cmd.Args, " ") != "docker load" {
		return errors.New("unexpected command " + strings.Join(cmd.Args, " "))
	}
	if c.failHalf {
		io.CopyN(&c.got, cmd.Stdin, 4096)
		return &remote.ExitError{Host: "fake", Args: cmd.Args, Code: 1, Stderr: "no space left on device"}
	}
	c.got.Reset()
	n, err := io.Copy(&c.got, cmd.Stdin)
	c.loads = append(c.loads, n)
	if c.noReuse && len(c.loads) == 1 {
		return &remote.ExitError{Host: "fake", Args: cmd.Args, Code: 1,
			Stderr: "open /var/lib/docker/tmp/docker-import-1/abc/layer.tar: no such file or directory"}
	}
	return err
}

// localImage imports a one-layer image of random content under a unique
// name and removes it at the end.
func localImage(t *testing.T, size int) Image {
	t.Helper()
	testenv.NeedDocker(t)
	ref := testimage.LocalRegistry + "berth-push-test:" + strings.TrimSuffix(testimage.Unique(t), "-")
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	data := make([]byte, size)
	rand.Read(data)
	tw.WriteHeader(&tar.Header{Name: "data", Mode: 0o644, Size: int64(size)})
	tw.Write(data)
	tw.Close()
	imp := exec.Command("docker", "import", "-", ref)
	imp.Stdin = &layer
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	imgs, err := Inspect(context.Background(), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	if img := imgs[ref]; img.Size < int64(size) || len(img.Layers) != 1 {
		t.Fatalf("Inspect = %+v, want one layer and at least %d bytes", img, size)
	}
	return imgs[ref]
}

func TestProgressLeft(t *testing.T) {
	for _, tc := range []struct {
		p    Progress
		want time.Duration
	}{
		{Progress{Read: 25, Total: 100, Elapsed: time.Second}, 3 * time.Second},
		{Progress{Read: 0, Total: 100, Elapsed: time.Second}, 0},
		{Progress{Read: 50, Total: 0, Elapsed: time.Second}, 0},
		{Progress{Read: 150, Total: 100, Elapsed: time.Second}, 0},
	} {
		if got := tc.p.Left(); got != tc.want {
			t.Errorf("%+v.Left() = %s, want %s", tc.p, got, tc.want)
		}
	}
}

func loadLocal(t *testing.T, archive []byte) error {
	t.Helper()
	cmd := exec.Command("docker", "load")
	cmd.Stdin = bytes.NewReader(archive)
	out, err := cmd.CombinedOutput()
	t.Logf("docker load of %d bytes: %v %s", len(archive), err, out)
	return err
}

// TestPushArchiveLoads: what Push sends is an archive docker load takes whole
// and tags, and refuses cut short, tagging nothing (so a connection lost
// mid-push leaves the host as it was).
func TestPushArchiveLoads(t *testing.T) {
	img := localImage(t, 512<<10)
	conn := &captureConn{}
	res, err := Push(context.Background(), conn, img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != int64(conn.got.Len()) || res.Layers != 1 || res.Omitted != 0 {
		t.Fatalf("result %+v, host got %d bytes", res, conn.got.Len())
	}
	archive := conn.got.Bytes()
	if out, err := exec.Command("docker", "rmi", img.Ref).CombinedOutput(); err != nil {
		t.Fatalf("rmi: %v %s", err, out)
	}
	if err := loadLocal(t, archive[:len(archive)/2]); err == nil {
		t.Fatal("a truncated archive loaded")
	}
	if exec.Command("docker", "image", "inspect", img.Ref).Run() == nil {
		t.Fatal("a truncated load tagged the image")
	}
	if err := loadLocal(t, archive); err != nil {
		t.Fatal(err)
	}
	if got := testimage.ImageID(t, img.Ref); got != img.ID {
		t.Fatalf("loaded %s as %s, want %s", img.Ref, got, img.ID)
	}

	// With the layer on the host, only metadata travels.
	conn = &captureConn{}
	res, err = Push(context.Background(), conn, img, Options{Have: [][]string{img.Layers}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Omitted != 1 || res.Sent > 4096 {
		t.Fatalf("with the layer on the host: %+v, want it omitted and a few hundred bytes", res)
	}
}

// TestPushLoadFails: a host whose docker load fails partway stops the push
// promptly (docker save is not left blocked) with an error that says the
// host was left as it was.
func TestPushLoadFails(t *testing.T) {
	img := localImage(t, 4<<20)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Push(ctx, &captureConn{failHalf: true}, img, Options{})
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a LoadError", err)
	}
	for _, want := range []string{"fake: push " + img.Ref, "nothing was tagged", "no space left on device"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if ctx.Err() != nil {
		t.Fatal("push did not return before the deadline")
	}
}

// TestPushFallsBackToWholeImage: an engine that refuses an archive without
// the layers it has gets the whole image in a second load.
func TestPushFallsBackToWholeImage(t *testing.T) {
	img := localImage(t, 64<<10)
	conn := &captureConn{noReuse: true}
	res, err := Push(context.Background(), conn, img, Options{Have: [][]string{img.Layers}})
	if err != nil {
		t.Fatal(err)
	}
	if len(conn.loads) != 2 || !res.Retried || conn.loads[1] < 64<<10 || res.Sent != conn.loads[0]+conn.loads[1] {
		t.Fatalf("loads %v, result %+v: want a small archive, then the whole image", conn.loads, res)
	}
}

func TestInspectMissing(t *testing.T) {
	testenv.NeedDocker(t)
	_, err := Inspect(context.Background(), []string{testimage.LocalRegistry + "berth-no-such-image:x"})
	var me *MissingError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "not in the local Docker engine") {
		t.Fatalf("err = %v, want a MissingError", err)
	}
}
