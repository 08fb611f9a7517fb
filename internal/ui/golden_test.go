package ui

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/golden"
)

// Two hosts' runs as the engine reports them: what people and JSON
// consumers see of each command is in testdata/golden.
var (
	web1, web2 = "root@10.0.0.1:22", "deploy@10.0.0.2:2222"

	planWeb1 = Plan{Host: web1, Stack: "blog", Changes: 2, Actions: []PlanAction{
		{Kind: "keep", Object: "volume", Name: "blog-data"},
		{Kind: "create", Object: "network", Name: "blog-net"},
		{Kind: "recreate", Object: "container", Name: "blog-web", Reasons: []string{"image changed (nginx:1.26 -> nginx:1.27)"}},
	}}
	planWeb2 = Plan{Host: web2, Stack: "blog", InSync: true, Actions: []PlanAction{
		{Kind: "keep", Object: "volume", Name: "blog-data"},
		{Kind: "keep", Object: "network", Name: "blog-net"},
		{Kind: "keep", Object: "container", Name: "blog-web"},
	}, Warnings: []string{"volume media is external and absent"}}
	dnsPlanned = DNS{Name: "blog.example.com", Status: DNSPlanned, Record: "blog.example.com", Type: "A",
		Before: []string{"10.0.0.1"}, After: []string{"10.0.0.1", "10.0.0.2"}, TTL: 60, BeforeTTL: 300, Changed: true}

	goldenRuns = map[string][]Event{
		"deploy": {
			Progress{Host: web1, Message: "secrets are stored in /root/.berth; a deploy moves them to /var/lib/berth"},
			Lock{Host: web1, Status: LockBroken, Holder: "ci@runner pid=9", Age: Duration(11 * time.Minute), Stale: Duration(10 * time.Minute)},
			Lock{Host: web2, Status: LockWaiting, Age: Duration(3 * time.Second)},
			planWeb1,
			Action{Host: web1, Kind: "create", Object: "network", Name: "blog-net"},
			Action{Host: web1, Kind: "recreate", Object: "container", Name: "blog-web"},
			Wait{Host: web1, Container: "blog-web", Phase: WaitHealth, Status: WaitStarted, Until: "healthy", Timeout: Duration(190 * time.Second)},
			Wait{Host: web1, Container: "blog-web", Phase: WaitHealth, Status: WaitReady, Until: "healthy", Timeout: Duration(190 * time.Second), Elapsed: Duration(4200 * time.Millisecond)},
			Wait{Host: web1, Container: "blog-web", Phase: WaitProbe, Status: WaitStarted, URL: "http://localhost:8080/", Timeout: Duration(time.Minute)},
			Wait{Host: web1, Container: "blog-web", Phase: WaitProbe, Status: WaitFailed, URL: "http://localhost:8080/", Timeout: Duration(time.Minute), Elapsed: Duration(time.Minute)},
			Warning{Host: web1, Message: "new blog-web is ready but its backup blog-web.berth-old could not be removed: gone"},
			DNS{Name: "blog.example.com", Status: DNSUpdating, Record: "blog.example.com", Type: "A", After: []string{"10.0.0.2"}, TTL: 60, Changed: true},
			DNS{Name: "blog.example.com", Status: DNSUpdated, Record: "blog.example.com", Type: "A", After: []string{"10.0.0.2"}, TTL: 60, Changed: true},
			Summary{Host: web1, Name: "blog-1", Result: SummaryFailed, Error: "blog-web: not ready", Changes: 2, Connections: 1, RoundTrips: 4, Duration: Duration(65 * time.Second)},
			Summary{Host: web2, Result: SummaryOK, Connections: 2, RoundTrips: 1, Duration: Duration(800 * time.Millisecond)},
			Summary{Host: "local", Result: SummarySkipped, Skipped: true},
			RunSummary{Hosts: 3, OK: 1, Failed: 1, Skipped: 1, Connections: 3, RoundTrips: 5, Duration: Duration(65 * time.Second)},
		},
		"deploy-push": {
			Transfer{Host: web1, Image: "shop:2", Status: TransferStarted, Layers: 3},
			Transfer{Host: web1, Image: "shop:2", Status: TransferProgress, Bytes: 3 << 20, Elapsed: Duration(2 * time.Second), Left: Duration(4 * time.Second), Layers: 3},
			Transfer{Host: web1, Image: "shop:2", Status: TransferDone, Bytes: 9 << 20, Elapsed: Duration(6 * time.Second), Layers: 3, LayersSent: 1},
			Transfer{Host: web2, Image: "shop:2", Status: TransferDone, Bytes: 30 << 20, Elapsed: Duration(10 * time.Second), Layers: 3, LayersSent: 3, WholeImage: true},
			Summary{Host: web1, Result: SummaryChanged, Changes: 1, Connections: 1, RoundTrips: 3, Duration: Duration(9 * time.Second), Pushed: 9 << 20},
			Summary{Host: web2, Result: SummaryChanged, Changes: 1, Connections: 1, RoundTrips: 3, Duration: Duration(13 * time.Second), Pushed: 30 << 20},
			RunSummary{Hosts: 2, OK: 2, Connections: 2, RoundTrips: 6, Duration: Duration(13 * time.Second)},
		},
		"deploy-in-sync": {
			Summary{Host: web1, Result: SummaryOK, Connections: 1, RoundTrips: 1, Duration: Duration(310 * time.Millisecond)},
			RunSummary{Hosts: 1, OK: 1, Connections: 1, RoundTrips: 1, Duration: Duration(310 * time.Millisecond), InSync: true},
		},
		"plan": {
			planWeb1,
			planWeb2,
			Plan{Host: "local", Stack: "blog", Actions: []PlanAction{}, Foreign: []ForeignObject{{Object: "volume", Name: "blog-data"}, {Object: "container", Name: "blog-web", Owner: "shop"}},
				Strangers: []string{"blog-old"}, Leftovers: []string{"blog-web.berth-old"}},
			dnsPlanned,
			Summary{Host: web1, Result: SummaryDrift, Changes: 2, Connections: 1, RoundTrips: 1, Duration: Duration(400 * time.Millisecond)},
			Summary{Host: web2, Result: SummaryOK, Connections: 1, RoundTrips: 1, Duration: Duration(350 * time.Millisecond)},
			RunSummary{Hosts: 2, OK: 2, Connections: 2, RoundTrips: 2, Duration: Duration(400 * time.Millisecond)},
		},
		"status": {
			Status{Host: web1, Containers: []ContainerStatus{
				{Name: "blog-web", State: "running", Health: "healthy", Ports: []string{"0.0.0.0:8080->80/tcp"}, Image: "nginx:1.27", ImageID: "sha256:abc"},
				{Name: "blog-a-rather-long-worker-name", State: "absent"},
			}, Volumes: []VolumeStatus{{Name: "blog-data", Mountpoint: "/var/lib/docker/volumes/blog-data/_data"}},
				Networks: []NetworkStatus{{Name: "blog-net", Driver: "bridge"}},
				Foreign:  []ForeignObject{{Object: "volume", Name: "blog-media", Owner: "shop"}},
				LockHeld: true, LockHolder: "ci@runner pid=9", LockAge: Duration(42 * time.Second)},
			DNS{Name: "blog.example.com", Status: DNSPlanned, Record: "blog.example.com", Type: "A", Before: []string{"10.0.0.1"}, After: []string{"10.0.0.1"}, TTL: 60, BeforeTTL: 60},
			RunSummary{Hosts: 1, Connections: 1, RoundTrips: 1},
		},
		"destroy": {
			Plan{Host: web1, Stack: "blog", Changes: 2, Actions: []PlanAction{
				{Kind: "remove", Object: "container", Name: "blog-web"},
				{Kind: "remove", Object: "network", Name: "blog-net"},
			}},
			Action{Host: web1, Kind: "remove", Object: "container", Name: "blog-web"},
			Action{Host: web1, Kind: "remove", Object: "network", Name: "blog-net"},
			Summary{Host: web1, Result: SummaryChanged, Changes: 2, Connections: 1, RoundTrips: 3, Duration: Duration(1500 * time.Millisecond)},
			RunSummary{Hosts: 1, OK: 1, Connections: 1, RoundTrips: 3, Duration: Duration(1500 * time.Millisecond)},
		},
		"move": {
			Progress{Host: web1, Message: "stop blog-db, blog-web for the move (downtime starts)"},
			Progress{Host: web2, Message: "copy volume blog-data from " + web1},
			DNS{Name: "blog.example.com", Status: DNSUpdated, Record: "blog.example.com", Type: "A", After: []string{"10.0.0.2"}, TTL: 60, Changed: true},
			Move{Host: web2, From: web1, Volumes: []string{"blog-data"}, Bytes: 20480, Downtime: Duration(5603 * time.Millisecond),
				DNS: "blog.example.com", DNSChanged: true, SourceStopped: []string{"blog-db", "blog-web"}},
			Move{Host: web1, From: web2, Volumes: []string{"blog-data"}, Bytes: 20480, Downtime: Duration(4 * time.Second),
				SourceDestroyed: true, SourceVolumes: true},
		},
		"maintenance": {
			Progress{Host: web1, Message: "bootstrapping Debian GNU/Linux 12 (bookworm)"},
			Bootstrap{Host: web1, OS: "Debian GNU/Linux 12 (bookworm)", Docker: "27.3.1", Changes: []string{"installed docker.io", "added admin to the docker group"}},
			Bootstrap{Host: web2, OS: "Debian GNU/Linux 12 (bookworm)", Docker: "27.3.1", Changes: []string{}},
			Backup{Host: web1, Dir: "/backups/blog/root@10.0.0.1_22/20260101T000000Z", Volumes: 2, Bytes: 123456, Secrets: true, Method: "stop",
				Downtime: Duration(2345 * time.Millisecond), Stopped: []string{"blog-web"}},
			Pruned{Host: web1, Backup: "20251201T000000Z"},
			Restore{Host: web2, From: "/backups/blog/root@10.0.0.1_22/20260101T000000Z", Taken: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				TakenOn: web1, Volumes: []string{"blog-data"}, Stopped: []string{"blog-web"}, Downtime: Duration(5 * time.Second)},
			Unlock{Host: web1, Lock: "/var/lib/berth/blog/lock", Removed: true, Holder: "ci@runner pid=9", Age: Duration(90 * time.Second), RemovedBreak: true},
			Unlock{Host: web2, Lock: "/var/lib/berth/blog/lock", Removed: true, Age: Duration(30 * time.Second)},
			Unlock{Host: "local", Lock: "/var/lib/berth/blog/lock"},
			DNS{Name: "blog.example.com", Status: DNSSkipped},
			RunSummary{Hosts: 3, Connections: 3, RoundTrips: 6},
		},
	}
)

// TestRenderGolden: each run, as Text renders it (stdout, then stderr) and
// as JSON renders it (at a fixed time).
func TestRenderGolden(t *testing.T) {
	for name, evs := range goldenRuns {
		t.Run(name, func(t *testing.T) {
			var out, errOut, js bytes.Buffer
			text := NewText(&out, &errOut, false)
			j := NewJSON(&js)
			j.now = func() time.Time { return time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) }
			for _, e := range evs {
				text.Handle(e)
				j.Handle(e)
			}
			golden.Check(t, filepath.Join("testdata", "golden", name+".txt"), "--- stdout\n"+out.String()+"--- stderr\n"+errOut.String())
			golden.Check(t, filepath.Join("testdata", "golden", name+".jsonl"), js.String())
		})
	}
}
