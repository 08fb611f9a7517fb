package fakeconn

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-sh/berth/remote"
)

// batch answers deploy's batch script (see internal/deploy/batch.go) from
// its args, step by step as the script takes them: each step is a call of
// its own (recorded, with Before and After, as the command it stands for,
// but not counted: the session is the round trip), reports go to stdout and
// answers come from in. A killed session (ctx done) stops where it is, as a
// killed script does. It returns the script's exit status.
func (c *Conn) batch(ctx context.Context, args []string, in io.Reader, out io.Writer) (int, error) {
	if len(args) < 2 {
		return 127, fmt.Errorf("fakeconn: batch wants DIR INFO, got %q", args)
	}
	b := &batchRun{c: c, ctx: ctx, in: bufio.NewReader(in), out: out}
	dir, info, ops := args[0], args[1], args[2:]
	word := func() string {
		if len(ops) == 0 {
			b.fatal = fmt.Errorf("fakeconn: batch: operation cut short")
			return "0"
		}
		w := ops[0]
		ops = ops[1:]
		return w
	}
	words := func() []string {
		n, err := strconv.Atoi(word())
		if err != nil || n > len(ops) {
			b.fatal = fmt.Errorf("fakeconn: batch: bad word count")
			return nil
		}
		w := ops[:n]
		ops = ops[n:]
		return w
	}
	ok := true
	for ok && len(ops) > 0 && b.fatal == nil {
		switch op := word(); op {
		case "act":
			ok = b.ask("act", word()) == "go"
		case "file":
			ok = b.file(word(), word())
		case "cmd":
			ok = b.cmd(words()) == 0
		case "ctr":
			f := make([]string, 8)
			for i := range f {
				f[i] = word()
			}
			run := words()
			ok = b.ctr(f, run, words())
		default:
			return 125, fmt.Errorf("fakeconn: batch: unknown operation %q", op)
		}
	}
	b.ask("release", "-")
	code := b.done(b.step(Call{Args: []string{"sh", "-s", "--", dir, info}, Script: Release}, nil))
	if b.fatal != nil {
		return 125, b.fatal
	}
	if b.killed != nil {
		return -1, b.killed
	}
	return code, nil
}

type batchRun struct {
	c      *Conn
	ctx    context.Context
	in     *bufio.Reader
	out    io.Writer
	killed error // the session was killed: nothing more happens
	fatal  error
}

type stepResult struct {
	code        int
	out, errOut string
}

func (b *batchRun) say(format string, a ...any) {
	if b.killed == nil {
		fmt.Fprintf(b.out, format, a...)
	}
}

// ask asks berth and returns the answer line; "" at end of input.
func (b *batchRun) ask(what, arg string) string {
	if b.killed != nil {
		return ""
	}
	b.say("### ask %s %s\n", what, arg)
	line, err := b.in.ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(line, "\n")
}

// step runs one call against the model (model, when set, instead of the
// call's own: an upload's).
func (b *batchRun) step(call Call, model func(out, errOut io.Writer) int) stepResult {
	if b.killed != nil || b.fatal != nil {
		return stepResult{code: -1}
	}
	if b.ctx.Err() != nil {
		b.killed = context.Cause(b.ctx)
		return stepResult{code: -1}
	}
	c := b.c
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
	if c.Before != nil {
		if err := c.Before(b.ctx, call); err != nil {
			var exit *remote.ExitError
			if errors.As(err, &exit) {
				return stepResult{code: exit.Code, errOut: exit.Stderr}
			}
			b.killed = err
			return stepResult{code: -1}
		}
	}
	var out, errOut bytes.Buffer
	c.H.mu.Lock()
	code := 0
	if model != nil {
		code = model(&out, &errOut)
	} else {
		code = c.H.exec(call, &out, &errOut)
	}
	c.H.mu.Unlock()
	if c.After != nil {
		c.After(b.ctx, call)
	}
	if b.ctx.Err() != nil {
		b.killed = context.Cause(b.ctx)
		return stepResult{code: -1}
	}
	return stepResult{code: code, out: out.String(), errOut: errOut.String()}
}

// done reports a step as the script does; text is its stderr, or its
// stdout for a wait.
func (b *batchRun) done(r stepResult) int {
	text := r.errOut
	if r.out != "" {
		text = r.out
	}
	b.say("### done %d\n", r.code)
	if t := strings.TrimRight(text, "\n"); t != "" {
		for _, l := range strings.Split(t, "\n") {
			b.say("|%s\n", l)
		}
	}
	b.say("### end\n")
	return r.code
}

func (b *batchRun) cmd(argv []string) int {
	r := b.step(Call{Args: slices.Clone(argv)}, nil)
	r.out = "" // a command's stdout is not reported
	return b.done(r)
}

// file reads a file's lines from berth and writes it, as an upload.
func (b *batchRun) file(p, mode string) bool {
	n, err := strconv.Atoi(b.ask("file", p))
	if err != nil {
		b.done(stepResult{code: 1, errOut: "no content for " + p + " on stdin"})
		return false
	}
	var data []byte
	for i := 0; i < n; i++ {
		line, err := b.in.ReadString('\n')
		if err != nil {
			b.done(stepResult{code: 1, errOut: "content for " + p + " cut short"})
			return false
		}
		data = append(data, line...)
	}
	r := b.step(Call{Upload: p}, func(_, errOut io.Writer) int {
		h := b.c.H
		if _, ok := h.Dirs[path.Dir(p)]; !ok || h.Denied[path.Dir(p)] {
			fmt.Fprintf(errOut, "%s: no such directory, or permission denied\n", p)
			return 1
		}
		h.Files[p] = &File{Data: data, ModTime: h.now()}
		return 0
	})
	return b.done(r) == 0
}

func (b *batchRun) script(kind Kind, args ...string) int {
	r := b.step(Call{Args: append([]string{"sh", "-s", "--"}, args...), Script: kind}, nil)
	r.out = ""
	return b.done(r)
}

func (b *batchRun) wait(name, secs string, start []string) int {
	b.say("### wait %s\n", name)
	r := b.step(Call{Args: append([]string{"sh", "-s", "--", name, secs}, start...), Script: Wait}, nil)
	r.errOut = ""
	return b.done(r)
}

func (b *batchRun) probe(on, name string) bool {
	return on != "1" || b.ask("probe", name) == "ok"
}

// ctr is the script's berth_ctr: f is MODE NAME BACKUP SECS PROBE REPROBE
// ENV MULTI.
func (b *batchRun) ctr(f, run, nets []string) bool {
	mode, name, backup, secs, probe, reprobe, env, multi := f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
	if mode == "replace" && b.script(SwapOut, name, backup) != 0 {
		return false
	}
	ok := true
	if env != "-" {
		ok = b.file(env, "600")
	}
	if ok && multi == "1" {
		ok = b.cmd(run) == 0
		run = nil
		for i := 0; ok && i < len(nets); i++ {
			ok = b.cmd([]string{"docker", "network", "connect", nets[i], name}) == 0
		}
	}
	ok = ok && b.wait(name, secs, run) == 0 && b.probe(probe, name)
	switch mode {
	case "start":
		return ok
	case "create":
		if !ok {
			b.cmd([]string{"docker", "rm", "-f", name})
		}
		return ok
	}
	if ok {
		b.cmd([]string{"docker", "rm", "-f", backup})
		return true
	}
	if b.script(Rollback, name, backup) == 0 && b.wait(name, secs, nil) == 0 {
		b.probe(reprobe, name)
	}
	return false
}
