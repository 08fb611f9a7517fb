package fakeconn

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berth-sh/berth/remote"
)

// TestUnmodelledCommandsFail: what the fake does not model fails loudly
// (status 127), so no test passes because a command was ignored; and a
// command is not sent on a cancelled context.
func TestUnmodelledCommandsFail(t *testing.T) {
	c := &Conn{H: NewHost(nil), Scripts: map[string]Kind{"echo known\n": Forget}}
	tests := []struct {
		name string
		cmd  remote.Cmd
	}{
		{"not docker", remote.Cmd{Args: []string{"rm", "-rf", "/"}}},
		{"unknown docker command", remote.Cmd{Args: []string{"docker", "exec", "web", "sh"}}},
		{"unknown docker run flag", remote.Cmd{Args: []string{"docker", "run", "-d", "--privileged", "x"}}},
		{"unknown script", remote.Cmd{Args: []string{"sh", "-s", "--", "a"}, Stdin: strings.NewReader("echo unknown\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Run(context.Background(), tt.cmd)
			var x *remote.ExitError
			if !errors.As(err, &x) || (x.Code != 127 && x.Code != 125) {
				t.Errorf("run %q: %v, want an exit status 127 (125 from docker run)", tt.cmd.Args, err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := len(c.Calls())
	if err := c.Run(ctx, remote.Cmd{Args: []string{"docker", "start", "x"}}); !errors.Is(err, context.Canceled) || len(c.Calls()) != n {
		t.Errorf("run on a cancelled context: %v, %d calls sent", err, len(c.Calls())-n)
	}
}

// TestRunThenInspect: a container run through the fake shows in the observe
// output with its labels, and a second run under the same name conflicts.
func TestRunThenInspect(t *testing.T) {
	h := NewHost(map[string]string{"img:1": "sha256:i1"})
	c := &Conn{H: h, Scripts: map[string]Kind{"observe\n": Observe}}
	run := remote.Cmd{Args: []string{"docker", "run", "-d", "--name", "a", "--label", "berth.stack=s", "-p", "8080:80", "img:1"}}
	if err := c.Run(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	var x *remote.ExitError
	if err := c.Run(context.Background(), run); !errors.As(err, &x) || x.Code != 125 {
		t.Errorf("second run under the same name: %v", err)
	}
	var out bytes.Buffer
	obs := remote.Cmd{Args: []string{"sh", "-s", "--", "/r", "s", "peek", "", "0", "0", "0", "s", "--", "--", "--", "img:1"}, Stdin: strings.NewReader("observe\n"), Stdout: &out}
	if err := c.Run(context.Background(), obs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### state\n/r/s\nabsent\n", `"Name":"/a"`, `"berth.stack":"s"`, `"HostPort":"8080"`, `"Id":"sha256:i1"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("observe output lacks %q:\n%s", want, out.String())
		}
	}
	if c.Stats().Commands != 3 {
		t.Errorf("counted %d commands, want 3", c.Stats().Commands)
	}
}
