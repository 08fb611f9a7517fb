package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// berthCtx runs the app in-process under ctx, as main does with a signal's
// cancellation.
func berthCtx(t *testing.T, ctx context.Context, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := NewApp(strings.NewReader(""), &out, &errOut).Run(ctx, append([]string{"berth"}, args...))
	t.Logf("berth %s\n-> exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return out.String(), errOut.String(), code
}

// The repro of a Ctrl-C while the old container is being moved aside: it left
// the old one stopped as NAME.berth-old and nothing under NAME. Now the swap
// runs to its end and the new version serves.
func TestInterruptWhileMovingAsideLeavesAVersionServing(t *testing.T) {
	e := newStackEnv(t)
	web := e.prefix + "web"
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("deploy exit %d", code)
	}
	held, release := e.pauseDocker(t, "stop")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := make(chan int)
	go func() {
		_, _, code := berthCtx(t, ctx, e.args("deploy", "--var", "greeting=new")...)
		done <- code
	}()
	held() // swapOutScript has renamed web and is stopping it
	cancel()
	release()
	code := <-done
	if code != 0 && code != exitInterrupted {
		t.Errorf("exit %d", code)
	}
	if st, body := httpDo(t, "GET", e.url("/"), ""); st != 200 || !strings.Contains(body, "greeting=") {
		t.Fatalf("after the interrupt web answers %d %q", st, body)
	}
	if containerID(t, web+".berth-old") != "" {
		t.Error("the backup is still there")
	}
	out, _, code := berth(t, e.args("deploy", "--var", "greeting=new")...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, out)
	}
	if _, body := httpDo(t, "GET", e.url("/"), ""); !strings.Contains(body, "greeting=new") {
		t.Errorf("after the rerun web serves %q", body)
	}
	if _, _, code := berth(t, e.args("plan", "--var", "greeting=new")...); code != 0 {
		t.Errorf("plan after the rerun: exit %d", code)
	}
	if e.lockExists() {
		t.Error("a lock was left behind")
	}
}

// After a failed replacement, berth says the previous version is restored and
// serving only when it is, and never pastes the docker CLI's help.
func TestFailedReplaceReportsPlainly(t *testing.T) {
	e := newStackEnv(t)
	if _, _, code := berth(t, e.args("deploy")...); code != 0 {
		t.Fatalf("deploy exit %d", code)
	}
	// The new version wants a port something else holds: docker run fails.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, port, _ := net.SplitHostPort(busy.Addr().String())
	out, errOut, code := berth(t, e.args("deploy", "--var", "web_port="+port)...)
	if code != exitFailure || !strings.Contains(errOut, "previous version restored and serving") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if !strings.Contains(errOut, "address already in use") || strings.Contains(out+errOut, "--help") {
		t.Errorf("the error is not docker's plain reason:\n%s\n%s", out, errOut)
	}
	if st, body := httpDo(t, "GET", e.url("/"), ""); st != 200 || !strings.Contains(body, "greeting=hello") {
		t.Errorf("the restored version answers %d %q", st, body)
	}
}
