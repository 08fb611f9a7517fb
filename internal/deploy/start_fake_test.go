package deploy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/fakeconn"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// TestDeployMultiNetwork: a container on several networks is run, joined to
// the others, then waited for; a failure at any of those steps removes it.
func TestDeployMultiNetwork(t *testing.T) {
	pb, err := playbooks.Parse("multi.yaml", []byte(`name: multi
networks:
  - name: front
  - name: back
containers:
  - name: app
    image: app:1
    networks: [front, back]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(h *fakeconn.Host, c *fakeconn.Conn)
		steps []string
		ok    bool
	}{
		{"joins its networks", nil, []string{"observe peek", "observe take", "docker network create front", "docker network create back",
			"docker run app:1", "docker network connect app", "wait app", "release"}, true},
		{"run fails", func(h *fakeconn.Host, _ *fakeconn.Conn) { delete(h.Images, "app:1") }, []string{"observe peek", "observe take",
			"docker network create front", "docker network create back", "docker run app:1", "docker rm app", "release"}, false},
		{"connect fails", func(_ *fakeconn.Host, c *fakeconn.Conn) { c.Before = failOn("docker network connect app") }, []string{"observe peek", "observe take",
			"docker network create front", "docker network create back", "docker run app:1", "docker network connect app", "docker rm app", "release"}, false},
		{"never runs", func(h *fakeconn.Host, _ *fakeconn.Conn) { h.Broken["app:1"] = true }, []string{"observe peek", "observe take",
			"docker network create front", "docker network create back", "docker run app:1", "docker network connect app", "wait app", "docker rm app", "release"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeconn.NewHost(map[string]string{"app:1": "sha256:a1"})
			conn := fakeConn(h)
			if tt.setup != nil {
				tt.setup(h, conn)
			}
			_, err := Deploy(context.Background(), conn, pb, testOptions())
			if (err == nil) != tt.ok {
				t.Fatalf("deploy: %v", err)
			}
			if got := steps(conn.Calls()); !slices.Equal(got, tt.steps) {
				t.Errorf("commands:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.steps, "\n  "))
			}
			st := stateOf(h)
			if tt.ok && (st.images["app"] != "app:1" || !slices.Equal(h.Containers["app"].Networks, []string{"front", "back"})) {
				t.Errorf("app runs %q on %v", st.images["app"], h.Containers["app"].Networks)
			}
			if !tt.ok && (len(st.images)+len(st.others) > 0 || st.locked) {
				t.Errorf("left behind: %v %v, locked %v", st.images, st.others, st.locked)
			}
		})
	}
}

// TestWaitReadyProbes: the ready probe goes through the connection, counts
// any answer below 500, and gives up at the probe's timeout.
func TestWaitReadyProbes(t *testing.T) {
	pb, err := playbooks.Parse("p.yaml", []byte(`name: p
containers:
  - name: web
    image: web:1
    ports: ["8080:80"]
    ready: { http: "http://127.0.0.1:8080/", timeout: 10s }
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	web := &pb.Containers[0]
	tests := []struct {
		name    string
		status  int  // what the port answers; 0: nothing listens
		dialer  bool // the connection can dial
		ready   bool
		timeout bool // a *NotReadyError
	}{
		{"answers 200", 200, true, true, false},
		{"answers 404", 404, true, true, false},
		{"answers 503", 503, true, false, true},
		{"nothing listens", 0, true, false, true},
		{"connection cannot dial", 200, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeconn.NewHost(map[string]string{"web:1": "sha256:w1"})
			if tt.status != 0 {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }))
				defer srv.Close()
				h.Forward["127.0.0.1:8080"] = strings.TrimPrefix(srv.URL, "http://")
			}
			var conn remote.Conn = fakeConn(h)
			if !tt.dialer {
				conn = noDial{conn}
			}
			c := *web
			if !tt.ready {
				// A probe that fails waits its whole timeout: keep it short.
				c.Ready = &playbooks.Ready{HTTP: web.Ready.HTTP, Timeout: 50 * time.Millisecond}
			}
			err := WaitReady(context.Background(), conn, ui.Discard{}, &c, []string{"docker", "run", "-d", "--name", "web", "-p", "8080:80", "web:1"})
			var nr *NotReadyError
			if (err == nil) != tt.ready || errors.As(err, &nr) != tt.timeout {
				t.Errorf("wait: %v", err)
			}
		})
	}
}

// noDial hides the fake's DialContext: a connection that cannot dial.
type noDial struct{ remote.Conn }
