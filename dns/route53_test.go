package dns_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/berth-sh/berth/dns"
	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/awsfake"
)

type world struct {
	srv                                             *awsfake.Server
	client                                          *route53.Client
	example, blog, blogPrivate, decoy, other, empty string
}

// newWorld builds zones whose names make the cursor semantics of
// ListHostedZonesByName matter: x.www.blog.example.com. sorts right after
// www.blog.example.com., and blog.example.com. exists public and private.
func newWorld(t *testing.T) *world {
	t.Helper()
	srv := awsfake.New(t)
	srv.Env(t)
	cfg, err := awscfg.Load(context.Background(), awscfg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{srv: srv, client: route53.NewFromConfig(cfg)}
	w.example = srv.AddZone(awsfake.Zone{Name: "example.com"})
	w.blogPrivate = srv.AddZone(awsfake.Zone{Name: "blog.example.com.", Private: true})
	w.blog = srv.AddZone(awsfake.Zone{Name: "blog.example.com."})
	w.decoy = srv.AddZone(awsfake.Zone{Name: "x.www.blog.example.com."})
	w.other = srv.AddZone(awsfake.Zone{Name: "example.org."})
	w.empty = srv.AddZone(awsfake.Zone{Name: "empty.example.net."})
	return w
}

func (w *world) provider(opts dns.Route53Options) *dns.Route53 {
	if opts.WaitMinDelay == 0 {
		opts.WaitMinDelay, opts.WaitMaxDelay = 5*time.Millisecond, 20*time.Millisecond
	}
	return dns.NewRoute53(w.client, opts)
}

func TestRoute53Plan(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(w *world)
		opts       func(w *world) dns.Route53Options
		domain     string
		ips        []string
		ttl        int
		wantZone   func(w *world) string
		wantNeeded bool
		wantBefore []string
		wantAfter  []string
		wantRecord string // name, type and TTLs
	}{
		{
			name: "longest suffix, public over private", domain: "www.blog.example.com", ips: []string{"1.2.3.4"}, ttl: 60,
			wantZone: func(w *world) string { return w.blog }, wantNeeded: true, wantAfter: []string{"1.2.3.4"},
			wantRecord: "www.blog.example.com. A ttl 60 (before 0)",
		},
		{
			name: "zone apex, mixed case", domain: "Blog.Example.COM.", ips: []string{"1.2.3.4"}, ttl: 60,
			wantZone: func(w *world) string { return w.blog }, wantNeeded: true, wantAfter: []string{"1.2.3.4"},
		},
		{
			name: "parent zone", domain: "shop.example.com", ips: []string{"1.2.3.4"}, ttl: 60,
			wantZone: func(w *world) string { return w.example }, wantNeeded: true, wantAfter: []string{"1.2.3.4"},
		},
		{
			name: "zone id override", domain: "www.blog.example.com", ips: []string{"1.2.3.4"}, ttl: 60,
			opts:     func(w *world) dns.Route53Options { return dns.Route53Options{ZoneID: "/hostedzone/" + w.blogPrivate} },
			wantZone: func(w *world) string { return w.blogPrivate }, wantNeeded: true, wantAfter: []string{"1.2.3.4"},
		},
		{
			name: "already correct, any order", domain: "blog.example.com", ips: []string{"5.6.7.8", "1.2.3.4"}, ttl: 60,
			setup: func(w *world) {
				w.srv.AddRecord(w.blog, awsfake.Record{Name: "blog.example.com", Type: "A", TTL: 60, Values: []string{"5.6.7.8", "1.2.3.4"}})
			},
			wantZone: func(w *world) string { return w.blog }, wantNeeded: false,
			wantBefore: []string{"1.2.3.4", "5.6.7.8"}, wantAfter: []string{"1.2.3.4", "5.6.7.8"},
			wantRecord: "blog.example.com. A ttl 60 (before 60)",
		},
		{
			name: "multiple ips sorted", domain: "blog.example.com", ips: []string{"5.6.7.8", "1.2.3.4", "1.2.3.4"}, ttl: 60,
			setup: func(w *world) {
				w.srv.AddRecord(w.blog, awsfake.Record{Name: "blog.example.com", Type: "A", TTL: 60, Values: []string{"1.2.3.4"}})
				w.srv.AddRecord(w.blog, awsfake.Record{Name: "blog.example.com", Type: "TXT", TTL: 60, Values: []string{`"v=spf1"`}})
			},
			wantZone: func(w *world) string { return w.blog }, wantNeeded: true,
			wantBefore: []string{"1.2.3.4"}, wantAfter: []string{"1.2.3.4", "5.6.7.8"},
			wantRecord: "blog.example.com. A ttl 60 (before 60)",
		},
		{
			name: "ttl differs", domain: "blog.example.com", ips: []string{"1.2.3.4"}, ttl: 0,
			setup: func(w *world) {
				w.srv.AddRecord(w.blog, awsfake.Record{Name: "blog.example.com", Type: "A", TTL: 300, Values: []string{"1.2.3.4"}})
			},
			wantZone: func(w *world) string { return w.blog }, wantNeeded: true,
			wantBefore: []string{"1.2.3.4"}, wantAfter: []string{"1.2.3.4"},
			wantRecord: "blog.example.com. A ttl 60 (before 300)",
		},
		{
			name: "wildcard comes back as \\052", domain: "*.example.com", ips: []string{"1.2.3.4"}, ttl: 60,
			setup: func(w *world) {
				w.srv.AddRecord(w.example, awsfake.Record{Name: "*.example.com", Type: "A", TTL: 60, Values: []string{"1.2.3.4"}})
			},
			wantZone: func(w *world) string { return w.example }, wantNeeded: false,
			wantBefore: []string{"1.2.3.4"}, wantAfter: []string{"1.2.3.4"},
		},
		{
			name: "neighbour records are not ours", domain: "a.example.com", ips: []string{"1.2.3.4"}, ttl: 60,
			setup: func(w *world) {
				w.srv.AddRecord(w.example, awsfake.Record{Name: "b.a.example.com", Type: "A", TTL: 60, Values: []string{"9.9.9.9"}})
				w.srv.AddRecord(w.example, awsfake.Record{Name: "a.example.com", Type: "AAAA", TTL: 60, Values: []string{"::1"}})
			},
			wantZone: func(w *world) string { return w.example }, wantNeeded: true, wantAfter: []string{"1.2.3.4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.setup != nil {
				tt.setup(w)
			}
			var opts dns.Route53Options
			if tt.opts != nil {
				opts = tt.opts(w)
			}
			p := w.provider(opts)
			c, err := p.Plan(context.Background(), tt.domain, tt.ips, tt.ttl)
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.wantZone(w); c.ZoneID != want {
				t.Errorf("zone = %s, want %s", c.ZoneID, want)
			}
			if c.Needed != tt.wantNeeded || !slices.Equal(c.Before, tt.wantBefore) || !slices.Equal(c.After, tt.wantAfter) {
				t.Errorf("change = %+v", c)
			}
			if rec := fmt.Sprintf("%s %s ttl %d (before %d)", c.Name, c.Type, c.TTL, c.BeforeTTL); tt.wantRecord != "" && rec != tt.wantRecord {
				t.Errorf("record %q, want %q", rec, tt.wantRecord)
			}
			if n := w.srv.Count("ChangeResourceRecordSets"); n != 0 {
				t.Errorf("Plan sent %d changes", n)
			}
			if err := p.Apply(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			wantChanges := 0
			if tt.wantNeeded {
				wantChanges = 1
			}
			if n := w.srv.Count("ChangeResourceRecordSets"); n != wantChanges {
				t.Errorf("Apply sent %d ChangeResourceRecordSets, want %d", n, wantChanges)
			}
			// After applying, a new plan finds nothing to do.
			again, err := p.Plan(context.Background(), tt.domain, tt.ips, tt.ttl)
			if err != nil {
				t.Fatal(err)
			}
			if again.Needed {
				t.Errorf("second plan still needs a change: %+v", again)
			}
		})
	}
}

func TestRoute53PlanErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(w *world)
		opts     dns.Route53Options
		domain   string
		ips      []string
		wantIs   error
		wantText []string
	}{
		{
			name:   "cname conflict",
			domain: "www.example.com", ips: []string{"1.2.3.4"},
			setup: func(w *world) {
				w.srv.AddRecord(w.example, awsfake.Record{Name: "www.example.com", Type: "CNAME", TTL: 300, Values: []string{"example.com"}})
			},
			wantIs: dns.ErrConflict, wantText: []string{"CNAME"},
		},
		{
			name:   "alias refused",
			domain: "example.com", ips: []string{"1.2.3.4"},
			setup: func(w *world) {
				w.srv.AddRecord(w.example, awsfake.Record{Name: "example.com", Type: "A", AliasDNSName: "d111.cloudfront.net.", AliasZoneID: "Z2FDTNDATAQYW2"})
			},
			wantIs: dns.ErrConflict, wantText: []string{"alias", "d111.cloudfront.net."},
		},
		{
			name:   "routing policy refused",
			domain: "example.com", ips: []string{"1.2.3.4"},
			setup: func(w *world) {
				w.srv.AddRecord(w.example, awsfake.Record{Name: "example.com", Type: "A", TTL: 60, Values: []string{"9.9.9.9"}, SetIdentifier: "eu"})
			},
			wantIs: dns.ErrConflict, wantText: []string{"routing policy"},
		},
		{name: "no zone", domain: "blog.example.io", ips: []string{"1.2.3.4"}, wantText: []string{"no zone named blog.example.io., example.io., io.", "--zone-id"}},
		{name: "bad ip", domain: "blog.example.com", ips: []string{"1.2.3.4", "::1"}, wantText: []string{"IPv4"}},
		{name: "no ips", domain: "blog.example.com", wantText: []string{"none given"}},
		{name: "bad name", domain: "blog example.com", ips: []string{"1.2.3.4"}, wantText: []string{"not allowed"}},
		{name: "unknown zone id", domain: "blog.example.com", ips: []string{"1.2.3.4"}, opts: dns.Route53Options{ZoneID: "ZNOPE"}, wantText: []string{"NoSuchHostedZone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			if tt.setup != nil {
				tt.setup(w)
			}
			c, err := w.provider(tt.opts).Plan(context.Background(), tt.domain, tt.ips, 60)
			if err == nil {
				t.Fatalf("got %v, want error", c)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want %v", err, tt.wantIs)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q: %v", s, err)
				}
			}
			if n := w.srv.Count("ChangeResourceRecordSets"); n != 0 {
				t.Errorf("sent %d changes", n)
			}
		})
	}
}

func TestRoute53ApplyWait(t *testing.T) {
	tests := []struct {
		name         string
		wait         bool
		pendingPolls int
		timeout      time.Duration
		wantGets     int
		wantErr      string
	}{
		{name: "pending twice then insync", wait: true, pendingPolls: 2, timeout: 5 * time.Second, wantGets: 3},
		{name: "insync at once", wait: true, pendingPolls: 0, timeout: 5 * time.Second, wantGets: 1},
		{name: "no wait", wait: false, pendingPolls: 5, timeout: 5 * time.Second, wantGets: 0},
		{name: "timeout", wait: true, pendingPolls: 1000, timeout: 100 * time.Millisecond, wantErr: "INSYNC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.srv.SetPendingPolls(tt.pendingPolls)
			w.srv.AddRecord(w.blog, awsfake.Record{Name: "blog.example.com", Type: "A", TTL: 60, Values: []string{"1.2.3.4"}})
			p := w.provider(dns.Route53Options{Wait: tt.wait, WaitTimeout: tt.timeout})
			c, err := p.Plan(context.Background(), "blog.example.com", []string{"5.6.7.8", "1.2.3.4"}, 60)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = p.Apply(context.Background(), c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if time.Since(start) > 3*time.Second {
					t.Errorf("timeout of %v took %v", tt.timeout, time.Since(start))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := w.srv.Count("GetChange"); n != tt.wantGets {
				t.Errorf("GetChange requests = %d, want %d", n, tt.wantGets)
			}
			changes := w.srv.Changes()
			if len(changes) != 1 || changes[0].Action != "UPSERT" || changes[0].ZoneID != w.blog ||
				changes[0].Record.Name != "blog.example.com." || changes[0].Record.TTL != 60 ||
				!slices.Equal(changes[0].Record.Values, []string{"1.2.3.4", "5.6.7.8"}) {
				t.Errorf("changes = %+v", changes)
			}
		})
	}
}

func TestRoute53ThrottlingRetried(t *testing.T) {
	w := newWorld(t)
	p := w.provider(dns.Route53Options{})
	w.srv.ThrottleNext(1)
	c, err := p.Plan(context.Background(), "blog.example.com", []string{"1.2.3.4"}, 60)
	if err != nil {
		t.Fatalf("throttled once, then: %v", err)
	}
	if c.ZoneID != w.blog {
		t.Errorf("zone = %s, want %s", c.ZoneID, w.blog)
	}
}

func TestRoute53NotNeededSendsNothing(t *testing.T) {
	w := newWorld(t)
	p := w.provider(dns.Route53Options{Wait: true})
	if err := p.Apply(context.Background(), &dns.Change{Name: "blog.example.com.", Type: "A", After: []string{"1.2.3.4"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(w.srv.Counts()); n != 0 {
		t.Errorf("requests sent: %v", w.srv.Counts())
	}
}

func TestRegionRequired(t *testing.T) {
	srv := awsfake.New(t)
	srv.Env(t)
	t.Setenv("AWS_REGION", "")
	os.Unsetenv("AWS_REGION")
	_, err := awscfg.Load(context.Background(), awscfg.Options{})
	if !errors.Is(err, awscfg.ErrNoRegion) || !strings.Contains(err.Error(), "--region") {
		t.Fatalf("err = %v, want ErrNoRegion naming --region", err)
	}
}
