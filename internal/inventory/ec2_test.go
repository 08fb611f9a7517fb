package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/awsfake"
	"github.com/berth-sh/berth/internal/inventory"
)

// client builds the EC2 client the way berth does, from the environment the
// fake sets: the SDK itself routes it to the fake.
func client(t *testing.T, srv *awsfake.Server) *ec2.Client {
	t.Helper()
	srv.Env(t)
	cfg, err := awscfg.Load(context.Background(), awscfg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg)
}

func names(ts []inventory.Target) string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return strings.Join(out, ",")
}

func TestDiscoverEC2(t *testing.T) {
	tests := []struct {
		name      string
		instances []awsfake.Instance
		query     inventory.EC2Query
		want      string // names, sorted
		wantCalls int    // DescribeInstances requests, 0 to skip
		check     func(t *testing.T, ts []inventory.Target)
	}{
		{
			name: "paging 12 instances 5 a page",
			instances: func() []awsfake.Instance {
				var out []awsfake.Instance
				for i := range 12 {
					out = append(out, awsfake.Instance{PublicIP: fmt.Sprintf("203.0.113.%d", i+1), Tags: map[string]string{"Name": fmt.Sprintf("web-%02d", i), "role": "web"}})
				}
				return out
			}(),
			query:     inventory.EC2Query{Tags: []string{"role=web"}, PageSize: 5},
			want:      "web-00,web-01,web-02,web-03,web-04,web-05,web-06,web-07,web-08,web-09,web-10,web-11",
			wantCalls: 3,
		},
		{
			name: "tags are ANDed",
			instances: []awsfake.Instance{
				{PublicIP: "203.0.113.1", Tags: map[string]string{"Name": "a", "app": "blog", "env": "prod"}},
				{PublicIP: "203.0.113.2", Tags: map[string]string{"Name": "b", "app": "blog", "env": "staging"}},
				{PublicIP: "203.0.113.3", Tags: map[string]string{"Name": "c", "app": "shop", "env": "prod"}},
			},
			query: inventory.EC2Query{Tags: []string{"app=blog", "env=prod"}},
			want:  "a",
		},
		{
			name: "instance ids",
			instances: []awsfake.Instance{
				{ID: "i-0aaa", PublicIP: "203.0.113.1", Tags: map[string]string{"Name": "a"}},
				{ID: "i-0bbb", PublicIP: "203.0.113.2"},
				{ID: "i-0ccc", PublicIP: "203.0.113.3", Tags: map[string]string{"Name": "c"}},
			},
			query: inventory.EC2Query{IDs: []string{"i-0bbb", "i-0ccc"}, PageSize: 5},
			want:  "c,i-0bbb", // no Name tag: named by id
		},
		{
			name: "only running by default",
			instances: []awsfake.Instance{
				{PublicIP: "203.0.113.1", Tags: map[string]string{"Name": "up", "app": "blog"}},
				{State: "stopped", Tags: map[string]string{"Name": "down", "app": "blog"}},
				{State: "pending", PublicIP: "203.0.113.3", Tags: map[string]string{"Name": "booting", "app": "blog"}},
			},
			query: inventory.EC2Query{Tags: []string{"app=blog"}},
			want:  "up",
		},
		{
			name: "wait running turns pending into running",
			instances: []awsfake.Instance{
				{PublicIP: "203.0.113.1", Tags: map[string]string{"Name": "up", "app": "blog"}},
				{State: "pending", PendingFor: 2, PublicIP: "203.0.113.3", Tags: map[string]string{"Name": "booting", "app": "blog"}},
			},
			query:     inventory.EC2Query{Tags: []string{"app=blog"}, WaitRunning: true, WaitTimeout: 5 * time.Second, PollInterval: 10 * time.Millisecond},
			want:      "booting,up",
			wantCalls: 3, // pending, pending, running
			check: func(t *testing.T, ts []inventory.Target) {
				for _, tg := range ts {
					if tg.State != "running" {
						t.Errorf("%s state = %s, want running", tg.Name, tg.State)
					}
				}
			},
		},
		{
			name: "target fields, vars, user, port, private ip",
			instances: []awsfake.Instance{
				{ID: "i-0abc", PublicIP: "203.0.113.9", PrivateIP: "10.0.0.9", Tags: map[string]string{
					"Name": "blog", "berth:var:domain": "blog.example.com", "berth:var:wp_image": "wordpress:6", "other": "x",
				}},
			},
			query: inventory.EC2Query{Tags: []string{"Name=blog"}, User: "ubuntu", Port: 2222, PrivateIP: true},
			want:  "blog",
			check: func(t *testing.T, ts []inventory.Target) {
				got := ts[0]
				if got.ID != "i-0abc" || got.Addr != "10.0.0.9" || got.PublicIP != "203.0.113.9" || got.PrivateIP != "10.0.0.9" || got.State != "running" {
					t.Errorf("target = %+v", got)
				}
				if got.SSHTarget() != "ubuntu@10.0.0.9:2222" {
					t.Errorf("SSHTarget = %q", got.SSHTarget())
				}
				if len(got.Vars) != 2 || got.Vars["domain"] != "blog.example.com" || got.Vars["wp_image"] != "wordpress:6" {
					t.Errorf("vars = %v", got.Vars)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			for _, in := range tt.instances {
				srv.AddInstance(in)
			}
			ts, err := inventory.DiscoverEC2(context.Background(), client(t, srv), tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(ts); got != tt.want {
				t.Errorf("targets = %s, want %s", got, tt.want)
			}
			if tt.wantCalls > 0 && srv.Count("DescribeInstances") != tt.wantCalls {
				t.Errorf("DescribeInstances requests = %d, want %d", srv.Count("DescribeInstances"), tt.wantCalls)
			}
			if tt.check != nil {
				tt.check(t, ts)
			}
		})
	}
}

func TestDiscoverEC2Errors(t *testing.T) {
	tests := []struct {
		name      string
		instances []awsfake.Instance
		query     inventory.EC2Query
		wantIs    error
		wantText  []string
	}{
		{
			name:      "nothing matched names filters and region",
			instances: []awsfake.Instance{{PublicIP: "203.0.113.1", Tags: map[string]string{"Name": "shop"}}},
			query:     inventory.EC2Query{Tags: []string{"Name=blog", "env=prod"}},
			wantIs:    inventory.ErrNoInstances,
			wantText:  []string{"tag:Name=blog", "tag:env=prod", "instance-state-name=running", "region " + awsfake.Region},
		},
		{
			name:      "stopped instance by id",
			instances: []awsfake.Instance{{ID: "i-0stop", State: "stopped"}},
			query:     inventory.EC2Query{IDs: []string{"i-0stop"}},
			wantIs:    inventory.ErrNoInstances,
			wantText:  []string{"instance-id=i-0stop"},
		},
		{
			name:     "unknown instance id",
			query:    inventory.EC2Query{IDs: []string{"i-0nope"}},
			wantText: []string{"InvalidInstanceID.NotFound", "i-0nope"},
		},
		{
			name: "no public ip",
			instances: []awsfake.Instance{
				{ID: "i-0priv", PrivateIP: "10.0.0.5", Tags: map[string]string{"Name": "backend", "app": "blog"}},
				{PublicIP: "203.0.113.1", Tags: map[string]string{"Name": "front", "app": "blog"}},
			},
			query:    inventory.EC2Query{Tags: []string{"app=blog"}},
			wantText: []string{"backend (i-0priv) has no public IP", "--private-ip", "10.0.0.5"},
		},
		{
			name: "every instance without an address named",
			instances: []awsfake.Instance{
				{ID: "i-0a", PrivateIP: "10.0.0.5", Tags: map[string]string{"Name": "one", "app": "blog"}},
				{ID: "i-0b", PrivateIP: "10.0.0.6", Tags: map[string]string{"Name": "two", "app": "blog"}},
			},
			query:    inventory.EC2Query{Tags: []string{"app=blog"}},
			wantText: []string{"2 errors", "one (i-0a)", "two (i-0b)"},
		},
		{
			name:     "malformed tag",
			query:    inventory.EC2Query{Tags: []string{"Name"}},
			wantText: []string{`"Name"`, "Key=Value"},
		},
		{
			name:     "no selector",
			query:    inventory.EC2Query{},
			wantText: []string{"no selector"},
		},
		{
			name:      "wait running times out",
			instances: []awsfake.Instance{{State: "pending", PublicIP: "203.0.113.1", Tags: map[string]string{"Name": "slow"}}},
			query:     inventory.EC2Query{Tags: []string{"Name=slow"}, WaitRunning: true, WaitTimeout: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond},
			wantText:  []string{"still pending", "slow"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			for _, in := range tt.instances {
				srv.AddInstance(in)
			}
			ts, err := inventory.DiscoverEC2(context.Background(), client(t, srv), tt.query)
			if err == nil {
				t.Fatalf("got %v, want error", names(ts))
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want %v", err, tt.wantIs)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q: %v", s, err)
				}
			}
		})
	}
}

func TestDiscoverEC2ThrottlingRetried(t *testing.T) {
	srv := awsfake.New(t)
	srv.AddInstance(awsfake.Instance{PublicIP: "203.0.113.1", Tags: map[string]string{"Name": "blog"}})
	c := client(t, srv)
	srv.ThrottleNext(2) // the standard retryer makes 3 attempts
	ts, err := inventory.DiscoverEC2(context.Background(), c, inventory.EC2Query{Tags: []string{"Name=blog"}})
	if err != nil {
		t.Fatalf("throttled twice, then: %v", err)
	}
	if len(ts) != 1 || srv.Count("DescribeInstances") != 3 {
		t.Errorf("targets %v after %d requests, want 1 after 3", names(ts), srv.Count("DescribeInstances"))
	}
}

func TestDiscoverEC2ThrottlingExhausted(t *testing.T) {
	srv := awsfake.New(t)
	c := client(t, srv)
	srv.ThrottleNext(10)
	_, err := inventory.DiscoverEC2(context.Background(), c, inventory.EC2Query{Tags: []string{"Name=blog"}})
	if err == nil || !strings.Contains(err.Error(), "RequestLimitExceeded") {
		t.Fatalf("err = %v, want RequestLimitExceeded", err)
	}
}
