package deploy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/fakeconn"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// Unit tests of Deploy, Destroy, Unlock, Status and Hold against
// fakeconn's model of a Docker host: no Docker, no sshd. They assert on
// effects (the host's state, the commands sent, errors and results), never on
// the text a reporter prints.

// fakeScripts tells the fake which of this package's scripts is which.
var fakeScripts = map[string]fakeconn.Kind{
	observeScript:   fakeconn.Observe,
	releaseScript:   fakeconn.Release,
	heartbeatScript: fakeconn.Heartbeat,
	breakScript:     fakeconn.Break,
	swapOutScript:   fakeconn.SwapOut,
	rollbackScript:  fakeconn.Rollback,
	waitScript:      fakeconn.Wait,
	forgetScript:    fakeconn.Forget,
	batchScript:     fakeconn.Batch,
}

// shopYAML is a small stack: a database with a volume and a secret, and a
// web container that depends on it, publishes a port and has a ready probe.
const shopYAML = `name: shop
vars:
  web: web:1
  greeting: hello
secrets: [db_password]
volumes:
  - name: data
networks:
  - name: net
containers:
  - name: db
    image: db:1
    networks: [net]
    volumes: ["data:/data"]
    secret_env: { PASSWORD: db_password }
    health: { cmd: ["true"] }
  - name: web
    image: "{{ .web }}"
    depends_on: [db]
    networks: [net]
    ports: ["8080:80"]
    env: { GREETING: "{{ .greeting }}" }
    secret_env: { DB_PASSWORD: db_password }
    health: { cmd: ["true"] }
    ready: { http: "http://127.0.0.1:8080/", timeout: 10s }
`

const (
	stackDir = DefaultStateDir + "/shop"
	lockDir  = stackDir + "/lock"
)

var shopImages = map[string]string{"db:1": "sha256:d1", "web:1": "sha256:w1", "web:2": "sha256:w2"}

func shop(t *testing.T, vars ...string) *playbooks.Playbook {
	t.Helper()
	overrides := map[string]string{}
	for i := 0; i+1 < len(vars); i += 2 {
		overrides[vars[i]] = vars[i+1]
	}
	pb, err := playbooks.Parse("shop.yaml", []byte(shopYAML), overrides)
	if err != nil {
		t.Fatal(err)
	}
	return pb
}

// fakeHost is an empty host with shop's images, whose port 8080 answers the
// ready probe.
func fakeHost(t *testing.T) *fakeconn.Host {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	h := fakeconn.NewHost(shopImages)
	h.Forward["127.0.0.1:8080"] = strings.TrimPrefix(srv.URL, "http://")
	return h
}

func fakeConn(h *fakeconn.Host) *fakeconn.Conn {
	return &fakeconn.Conn{H: h, Name: "fake1", Scripts: fakeScripts}
}

func testOptions() Options {
	return Options{Version: "test", LookupEnv: func(string) (string, bool) { return "", false }, lockPoll: time.Millisecond}
}

// deployed is a host where shop was deployed once.
func deployed(t *testing.T) *fakeconn.Host { return deployedWith(t) }

// deployedWith is a host where shop with vars was deployed once.
func deployedWith(t *testing.T, vars ...string) *fakeconn.Host {
	t.Helper()
	h := fakeHost(t)
	if _, err := Deploy(context.Background(), fakeConn(h), shop(t, vars...), testOptions()); err != nil {
		t.Fatalf("first deploy: %v", err)
	}
	return h
}

// steps names each call briefly: "observe take", "wait web run",
// "swap-out web", "docker rm web.berth-old", "upload web.env". A batch is
// the steps it takes (the calls that follow it), not a step itself.
func steps(calls []fakeconn.Call) []string {
	var s []string
	for _, c := range calls {
		args := c.ScriptArgs()
		switch {
		case c.Script == fakeconn.Batch:
		case c.Upload != "":
			s = append(s, "upload "+path.Base(c.Upload))
		case c.Script == fakeconn.Observe:
			s = append(s, "observe "+args[2])
		case c.Script == fakeconn.Wait && len(args) > 3:
			s = append(s, "wait "+args[0]+" "+args[3])
		case c.Script == fakeconn.Wait:
			s = append(s, "wait "+args[0])
		case c.Script == fakeconn.Release, c.Script == fakeconn.Heartbeat, c.Script == fakeconn.Break, c.Script == fakeconn.Forget:
			s = append(s, string(c.Script))
		case c.Script != "":
			s = append(s, string(c.Script)+" "+args[0])
		case c.Args[1] == "volume", c.Args[1] == "network":
			s = append(s, strings.Join([]string{c.Args[0], c.Args[1], c.Args[2], c.Args[len(c.Args)-1]}, " "))
		default:
			s = append(s, strings.Join([]string{c.Args[0], c.Args[1], c.Args[len(c.Args)-1]}, " "))
		}
	}
	return s
}

// hostState is what a test checks of a host after a run.
type hostState struct {
	images map[string]string // container -> image it runs (running ones only)
	others []string          // containers not running
	locked bool
}

func stateOf(h *fakeconn.Host) hostState {
	st := hostState{images: map[string]string{}}
	h.Do(func(h *fakeconn.Host) {
		for name, c := range h.Containers {
			if c.Status == "running" && (c.Health == "" || c.Health == "healthy") {
				st.images[name] = c.Image
			} else {
				st.others = append(st.others, name)
			}
		}
		_, st.locked = h.Dirs[lockDir]
	})
	return st
}

func containerID(h *fakeconn.Host, name string) string {
	id := ""
	h.Do(func(h *fakeconn.Host) {
		if c, ok := h.Containers[name]; ok {
			id = c.ID
		}
	})
	return id
}

// failOn makes the calls whose step (see steps) is step fail with status 1.
func failOn(step string) func(context.Context, fakeconn.Call) error {
	return func(_ context.Context, c fakeconn.Call) error {
		if slices.Equal(steps([]fakeconn.Call{c}), []string{step}) {
			return &remote.ExitError{Host: "fake1", Args: c.Args, Code: 1, Stderr: "failed on purpose"}
		}
		return nil
	}
}
