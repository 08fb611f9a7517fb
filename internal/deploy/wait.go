package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

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

// NotReadyError says a container did not become healthy or ready.
type NotReadyError struct {
	Container string
	Reason    string
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("container %s did not become ready: %s", e.Container, e.Reason)
}

// healthTimeout is how long Docker itself may take to call a container
// unhealthy, plus a margin for the first check.
func healthTimeout(c *playbooks.Container) time.Duration {
	if c.Health == nil {
		return 30 * time.Second
	}
	interval := c.Health.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	retries := c.Health.Retries
	if retries <= 0 {
		retries = 3
	}
	return interval*time.Duration(retries+2) + 30*time.Second
}

// waitReady runs start (a docker argv; may be empty) and waits for Docker's
// health check in one round trip, then for the ready probe.
func waitReady(ctx context.Context, conn remote.Conn, c *playbooks.Container, start []string) error {
	var out bytes.Buffer
	secs := strconv.Itoa(int(healthTimeout(c).Seconds()))
	err := remote.Script(ctx, conn, waitScript, &out, append([]string{c.Name, secs}, start...)...)
	var exit *remote.ExitError
	if errors.As(err, &exit) && exit.Code == 1 {
		return &NotReadyError{Container: c.Name, Reason: strings.TrimSpace(out.String())}
	}
	if errors.As(err, &exit) && exit.Code == 2 {
		return fmt.Errorf("container %s: %s: %s", c.Name, strings.Join(start[:min(2, len(start))], " "), strings.TrimSpace(out.String()))
	}
	if err != nil {
		return fmt.Errorf("wait for %s: %w", c.Name, err)
	}
	if c.Ready != nil && c.Ready.HTTP != "" {
		return probeHTTP(ctx, conn, c)
	}
	return nil
}

// probeHTTP GETs the ready URL from the host's point of view, through the
// connection itself, so the host needs no curl. Any status below 500 counts.
func probeHTTP(ctx context.Context, conn remote.Conn, c *playbooks.Container) error {
	dialer, ok := conn.(remote.Dialer)
	if !ok {
		return fmt.Errorf("probe %s: connection to %s cannot open TCP connections", c.Ready.HTTP, conn.Host())
	}
	timeout := c.Ready.Timeout
	if timeout <= 0 {
		timeout = 120 * time.Second
	}
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
