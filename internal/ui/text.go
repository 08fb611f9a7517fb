package ui

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Text renders events for people: progress to errOut, results to out, one
// line at a time, each per-host line prefixed with its host. Summary rows
// are held until the RunSummary that closes them, to print one table.
type Text struct {
	mu    sync.Mutex
	out   io.Writer
	err   io.Writer
	quiet bool
	rows  []Summary
}

// NewText returns a handler for people. Quiet drops progress lines.
func NewText(out, errOut io.Writer, quiet bool) *Text {
	return &Text{out: out, err: errOut, quiet: quiet}
}

// stream is where a line goes: results, progress (dropped by quiet) or
// warnings (always shown).
type stream int

const (
	toOut stream = iota
	toProgress
	toWarn
)

func (t *Text) Handle(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := e.(type) {
	case Progress:
		t.print(toProgress, e.Host, e.Message)
	case Warning:
		t.print(toWarn, e.Host, e.Message)
	case Plan:
		var b strings.Builder
		WritePlan(&b, e)
		t.print(toOut, e.Host, b.String())
	case Action:
		t.print(toProgress, e.Host, fmt.Sprintf("%s %s %s", e.Kind, e.Object, e.Name))
	case Wait:
		t.print(toProgress, e.Host, waitText(e))
	case Lock:
		holder := HolderName(e.Holder)
		if e.Status == LockBroken {
			t.print(toWarn, e.Host, fmt.Sprintf("broke the stale deploy lock held by %s: no heartbeat for %s (--lock-stale %s)",
				holder, time.Duration(e.Age), time.Duration(e.Stale)))
			return
		}
		t.print(toProgress, e.Host, "waiting for the deploy lock held by "+holder)
	case DNS:
		t.dns(e)
	case Status:
		t.print(toOut, e.Host, statusText(e))
	case Transfer:
		t.print(toProgress, e.Host, transferText(e))
	case Summary:
		t.rows = append(t.rows, e)
	case RunSummary:
		t.runSummary(e)
	case Bootstrap:
		msg := fmt.Sprintf("bootstrapped %s: %s; Docker %s", e.OS, strings.Join(e.Changes, "; "), e.Docker)
		if len(e.Changes) == 0 {
			msg = fmt.Sprintf("ready: Docker %s, nothing to change", e.Docker)
		}
		t.print(toOut, e.Host, msg)
	case Backup:
		secrets := "no secrets"
		if e.Secrets {
			secrets = "secrets encrypted"
		}
		t.print(toOut, e.Host, fmt.Sprintf("backup %s: %d volume(s), %d bytes compressed, %s, method %s, downtime %s",
			e.Dir, e.Volumes, e.Bytes, secrets, e.Method, time.Duration(e.Downtime).Round(time.Millisecond)))
	case Pruned:
		t.print(toProgress, e.Host, "pruned backup "+e.Backup)
	case Restore:
		t.print(toOut, e.Host, fmt.Sprintf("restored %d volume(s) from %s (taken %s on %s), deployed healthy; downtime %s",
			len(e.Volumes), e.From, e.Taken.Format(time.RFC3339), e.TakenOn, time.Duration(e.Downtime).Round(time.Millisecond)))
	case Unlock:
		t.print(toOut, e.Host, unlockText(e))
	case Move:
		t.print(toOut, e.Host, moveText(e))
	default:
		t.print(toWarn, "", fmt.Sprintf("event %s has no text form", e.EventType()))
	}
}

// print writes msg's lines to s, each prefixed with the host (when any).
func (t *Text) print(s stream, host, msg string) {
	w := t.out
	if s != toOut {
		w = t.err
	}
	if s == toProgress && t.quiet {
		return
	}
	prefix := ""
	if host != "" {
		prefix = host + ": "
	}
	if s == toWarn {
		prefix += "warning: "
	}
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(&b, "%s%s\n", prefix, line)
	}
	_, _ = w.Write(b.Bytes())
}

func waitText(e Wait) string {
	timeout, elapsed := time.Duration(e.Timeout), time.Duration(e.Elapsed).Round(time.Second)
	switch {
	case e.Status == WaitFailed:
		return fmt.Sprintf("%s: not ready after %s", e.Container, elapsed)
	case e.Status == WaitStarted && e.Phase == WaitProbe:
		return fmt.Sprintf("waiting up to %s for %s to answer %s", timeout, e.Container, e.URL)
	case e.Status == WaitStarted:
		return fmt.Sprintf("waiting up to %s for %s to be %s", timeout, e.Container, e.Until)
	case e.Phase == WaitProbe:
		return fmt.Sprintf("%s answers %s (after %s)", e.Container, e.URL, elapsed)
	}
	return fmt.Sprintf("%s is %s (after %s)", e.Container, e.Until, elapsed)
}

func (t *Text) dns(e DNS) {
	switch e.Status {
	case DNSSkipped:
		t.print(toWarn, "", fmt.Sprintf("dns %s: no healthy host, record left alone", e.Name))
	case DNSPlanned:
		t.print(toOut, "", DNSLine(e))
	case DNSUpdating:
		t.print(toProgress, "", fmt.Sprintf("dns %s: updating, then waiting for INSYNC", e.Name))
	case DNSUpdated:
		t.print(toProgress, "", fmt.Sprintf("dns %s: now %v", e.Name, e.After))
	}
}

// DNSLine renders a planned record change as a plan line:
//
//   - dns blog.example.com A 1.2.3.4 (ttl 60)
//     ~ dns blog.example.com A 1.2.3.4 -> 1.2.3.4, 5.6.7.8 (ttl 60)
//     = dns blog.example.com A 1.2.3.4 (unchanged)
func DNSLine(e DNS) string {
	after := strings.Join(e.After, ", ")
	switch {
	case !e.Changed:
		return fmt.Sprintf("= dns %s %s %s (unchanged)", e.Record, e.Type, after)
	case len(e.Before) == 0:
		return fmt.Sprintf("+ dns %s %s %s (ttl %d)", e.Record, e.Type, after, e.TTL)
	}
	ttl := fmt.Sprintf("ttl %d", e.TTL)
	if e.BeforeTTL != e.TTL {
		ttl = fmt.Sprintf("ttl %d -> %d", e.BeforeTTL, e.TTL)
	}
	return fmt.Sprintf("~ dns %s %s %s -> %s (%s)", e.Record, e.Type, strings.Join(e.Before, ", "), after, ttl)
}

// runSummary closes the run: the table of the Summary rows before it (or,
// when nothing needed a change, one line on stderr so scheduled runs stay
// quiet), or without rows what the run cost.
func (t *Text) runSummary(e RunSummary) {
	rows := t.rows
	t.rows = nil
	switch {
	case len(rows) == 0:
		t.print(toProgress, "", fmt.Sprintf("%d host(s): %d SSH connection(s), %d round trip(s)", e.Hosts, e.Connections, e.RoundTrips))
	case e.InSync:
		t.print(toProgress, "", fmt.Sprintf("in sync: %d host(s), nothing to change (%d SSH connection(s), %d round trip(s), %s)",
			e.Hosts, e.Connections, e.RoundTrips, time.Duration(e.Duration).Round(time.Millisecond)))
	default:
		t.print(toOut, "", summaryTable(rows, e))
	}
}

func summaryTable(rows []Summary, e RunSummary) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	// PUSHED only in runs that pushed images: the bytes sent to each host.
	pushed := slices.ContainsFunc(rows, func(r Summary) bool { return r.Pushed > 0 })
	pushedHead := ""
	if pushed {
		pushedHead = "PUSHED\t"
	}
	fmt.Fprintln(tw, "HOST\tCHANGES\t"+pushedHead+"CONNECTIONS\tROUND TRIPS\tDURATION\tRESULT")
	for _, r := range rows {
		result := r.Result
		switch r.Result {
		case SummarySkipped:
			result = "skipped (rollout stopped)"
		case SummaryFailed:
			result = "FAILED: " + r.Error
		}
		pushedCell := ""
		if pushed {
			pushedCell = mib(r.Pushed) + "\t"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s%d\t%d\t%s\t%s\n", r.Host, r.Changes, pushedCell, r.Connections, r.RoundTrips,
			time.Duration(r.Duration).Round(time.Millisecond), result)
	}
	tw.Flush()
	if e.Skipped > 0 {
		fmt.Fprintf(&b, "%d of %d host(s) done; %d failed, %d not converged (skipped)\n", e.OK, e.Hosts, e.Failed, e.Skipped)
	}
	return b.String()
}

// statusText lays out one host's observed stack, one table per section,
// each as wide as its longest name.
func statusText(e Status) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tSTATE\tHEALTH\tPORTS\tIMAGE")
	for _, c := range e.Containers {
		if c.State == "absent" {
			fmt.Fprintf(tw, "%s\tabsent\t-\t-\t-\n", c.Name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.State, dash(c.Health), dash(strings.Join(c.Ports, ",")), c.Image)
	}
	tw.Flush()
	fmt.Fprintln(tw, "VOLUME\tMOUNTPOINT")
	for _, v := range e.Volumes {
		fmt.Fprintf(tw, "%s\t%s\n", v.Name, v.Mountpoint)
	}
	tw.Flush()
	fmt.Fprintln(tw, "NETWORK\tDRIVER")
	for _, n := range e.Networks {
		fmt.Fprintf(tw, "%s\t%s\n", n.Name, n.Driver)
	}
	tw.Flush()
	for _, f := range e.Foreign {
		fmt.Fprintf(&b, "foreign %s: not this stack's; deploy stops on it\n", f.String())
	}
	if e.LockHeld {
		fmt.Fprintf(&b, "deploy lock held for %s by %s\n", time.Duration(e.LockAge), e.LockHolder)
	}
	return b.String()
}

// HolderName is a lock holder as people read it.
func HolderName(h string) string {
	if h == "" {
		return "a run that left no holder information"
	}
	return h
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func unlockText(e Unlock) string {
	var msg string
	switch {
	case !e.Removed:
		msg = "no lock was held (" + e.Lock + " does not exist)"
	case e.Holder == "":
		msg = fmt.Sprintf("removed the lock %s, which named no holder (a run crashed while taking it %s ago)", e.Lock, time.Duration(e.Age))
	default:
		msg = fmt.Sprintf("removed the lock %s held by %s (last heartbeat %s ago)", e.Lock, e.Holder, time.Duration(e.Age))
	}
	if e.RemovedBreak {
		msg += "; also removed a lock.break left by a run killed while breaking a stale lock"
	}
	return msg
}

// transferText is an image push as people read it: what goes, how fast, and
// what of the image was sent in the end.
func transferText(e Transfer) string {
	elapsed := time.Duration(e.Elapsed)
	switch e.Status {
	case TransferStarted:
		return fmt.Sprintf("pushing %s (%d layers)", e.Image, e.Layers)
	case TransferProgress:
		eta := ""
		if e.Left > 0 {
			eta = fmt.Sprintf(", about %s left", time.Duration(e.Left).Round(time.Second))
		}
		return fmt.Sprintf("pushing %s: %s sent, %s/s%s", e.Image, mib(e.Bytes), mib(rate(e.Bytes, elapsed)), eta)
	}
	note := ""
	if e.WholeImage {
		note = "; the host's engine reuses no layers it has (containerd image store?), so the whole image went"
	}
	return fmt.Sprintf("pushed %s: %d of %d layers sent, %s in %s (%s/s)%s", e.Image, e.LayersSent, e.Layers,
		mib(e.Bytes), elapsed.Round(time.Millisecond), mib(rate(e.Bytes, elapsed)), note)
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func moveText(e Move) string {
	record := "no DNS record"
	if e.DNS != "" {
		record = "DNS " + e.DNS + " points here"
	}
	source := "stopped (not removed): " + strings.Join(e.SourceStopped, ", ")
	switch {
	case e.SourceDestroyed && e.SourceVolumes:
		source = "destroyed with its volumes"
	case e.SourceDestroyed:
		source = "destroyed (its volumes kept)"
	}
	return fmt.Sprintf("moved %d volume(s), %d bytes, from %s; serving healthy here; %s; downtime %s; source %s",
		len(e.Volumes), e.Bytes, e.From, record, time.Duration(e.Downtime).Round(time.Millisecond), source)
}
