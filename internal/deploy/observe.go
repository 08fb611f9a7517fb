package deploy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// observePrelude runs before docker.ObserveScript in the same round trip. It
// resolves the state directory, reports (and with "take" acquires) the deploy
// lock, optionally pulls images, and prints the stored secrets, then shifts its
// own arguments away so the docker part sees only its own.
//
// Args: STATE_DIR STACK LOCK_MODE(peek|take) LOCK_INFO N_PULL IMAGE... ; the
// docker script's args follow.
const observePrelude = `set -u
state=$1; stack=$2; mode=$3; info=$4; npull=$5
shift 5
[ -n "$state" ] || state="$HOME/.berth"
dir="$state/$stack"
umask 077
mkdir -p "$dir" || exit 90
cd "$dir" && dir=$(pwd -P)
echo "### state"
echo "$dir"
echo "### lock"
if [ "$mode" = take ] && mkdir "$dir/lock" 2>/dev/null; then
	printf '%s\n' "$info" > "$dir/lock/info"
	echo acquired
elif [ -d "$dir/lock" ]; then
	echo "held $(( $(date +%s) - $(stat -c %Y "$dir/lock" 2>/dev/null || date +%s) ))"
	cat "$dir/lock/info" 2>/dev/null
else
	echo free
fi
[ "$npull" -gt 0 ] && echo "### pull"
while [ "$npull" -gt 0 ]; do
	if out=$(docker pull -q "$1" 2>&1); then
		echo "ok $1"
	else
		echo "failed $1: $(printf '%s\n' "$out" | tail -n 1)"
	fi
	npull=$((npull - 1))
	shift
done
echo "### secrets"
cat "$dir/secrets.env" 2>/dev/null
`

// observeScript is one constant: the prelude, then the docker observation.
const observeScript = observePrelude + docker.ObserveScript

// lockState is what the observe round trip found about the deploy lock.
type lockState struct {
	Acquired bool // this run holds it now
	Held     bool // someone (maybe a crashed run) holds it
	Age      time.Duration
	Holder   string
}

// State is one host's observed state: the one round trip's whole answer.
type State struct {
	Dir     string // absolute state directory of the stack on the host
	Lock    lockState
	Secrets map[string]string
	Pulled  []string // docker pull's last line per image, for the log
	Docker  *docker.Observed
}

type observeRequest struct {
	stateDir string
	stack    string
	take     bool
	lockInfo string
	pull     []string
}

// observe reads the whole state of a stack on a host in one command round trip.
func observe(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, req observeRequest) (*State, error) {
	mode := "peek"
	if req.take {
		mode = "take"
	}
	args := []string{req.stateDir, req.stack, mode, req.lockInfo, strconv.Itoa(len(req.pull))}
	args = append(args, req.pull...)
	args = append(args, docker.ObserveArgs(req.stack, pb)...)
	var out remote.CappedBuffer
	if err := remote.Script(ctx, conn, observeScript, &out, args...); err != nil {
		return nil, fmt.Errorf("observe %s: %w", conn.Host(), err)
	}
	obs, err := docker.ParseObserved(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("observe %s: %w", conn.Host(), err)
	}
	st := &State{Docker: obs}
	st.Dir = strings.TrimSpace(string(obs.Sections["state"]))
	if st.Dir == "" {
		return nil, fmt.Errorf("observe %s: the host did not report its state directory", conn.Host())
	}
	st.Lock = parseLock(obs.Sections["lock"])
	st.Secrets = parseSecrets(obs.Sections["secrets"])
	if p := strings.TrimSpace(string(obs.Sections["pull"])); p != "" {
		st.Pulled = strings.Split(p, "\n")
	}
	return st, nil
}

func parseLock(b []byte) lockState {
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)
	var ls lockState
	switch {
	case lines[0] == "acquired":
		ls.Acquired = true
	case strings.HasPrefix(lines[0], "held"):
		ls.Held = true
		if secs, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(lines[0], "held"))); err == nil {
			ls.Age = time.Duration(secs) * time.Second
		}
		if len(lines) > 1 {
			ls.Holder = strings.TrimSpace(lines[1])
		}
	}
	return ls
}
