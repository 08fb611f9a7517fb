package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-sh/berth/remote"
)

// executor carries out the applier's steps: one command, script or upload
// per round trip (direct), or as the steps of one running batchScript
// (batchRun), which runs them without waiting for berth and only reports.
type executor interface {
	// checkpoint comes before each action: an error (the run was
	// cancelled) means apply no further.
	checkpoint(ctx context.Context, action int) error
	command(ctx context.Context, args []string) error
	script(ctx context.Context, script string, args ...string) error
	upload(ctx context.Context, path string, data []byte, mode os.FileMode) error
	// wait runs waitScript with args, bounded by timeout, returning its stdout.
	wait(ctx context.Context, timeout time.Duration, args []string) (string, error)
	// probe runs the ready probe f for container name.
	probe(ctx context.Context, name string, f func() error) error
}

// direct runs each step as its own round trip on conn.
type direct struct{ conn remote.Conn }

func (d direct) checkpoint(ctx context.Context, _ int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	return nil
}

func (d direct) command(ctx context.Context, args []string) error {
	return d.conn.Run(ctx, remote.Cmd{Args: args})
}

func (d direct) script(ctx context.Context, script string, args ...string) error {
	return remote.Script(ctx, d.conn, script, nil, args...)
}

func (d direct) upload(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	return d.conn.Upload(ctx, path, data, mode)
}

func (d direct) wait(ctx context.Context, timeout time.Duration, args []string) (string, error) {
	var out bytes.Buffer
	err := remote.ScriptWithin(ctx, d.conn, timeout, waitScript, &out, args...)
	return out.String(), err
}

func (d direct) probe(_ context.Context, _ string, f func() error) error { return f() }

// batchRecord is one thing batchScript reported.
type batchRecord struct {
	kind string // "ask", "wait" or "done"
	what string // ask: act, file, probe, release
	arg  string // ask: its argument; wait: the container
	code int    // done: the step's exit status
	out  string // done: its output
}

func (r batchRecord) String() string {
	switch r.kind {
	case "ask":
		return "ask " + r.what + " " + r.arg
	case "wait":
		return "wait " + r.arg
	case "done":
		return "done " + strconv.Itoa(r.code)
	}
	return "end of the batch"
}

// batchRun is one batchScript session as an executor: each step the applier
// takes reads what the script reported for it (the script runs ahead), and
// answers what the script asks. The applier and the script follow the same
// plan by the same rules; a report that is not the one expected ends the
// session.
type batchRun struct {
	conn    remote.Conn
	records chan batchRecord
	stdin   *answers
	kill    context.CancelFunc
	step    time.Duration // bounds a step without a wait of its own
	ended   chan struct{}
	err     error // the session's, once ended is closed
	// beforeRelease runs when the script is about to release the lock.
	beforeRelease func()

	mu   sync.Mutex
	dead error // the session was given up on: no action starts, what finishes one goes direct
	quit chan struct{}
}

// startBatch starts batchScript with args; bound limits the whole session,
// step each step without a wait of its own.
func startBatch(ctx context.Context, conn remote.Conn, bound, step time.Duration, args []string) *batchRun {
	// The session outlives a cancel of ctx: a swap in progress must finish.
	// The steps that may be interrupted kill it themselves.
	sctx, kill := context.WithCancel(context.WithoutCancel(ctx))
	b := &batchRun{conn: conn, records: make(chan batchRecord, 64), stdin: newAnswers(), kill: kill, step: step, ended: make(chan struct{}), quit: make(chan struct{})}
	lines := &recordWriter{out: b.records, quit: b.quit, exited: b.stdin.close}
	go func() {
		defer close(b.ended)
		defer close(b.records)
		b.err = conn.Run(sctx, remote.Cmd{
			Args:    append([]string{"sh", "-s", "--"}, args...),
			Stdin:   io.MultiReader(strings.NewReader(batchScript), b.stdin),
			Stdout:  lines,
			Timeout: bound,
		})
		lines.flush()
	}()
	return b
}

// next is the script's next report. A cancel of ctx kills the session.
func (b *batchRun) next(ctx context.Context, want string) (batchRecord, error) {
	select {
	case r, ok := <-b.records:
		if !ok {
			<-b.ended
			return r, b.die(fmt.Errorf("batch on %s ended early: %w", b.conn.Host(), orEnded(b.err)))
		}
		if r.kind != want {
			return r, b.die(fmt.Errorf("batch on %s: got %q where %s was due", b.conn.Host(), r, want))
		}
		return r, nil
	case <-ctx.Done():
		return batchRecord{}, b.die(context.Cause(ctx))
	}
}

func orEnded(err error) error {
	if err == nil {
		return errors.New("the script exited")
	}
	return err
}

// die gives the session up: it is killed and its answers end, so a script
// that runs on (sshd does not signal root's sessions) stops at its next
// question and releases the lock itself.
func (b *batchRun) die(err error) error {
	b.mu.Lock()
	if b.dead == nil {
		b.dead = err
		close(b.quit)
	}
	b.mu.Unlock()
	b.stdin.close()
	b.kill()
	return err
}

func (b *batchRun) isDead() bool { return b.deadErr() != nil }

func (b *batchRun) deadErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dead
}

// ask reads the script's question; it comes right after the previous step,
// so a cancel does not interrupt the wait for it.
func (b *batchRun) ask(ctx context.Context, what string) (batchRecord, error) {
	r, err := b.next(context.WithoutCancel(ctx), "ask")
	if err == nil && r.what != what {
		err = b.die(fmt.Errorf("batch on %s: got %q where ask %s was due", b.conn.Host(), r, what))
	}
	return r, err
}

// checkpoint answers the script's question before an action. Once the
// session is gone no action starts: only what finishes a started one (a
// rollback, a cleanup) goes on, each step in a round trip of its own.
func (b *batchRun) checkpoint(ctx context.Context, action int) error {
	if err := b.deadErr(); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	r, err := b.ask(ctx, "act")
	if err != nil {
		return err
	}
	if r.arg != strconv.Itoa(action) {
		return b.die(fmt.Errorf("batch on %s: asked about action %s, not %d", b.conn.Host(), r.arg, action))
	}
	if err := ctx.Err(); err != nil {
		b.stdin.send("stop\n")
		return fmt.Errorf("apply: %w", err)
	}
	b.stdin.send("go\n")
	return nil
}

// done reads a step's report as the error a direct run of argv would give.
func (b *batchRun) done(ctx context.Context, argv []string) (string, error) {
	r, err := b.next(ctx, "done")
	if err != nil {
		return "", err
	}
	if r.code != 0 {
		return r.out, &remote.ExitError{Host: b.conn.Host(), Args: argv, Code: r.code, Stderr: r.out}
	}
	return r.out, nil
}

// stepDone is done for a step without a wait: bounded as one command.
func (b *batchRun) stepDone(ctx context.Context, argv []string) error {
	ctx, cancel := context.WithTimeout(ctx, b.step)
	defer cancel()
	_, err := b.done(ctx, argv)
	return err
}

func (b *batchRun) command(ctx context.Context, args []string) error {
	if b.isDead() {
		return direct{b.conn}.command(ctx, args)
	}
	return b.stepDone(ctx, args)
}

func (b *batchRun) script(ctx context.Context, script string, args ...string) error {
	if b.isDead() {
		return direct{b.conn}.script(ctx, script, args...)
	}
	return b.stepDone(ctx, append([]string{"sh", "-s", "--"}, args...))
}

func (b *batchRun) upload(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	if b.isDead() {
		return direct{b.conn}.upload(ctx, path, data, mode)
	}
	r, err := b.ask(ctx, "file")
	if err != nil {
		return err
	}
	if r.arg != path {
		return b.die(fmt.Errorf("batch on %s: asked for %s, not %s", b.conn.Host(), r.arg, path))
	}
	// The script writes each line back with its newline: the contents are
	// env files, whole lines.
	var lines []string
	if len(data) > 0 {
		lines = strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	msg := strconv.Itoa(len(lines)) + "\n"
	for _, l := range lines {
		msg += l + "\n"
	}
	b.stdin.send(msg)
	if err := b.stepDone(ctx, []string{"upload", path}); err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	return nil
}

func (b *batchRun) wait(ctx context.Context, timeout time.Duration, args []string) (string, error) {
	if b.isDead() {
		return direct{b.conn}.wait(ctx, timeout, args)
	}
	r, err := b.next(ctx, "wait")
	if err != nil {
		return "", err
	}
	if r.arg != args[0] {
		return "", b.die(fmt.Errorf("batch on %s: waits for %s, not %s", b.conn.Host(), r.arg, args[0]))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return b.done(ctx, append([]string{"sh", "-s", "--"}, args...))
}

func (b *batchRun) probe(ctx context.Context, name string, f func() error) error {
	if b.isDead() {
		return f()
	}
	r, err := b.ask(ctx, "probe")
	if err != nil {
		return err
	}
	if r.arg != name {
		return b.die(fmt.Errorf("batch on %s: probes %s, not %s", b.conn.Host(), r.arg, name))
	}
	err = f()
	if err != nil {
		b.stdin.send("fail\n")
		return err
	}
	b.stdin.send("ok\n")
	return nil
}

// finish lets the script release the lock and waits for the session to end.
// It says whether the lock was released.
func (b *batchRun) finish(ctx context.Context) (bool, error) {
	defer func() {
		b.stdin.close()
		<-b.ended
	}()
	if b.isDead() {
		return false, nil
	}
	if _, err := b.ask(ctx, "release"); err != nil {
		return false, nil
	}
	if b.beforeRelease != nil {
		b.beforeRelease()
	}
	b.stdin.send("go\n")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if _, err := b.done(ctx, []string{"sh", "-s", "--", "release"}); err != nil {
		return false, fmt.Errorf("release deploy lock: %w", err)
	}
	return true, nil
}

// recordWriter parses the script's stdout into records as it streams.
type recordWriter struct {
	out     chan<- batchRecord
	quit    <-chan struct{} // closed: nobody reads records any more
	exited  func()          // the script said it exits
	partial []byte
	cur     *batchRecord // a done record whose output is being read
	lines   []string
}

func (w *recordWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
}

func (w *recordWriter) flush() {
	if len(w.partial) > 0 {
		w.line(string(w.partial))
		w.partial = nil
	}
}

func (w *recordWriter) line(l string) {
	if w.cur != nil {
		switch {
		case strings.HasPrefix(l, "|"):
			w.lines = append(w.lines, l[1:])
		case l == "### end":
			w.cur.out = strings.Join(w.lines, "\n")
			w.send(*w.cur)
			w.cur, w.lines = nil, nil
		}
		return
	}
	rest, ok := strings.CutPrefix(l, "### ")
	if !ok {
		return
	}
	word, arg, _ := strings.Cut(rest, " ")
	switch word {
	case "ask":
		what, a, _ := strings.Cut(arg, " ")
		w.send(batchRecord{kind: "ask", what: what, arg: a})
	case "wait":
		w.send(batchRecord{kind: "wait", arg: arg})
	case "exit":
		w.exited()
	case "done":
		code, err := strconv.Atoi(arg)
		if err != nil {
			code = -1
		}
		w.cur = &batchRecord{kind: "done", code: code}
	}
}

func (w *recordWriter) send(r batchRecord) {
	select {
	case w.out <- r:
	case <-w.quit:
	}
}

// answers is the script's stdin after the script: what berth writes never
// blocks, and reads wait for it.
type answers struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool
}

func newAnswers() *answers {
	a := &answers{}
	a.cond = sync.NewCond(&a.mu)
	return a
}

func (a *answers) send(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.buf = append(a.buf, s...)
		a.cond.Broadcast()
	}
}

func (a *answers) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	a.cond.Broadcast()
}

func (a *answers) Read(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.buf) == 0 && !a.closed {
		a.cond.Wait()
	}
	if len(a.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, a.buf)
	a.buf = a.buf[n:]
	return n, nil
}
