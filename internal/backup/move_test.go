package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/berth-sh/berth/remote"
)

// fakeMove records the steps a move runs, fails the one named fail, and
// cancels the move's context as the one named cancelAfter succeeds; later
// steps then see the cancelled context.
type fakeMove struct {
	steps       []string
	fail        string
	cancelAfter string
	cancelIn    string
	cancel      context.CancelFunc
	healthy     bool // the destination's deploy returned healthy
}

func (f *fakeMove) step(ctx context.Context, name string) error {
	f.steps = append(f.steps, name)
	if name == "pointDNS" && !f.healthy {
		return errors.New("test: DNS changed before the destination was healthy")
	}
	if name == f.cancelIn {
		f.cancel() // arrives while the step runs: it sees its context's error
	}
	if name == f.cancelAfter {
		f.cancel() // arrives just as this step succeeded
		return nil
	}
	if name == f.fail {
		return errors.New("boom at " + name)
	}
	return ctx.Err()
}

func (f *fakeMove) lock(ctx context.Context) error       { return f.step(ctx, "lock") }
func (f *fakeMove) stopSource(ctx context.Context) error { return f.step(ctx, "stopSource") }
func (f *fakeMove) copyVolumes(ctx context.Context) error {
	return f.step(ctx, "copyVolumes")
}
func (f *fakeMove) deployDestination(ctx context.Context) error {
	err := f.step(ctx, "deployDestination")
	f.healthy = err == nil
	return err
}
func (f *fakeMove) pointDNS(ctx context.Context) error      { return f.step(ctx, "pointDNS") }
func (f *fakeMove) restartSource(ctx context.Context) error { return f.step(ctx, "restartSource") }
func (f *fakeMove) stopSourceStack(ctx context.Context) error {
	return f.step(ctx, "stopSourceStack")
}
func (f *fakeMove) destroySource(ctx context.Context) error { return f.step(ctx, "destroySource") }
func (f *fakeMove) unlock()                                 { f.steps = append(f.steps, "unlock") }

func TestMoveOrder(t *testing.T) {
	names := moveNames{source: "src", destination: "dst"}
	for _, tc := range []struct {
		name        string
		fail        string
		cancelAfter string
		cancelIn    string
		destroy     bool
		want        []string
		aborted     bool // a MoveAbortedError: the source serves, DNS as it was
		restarted   bool
	}{
		{name: "success", want: []string{"lock", "stopSource", "copyVolumes", "deployDestination", "pointDNS", "stopSourceStack", "unlock"}},
		{name: "success, destroy the source", destroy: true,
			want: []string{"lock", "stopSource", "copyVolumes", "deployDestination", "pointDNS", "stopSourceStack", "unlock", "destroySource", "unlock"}},
		{name: "lock fails: nothing stopped", fail: "lock", want: []string{"lock", "unlock"}},
		{name: "stop fails: restart what it stopped", fail: "stopSource", aborted: true, restarted: true,
			want: []string{"lock", "stopSource", "restartSource", "unlock"}},
		{name: "copy fails", fail: "copyVolumes", aborted: true, restarted: true,
			want: []string{"lock", "stopSource", "copyVolumes", "restartSource", "unlock"}},
		{name: "destination never healthy", fail: "deployDestination", aborted: true, restarted: true,
			want: []string{"lock", "stopSource", "copyVolumes", "deployDestination", "restartSource", "unlock"}},
		{name: "DNS change fails", fail: "pointDNS", aborted: true, restarted: true,
			want: []string{"lock", "stopSource", "copyVolumes", "deployDestination", "pointDNS", "restartSource", "unlock"}},
		{name: "Ctrl-C during the copy", cancelAfter: "copyVolumes", aborted: true, restarted: true,
			want: []string{"lock", "stopSource", "copyVolumes", "deployDestination", "restartSource", "unlock"}},
		{name: "Ctrl-C as the destination turns healthy: still no DNS change", cancelAfter: "deployDestination", aborted: true, restarted: true,
			want: []string{"lock", "stopSource", "copyVolumes", "deployDestination", "restartSource", "unlock"}},
		{name: "Ctrl-C during the DNS change: it completes", cancelAfter: "pointDNS",
			want: []string{"lock", "stopSource", "copyVolumes", "deployDestination", "pointDNS", "stopSourceStack", "unlock"}},
		{name: "Ctrl-C while DNS changes: the flip runs to its end", cancelIn: "pointDNS",
			want: []string{"lock", "stopSource", "copyVolumes", "deployDestination", "pointDNS", "stopSourceStack", "unlock"}},
		{name: "stopping the source fails after the flip: no restart", fail: "stopSourceStack",
			want: []string{"lock", "stopSource", "copyVolumes", "deployDestination", "pointDNS", "stopSourceStack", "unlock"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &fakeMove{fail: tc.fail, cancelAfter: tc.cancelAfter, cancelIn: tc.cancelIn, cancel: cancel}
			_, err := runMove(ctx, f, names, tc.destroy)
			if !slices.Equal(f.steps, tc.want) {
				t.Errorf("steps\n got %v\nwant %v", f.steps, tc.want)
			}
			if i := slices.Index(f.steps, "pointDNS"); i >= 0 && !f.healthy {
				t.Errorf("DNS changed before the destination was healthy: %v", f.steps)
			}
			if (err == nil) != (tc.fail == "" && (tc.cancelAfter == "" || tc.cancelAfter == "pointDNS")) {
				t.Fatalf("err = %v", err)
			}
			var aborted *MoveAbortedError
			if errors.As(err, &aborted) != tc.aborted {
				t.Fatalf("err = %v, aborted want %t", err, tc.aborted)
			}
			if !tc.aborted {
				return
			}
			if aborted.Restarted != tc.restarted {
				t.Errorf("Restarted = %t, want %t", aborted.Restarted, tc.restarted)
			}
			msg := err.Error()
			if !strings.Contains(msg, "restarted and serves again") {
				t.Errorf("the error does not say the source serves again: %q", msg)
			}
			if wantDNS := tc.fail != "pointDNS"; strings.Contains(msg, "DNS was not changed") != wantDNS {
				t.Errorf("the error misstates DNS: %q", msg)
			}
		})
	}
}

func TestMoveRestartFailureIsReported(t *testing.T) {
	f := &fakeMove{fail: "copyVolumes"}
	// restartSource fails too: a second fake step failure.
	rf := &restartFails{fakeMove: f}
	_, err := runMove(context.Background(), rf, moveNames{source: "src", destination: "dst"}, false)
	if err == nil || !strings.Contains(err.Error(), "it does not serve; run berth deploy there") {
		t.Fatalf("err = %v, want the failed restart named", err)
	}
}

type restartFails struct{ *fakeMove }

func (r *restartFails) restartSource(ctx context.Context) error {
	r.steps = append(r.steps, "restartSource")
	return errors.New("no")
}

// pipeConn is one end of a volume's stream: the source writes out its
// stdout, failing with srcErr after it; the destination reads its stdin
// (stopping after readMax bytes, as tar stops at its end marker) and exits
// with dstCode.
type pipeConn struct {
	name    string
	out     []byte
	srcErr  error
	got     []byte
	readMax int
	dstCode int
}

func (c *pipeConn) Host() string { return c.name }
func (c *pipeConn) Close() error { return nil }
func (c *pipeConn) Upload(context.Context, string, []byte, os.FileMode) error {
	return errors.New("no uploads")
}

func (c *pipeConn) Run(ctx context.Context, cmd remote.Cmd) error {
	if cmd.Stdout != nil && c.out != nil { // the source's archive script
		for i := 0; i < len(c.out); i += 4096 {
			if _, err := cmd.Stdout.Write(c.out[i:min(i+4096, len(c.out))]); err != nil {
				return err
			}
		}
		return c.srcErr
	}
	r := io.Reader(cmd.Stdin)
	if c.readMax < 0 {
		return &remote.ExitError{Host: c.name, Code: c.dstCode}
	}
	if c.readMax > 0 {
		r = io.LimitReader(r, int64(c.readMax))
	}
	b, err := io.ReadAll(r)
	c.got = b
	if err != nil {
		return err
	}
	if c.dstCode != 0 {
		return &remote.ExitError{Host: c.name, Code: c.dstCode}
	}
	return nil
}

func TestStreamVolume(t *testing.T) {
	data := bytes.Repeat([]byte("volume data "), 100000) // 1.2 MB: many pipe writes
	for _, tc := range []struct {
		name    string
		srcErr  error
		readMax int
		dstCode int
		want    string // in the error; "" means success
	}{
		{name: "every byte arrives"},
		{name: "the destination stops at tar's end marker: the padding is drained", readMax: len(data) / 2},
		{name: "the source fails: its error, not the destination's", srcErr: errors.New("tar: read error"), want: "archive volume v on src: tar: read error"},
		{name: "the destination holds data", dstCode: 3, want: "already hold data"},
		{name: "the destination refuses before reading: its error, not the source's", readMax: -1, dstCode: 3, want: "already hold data"},
		{name: "the destination fails", dstCode: 2, want: "restore volume v"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &pipeConn{name: "src", out: data, srcErr: tc.srcErr}
			dst := &pipeConn{name: "dst", readMax: tc.readMax, dstCode: tc.dstCode}
			n, err := streamVolume(context.Background(), src, dst, "v", "/mp", "s", "fresh")
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(data)) {
				t.Errorf("counted %d bytes, sent %d", n, len(data))
			}
			if tc.readMax == 0 && !bytes.Equal(dst.got, data) {
				t.Errorf("the destination got %d bytes, want the source's %d", len(dst.got), len(data))
			}
		})
	}
}
