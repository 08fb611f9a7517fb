package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
)

func TestDeployOutcome(t *testing.T) {
	inSync := &deploy.Result{Plan: &plan.Plan{}}
	changed := &deploy.Result{Plan: &plan.Plan{Actions: []plan.Action{{Kind: plan.Create}}}, Applied: 1}
	ok := func(r *deploy.Result) rollout.HostResult { return rollout.HostResult{Name: "a", Deploy: r} }
	skipped := rollout.HostResult{Name: "b", Skipped: true}
	lockErr := &deploy.LockHeldError{Host: "a"}
	tests := []struct {
		name     string
		res      rollout.Result
		dryRun   bool
		detailed bool
		want     int
		inSync   bool
	}{
		{name: "nothing to change", res: rollout.Result{Hosts: []rollout.HostResult{ok(inSync)}}, want: exitOK, inSync: true},
		{name: "changes applied", res: rollout.Result{Hosts: []rollout.HostResult{ok(changed)}}, want: exitOK},
		{name: "changes applied, detailed", res: rollout.Result{Hosts: []rollout.HostResult{ok(changed)}}, detailed: true, want: exitDrift},
		{name: "plan with drift", res: rollout.Result{Hosts: []rollout.HostResult{ok(changed)}}, dryRun: true, want: exitDrift},
		{name: "plan with a DNS change only", res: rollout.Result{Hosts: []rollout.HostResult{ok(inSync)}, DNS: &dns.Change{Needed: true}}, dryRun: true, want: exitDrift},
		{name: "skipped host did not converge", res: rollout.Result{Hosts: []rollout.HostResult{ok(inSync), skipped}}, want: exitFailure},
		{name: "host failed", res: rollout.Result{Hosts: []rollout.HostResult{{Name: "a", Err: errors.New("x")}}, HostsErr: errors.New("x")}, want: exitFailure},
		{name: "only locks held", res: rollout.Result{Hosts: []rollout.HostResult{{Name: "a", Err: lockErr}}, HostsErr: lockErr}, want: exitLockHeld},
		{name: "dns failed", res: rollout.Result{Hosts: []rollout.HostResult{ok(inSync)}, DNSErr: errors.New("dns")}, want: exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := outcomeOf(&tt.res, tt.dryRun)
			if got := exitCode(t.Context(), o.err(tt.detailed)); got != tt.want {
				t.Errorf("exit %d, want %d", got, tt.want)
			}
			if o.inSync() != tt.inSync {
				t.Errorf("inSync %v, want %v", o.inSync(), tt.inSync)
			}
		})
	}
}

// TestSummaryTable: columns line up whatever the host names' lengths, and
// hosts a stopped rollout skipped are counted as not converged.
func TestSummaryTable(t *testing.T) {
	long := "deploy@ip-10-0-0-5.eu-west-1.compute.internal:22"
	rows := []summaryRow{
		{host: "web1", res: &deploy.Result{Applied: 2}},
		{host: long, err: errors.New("boom")},
		{host: "web3", skipped: true},
	}
	var out, errOut strings.Builder
	summary(ui.NewText(&out, &errOut, false), rows, false, false)
	if errOut.Len() != 0 {
		t.Errorf("stderr %q", errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	col := strings.Index(lines[0], "CHANGES")
	for _, l := range lines[1:4] {
		if !strings.HasPrefix(l[col:], "0") && !strings.HasPrefix(l[col:], "2") {
			t.Errorf("CHANGES column not aligned at %d:\n%s", col, out.String())
		}
	}
	if last := lines[len(lines)-1]; last != "1 of 3 host(s) done; 1 failed, 1 not converged (skipped)" {
		t.Errorf("closing line %q", last)
	}
}

// TestSummaryPushed: a run that pushed images has a PUSHED column, aligned,
// with each host's bytes; a run that pushed nothing has none.
func TestSummaryPushed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pushed int64
		want   []string // the PUSHED cells, host by host; nil: no column
	}{
		{"pushed", 3 << 20, []string{"3.0 MiB", "0.0 MiB"}},
		{"nothing pushed", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows := []summaryRow{
				{host: "web1", res: &deploy.Result{Applied: 1, Pushed: tc.pushed}},
				{host: "a-longer-host-name", res: &deploy.Result{}},
			}
			var out, errOut strings.Builder
			summary(ui.NewText(&out, &errOut, false), rows, false, false)
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			col := strings.Index(lines[0], "PUSHED")
			if tc.want == nil {
				if col >= 0 {
					t.Fatalf("a PUSHED column though nothing was pushed:\n%s", out.String())
				}
				return
			}
			if col < 0 {
				t.Fatalf("no PUSHED column:\n%s", out.String())
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(lines[i+1][col:], w) {
					t.Errorf("row %d: PUSHED cell is not %q:\n%s", i, w, out.String())
				}
			}
		})
	}
}
