package rollout

import (
	"context"
	"errors"
	"testing"

	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

func TestRunWithoutServingHosts(t *testing.T) {
	hosts := []Host{{Target: inventory.Target{Name: "a", Addr: "10.0.0.1"}, Playbook: &playbooks.Playbook{Name: "s"}}}
	refused := errors.New("connection refused")
	connect := func(context.Context, inventory.Target) (remote.Conn, error) { return nil, refused }

	t.Run("unreachable host: failed, not serving, record left alone", func(t *testing.T) {
		p := &fakeDNS{}
		r := Run(context.Background(), Options{Hosts: hosts, Connect: connect, DNS: &DNS{Name: "blog.example.com", Provider: p}, Reporter: &ui.Recorder{}})
		if !errors.Is(r.HostsErr, refused) || r.Hosts[0].Serving || r.Hosts[0].Skipped {
			t.Fatalf("result %+v", r.Hosts[0])
		}
		if r.DNS != nil || r.DNSErr != nil || p.planned != nil {
			t.Fatalf("dns %+v, %v, planned %v: want the record left alone", r.DNS, r.DNSErr, p.planned)
		}
	})
	t.Run("interrupted run says DNS was not done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p := &fakeDNS{}
		r := Run(ctx, Options{Hosts: hosts, Connect: connect, DNS: &DNS{Name: "blog.example.com", Provider: p}})
		if !r.Hosts[0].Skipped || !errors.Is(r.DNSErr, context.Canceled) || p.planned != nil {
			t.Fatalf("host %+v, dns error %v, planned %v", r.Hosts[0], r.DNSErr, p.planned)
		}
	})
}
