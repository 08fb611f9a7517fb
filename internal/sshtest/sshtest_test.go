package sshtest_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/sshtest"
	"github.com/berth-sh/berth/remote"
)

func TestStartParallel(t *testing.T) {
	for i := 1; i <= 5; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		t.Run(ip, func(t *testing.T) {
			t.Parallel()
			srv := sshtest.Start(t, sshtest.ListenAddr(ip))
			if srv.Host != ip || !strings.HasPrefix(srv.Addr, ip+":") {
				t.Fatalf("server on %s, want %s", srv.Addr, ip)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, err := remote.DialSSH(ctx, srv.Target(), srv.Options())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var out bytes.Buffer
			if err := c.Run(ctx, remote.Cmd{Args: []string{"echo", "hello"}, Stdout: &out}); err != nil {
				t.Fatal(err)
			}
			if out.String() != "hello\n" {
				t.Fatalf("got %q", out.String())
			}
			if n := srv.Connections(); n != 1 {
				t.Fatalf("sshd counted %d connections, want 1\n%s", n, srv.Log())
			}
		})
	}
}

func TestStopDropsConnections(t *testing.T) {
	srv := sshtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := remote.DialSSH(ctx, srv.Target(), srv.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv.Stop()
	if err := c.Run(ctx, remote.Cmd{Args: []string{"true"}}); err == nil {
		t.Fatal("command on a stopped server succeeded")
	}
	opts := srv.Options()
	opts.ConnectTimeout = 500 * time.Millisecond
	if _, err := remote.DialSSH(ctx, srv.Target(), opts); err == nil {
		t.Fatal("dial to a stopped server succeeded")
	}
}
