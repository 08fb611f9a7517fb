package deploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// waitScript optionally starts a container, then polls it until it is running
// and healthy (or running, when it has no health check), all in one round
// trip. Args: NAME TIMEOUT_SECONDS [START_COMMAND...]. Exit 0 ready; 1 not
// ready, with the reason and the container's last log lines on stdout; 2 the
// start command failed, with its error on stdout.
const waitScript = `name=$1; timeout=$2; i=0
shift 2
if [ $# -gt 0 ]; then
	err=$("$@" 2>&1 >/dev/null) || { printf '%s\n' "$err"; exit 2; }
fi
while :; do
	s=$(docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$name" 2>&1) || { echo "container is gone: $s"; exit 1; }
	case "$s" in
	"running healthy"|"running none") exit 0 ;;
	*unhealthy) echo "health check failed ($s)"; docker logs --tail 10 "$name" 2>&1; exit 1 ;;
	exited*|dead*) echo "container stopped ($s)"; docker logs --tail 10 "$name" 2>&1; exit 1 ;;
	esac
	i=$((i + 1))
	if [ "$i" -ge "$timeout" ]; then echo "not healthy after ${timeout}s ($s)"; docker logs --tail 10 "$name" 2>&1; exit 1; fi
	sleep 1
done
`

// withholdEnvFile keeps what docker said about a failed command, except the
// lines that mention its --env-file: Docker quotes the offending line of an
// env file, secret value included.
func withholdEnvFile(out string, argv []string) string {
	i := slices.Index(argv, "--env-file")
	if i < 0 || i+1 >= len(argv) {
		return strings.TrimSpace(out)
	}
	var kept []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, argv[i+1]) || strings.Contains(line, "env file") {
			line = "(a line about the env file, withheld: it may quote a secret)"
		}
		kept = append(kept, line)
	}
	return strings.Join(kept, "\n")
}

// NotReadyError says a container did not become healthy or ready.
type NotReadyError struct {
	Container string
	Reason    string
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("container %s did not become ready: %s", e.Container, e.Reason)
}

// runningTimeout is how long a container without a health check may take to
// be running.
const runningTimeout = 30 * time.Second

// healthTimeout is how long Docker itself may take to call a container
// unhealthy, plus a margin for the first check. The playbook's defaults
// (playbooks.DefaultHealthInterval, DefaultHealthRetries) are already applied.
func healthTimeout(c *playbooks.Container) time.Duration {
	if c.Health == nil {
		return runningTimeout
	}
	return c.Health.Interval*time.Duration(c.Health.Retries+2) + 30*time.Second
}

// waitReady runs start (a docker argv; may be empty) and waits for Docker's
// health check in one round trip, then for the ready probe. Each wait is
// announced when it starts and when it ends, so a long first start is never
// silent.
func waitReady(ctx context.Context, x executor, conn remote.Conn, rep ui.Host, c *playbooks.Container, start []string) error {
	if err := waitHealthy(ctx, x, rep, c, start); err != nil {
		return err
	}
	return probeReady(ctx, x, conn, rep, c)
}

// waitHealthy runs start (may be empty) and waits, in one round trip, until
// the container runs and Docker calls it healthy (or it has no health check).
func waitHealthy(ctx context.Context, x executor, rep ui.Host, c *playbooks.Container, start []string) error {
	timeout := healthTimeout(c)
	what := "running"
	if c.Health != nil {
		what = "healthy"
	}
	w := waitReporter{rep: rep, w: ui.Wait{Host: rep.Name, Container: c.Name, Phase: ui.WaitHealth, Until: what, Timeout: ui.Duration(timeout)}}
	w.started()
	secs := strconv.Itoa(int(timeout.Seconds()))
	out, err := x.wait(ctx, timeout+remote.DefaultCommandTimeout, append([]string{c.Name, secs}, start...))
	w.ended(err)
	var exit *remote.ExitError
	if errors.As(err, &exit) && exit.Code == 1 {
		return &NotReadyError{Container: c.Name, Reason: strings.TrimSpace(out)}
	}
	if errors.As(err, &exit) && exit.Code == 2 {
		return fmt.Errorf("container %s: %s: %s", c.Name, strings.Join(start[:min(2, len(start))], " "), docker.TrimCLIHelp(withholdEnvFile(out, start)))
	}
	if err != nil {
		return fmt.Errorf("wait for %s: %w", c.Name, err)
	}
	return nil
}

// probeReady waits for the container's ready probe, when it has one.
func probeReady(ctx context.Context, x executor, conn remote.Conn, rep ui.Host, c *playbooks.Container) error {
	if c.Ready == nil || c.Ready.HTTP == "" {
		return nil
	}
	w := waitReporter{rep: rep, w: ui.Wait{Host: rep.Name, Container: c.Name, Phase: ui.WaitProbe, URL: c.Ready.HTTP, Timeout: ui.Duration(c.Ready.Timeout)}}
	w.started()
	err := x.probe(ctx, c.Name, func() error { return probeHTTP(ctx, conn, c) })
	w.ended(err)
	return err
}

// publishesReadyPort reports whether ports include the host port of c's
// ready URL (80 or 443 when the URL names none).
func publishesReadyPort(c *playbooks.Container, ports []playbooks.Port) bool {
	if c.Ready == nil || c.Ready.HTTP == "" {
		return false
	}
	u, err := url.Parse(c.Ready.HTTP)
	if err != nil {
		return false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	for _, p := range ports {
		if strconv.Itoa(p.HostPort) == port {
			return true
		}
	}
	return false
}

// readyTimeout is how long the ready probe may take (playbooks default it).
func readyTimeout(c *playbooks.Container) time.Duration {
	if c.Ready == nil {
		return 0
	}
	return c.Ready.Timeout
}

// waitReporter announces one wait: a line when it starts, one when it ends.
type waitReporter struct {
	rep   ui.Host
	w     ui.Wait
	start time.Time
}

func (r *waitReporter) started() {
	r.start = time.Now()
	r.w.Status = ui.WaitStarted
	r.rep.R.Handle(r.w)
}

func (r *waitReporter) ended(err error) {
	r.w.Elapsed = ui.Duration(time.Since(r.start))
	r.w.Status = ui.WaitReady
	if err != nil {
		r.w.Status = ui.WaitFailed
	}
	r.rep.R.Handle(r.w)
}

// probeHTTP GETs the ready URL from the host's point of view, through the
// connection itself, so the host needs no curl. Any status below 500 counts.
func probeHTTP(ctx context.Context, conn remote.Conn, c *playbooks.Container) error {
	dialer, ok := conn.(remote.Dialer)
	if !ok {
		return fmt.Errorf("probe %s: connection to %s cannot open TCP connections", c.Ready.HTTP, conn.Host())
	}
	timeout := c.Ready.Timeout // playbooks.DefaultReadyTimeout when the playbook left it out
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			DisableKeepAlives: true,
		},
	}
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Ready.HTTP, nil)
		if err != nil {
			return fmt.Errorf("probe %s: %w", c.Ready.HTTP, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &NotReadyError{Container: c.Name, Reason: fmt.Sprintf("%s not ready after %s: %s", c.Ready.HTTP, timeout, last)}
			}
			return fmt.Errorf("probe %s: %w", c.Ready.HTTP, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}
