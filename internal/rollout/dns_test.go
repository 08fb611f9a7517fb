package rollout

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/internal/ui"
)

// fakeDNS records what it was asked; the current record is current.
type fakeDNS struct {
	current []string
	planned []string
	applied bool
}

func (f *fakeDNS) Plan(_ context.Context, name string, ips []string, ttl int) (*dns.Change, error) {
	f.planned = ips
	after, err := dns.NormalizeIPv4(ips)
	if err != nil {
		return nil, err
	}
	return &dns.Change{Name: name, Type: "A", TTL: ttl, Before: f.current, After: after,
		Needed: strings.Join(after, ",") != strings.Join(f.current, ",")}, nil
}

func (f *fakeDNS) Apply(context.Context, *dns.Change) error { f.applied = true; return nil }

func TestUpdateDNS(t *testing.T) {
	serving := func(name, addr string) HostResult { return HostResult{Name: name, Addr: addr, Serving: true} }
	down := func(name, addr string) HostResult { return HostResult{Name: name, Addr: addr} }
	tests := []struct {
		name        string
		hosts       []HostResult
		current     []string
		dryRun      bool
		wantPlanned string // "" means Plan is not called
		wantApplied bool
		wantErr     string
		wantEvents  string // the DNS events' statuses
	}{
		{name: "only serving hosts, each address once",
			hosts:       []HostResult{serving("a", "10.0.0.1"), down("b", "10.0.0.2"), serving("c", "10.0.0.3"), serving("c2", "10.0.0.3")},
			wantPlanned: "10.0.0.1,10.0.0.3", wantApplied: true, wantEvents: "planned updating updated"},
		{name: "record already right", hosts: []HostResult{serving("a", "10.0.0.1")}, current: []string{"10.0.0.1"},
			wantPlanned: "10.0.0.1"},
		{name: "dry run changes nothing", hosts: []HostResult{serving("a", "10.0.0.1")}, dryRun: true,
			wantPlanned: "10.0.0.1", wantEvents: "planned"},
		{name: "nobody serves: record left alone", hosts: []HostResult{down("a", "10.0.0.1")},
			wantEvents: "skipped"},
		{name: "serving host without an address", hosts: []HostResult{serving("local", "")},
			wantErr: "local has no address"},
		{name: "reached by name through a jump host", hosts: []HostResult{serving("web", "web.internal")},
			wantErr: "through a jump host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakeDNS{current: tt.current}
			var rec ui.Recorder
			_, err := UpdateDNS(context.Background(), DNS{Name: "blog.example.com", TTL: 60, Provider: p}, tt.hosts, tt.dryRun, &rec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.planned, ","); got != tt.wantPlanned {
				t.Errorf("planned %q, want %q", got, tt.wantPlanned)
			}
			if p.applied != tt.wantApplied {
				t.Errorf("applied %v, want %v", p.applied, tt.wantApplied)
			}
			var statuses []string
			for _, e := range rec.Events() {
				statuses = append(statuses, e.(ui.DNS).Status)
			}
			if got := strings.Join(statuses, " "); got != tt.wantEvents {
				t.Errorf("dns events %q, want %q", got, tt.wantEvents)
			}
		})
	}
}
