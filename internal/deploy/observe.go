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
// reports the stack's state directory, the deploy lock and the stored secrets,
// optionally pulls images, then shifts its own arguments away so the docker
// part sees only its own.
//
// With LOCK_MODE peek it writes nothing anywhere: plan, status and dry runs
// only read. With take it creates the state directory when missing (shared by
// root and the docker group: 2770, files 0660), breaks a lock whose heartbeat
// is older than STALE_SECS (0: never), takes the lock, and once it holds it,
// moves secrets from the old per-user place ($HOME/.berth/STACK when LEGACY
// is 1) and makes the per-stack digest key.
//
// Args: ROOT STACK LOCK_MODE(peek|take) LOCK_INFO STALE_SECS LEGACY N_PULL
// IMAGE... ; the docker script's args follow.
const observePrelude = `set -u
berth_root=$1; berth_stack=$2; berth_mode=$3; berth_info=$4; berth_stale=$5; berth_legacy=$6; berth_npull=$7
shift 7
umask 007
berth_dir="$berth_root/$berth_stack"
berth_lock="$berth_dir/lock"
if [ "$berth_legacy" = 1 ] && [ -n "${HOME:-}" ]; then berth_legacy="$HOME/.berth/$berth_stack"; else berth_legacy=; fi
berth_mkdir() {
	[ -d "$1" ] && return 0
	mkdir -p "$1" 2>/dev/null || return 1
	chgrp docker "$1" 2>/dev/null
	chmod 2770 "$1"
}
# Seconds since the lock's last heartbeat (its info file), else since it was made.
berth_age() {
	berth_t=$(stat -c %Y "$1/info" 2>/dev/null || stat -c %Y "$1" 2>/dev/null) || berth_t=$(date +%s)
	echo $(( $(date +%s) - berth_t ))
}
echo "### state"
echo "$berth_dir"
berth_ok=
if [ -d "$berth_dir" ]; then
	if [ -r "$berth_dir" ] && [ -w "$berth_dir" ] && [ -x "$berth_dir" ]; then
		echo present; berth_ok=1
	else
		echo "denied $(id -un)"
	fi
elif [ "$berth_mode" != take ]; then
	echo absent
elif berth_mkdir "$berth_root" && berth_mkdir "$berth_dir"; then
	echo created; berth_ok=1
elif [ -d "$berth_root" ]; then
	echo "denied $(id -un)"
else
	echo "missing $(id -un)"
fi
echo "### lock"
berth_got=
if [ "$berth_mode" = take ] && [ -n "$berth_ok" ]; then
	if [ -d "$berth_dir/lock.break" ] && [ "$(berth_age "$berth_dir/lock.break")" -gt 60 ]; then
		rmdir "$berth_dir/lock.break" 2>/dev/null
	fi
	# One run at a time breaks a stale lock, and checks again once it may.
	if [ "$berth_stale" -gt 0 ] && [ -d "$berth_lock" ] && [ "$(berth_age "$berth_lock")" -gt "$berth_stale" ] &&
		mkdir "$berth_dir/lock.break" 2>/dev/null; then
		berth_a=$(berth_age "$berth_lock")
		if [ -d "$berth_lock" ] && [ "$berth_a" -gt "$berth_stale" ]; then
			# Said only once it is gone: a lock berth may not remove stays held.
			berth_h=$(head -n 1 "$berth_lock/info" 2>/dev/null)
			if rm -rf "$berth_lock" 2>/dev/null && [ ! -d "$berth_lock" ]; then
				echo "broke $berth_a"
				echo "broke-holder $berth_h"
			fi
		fi
		rmdir "$berth_dir/lock.break"
	fi
	# The lock is the docker group's too, whoever takes it: not every
	# filesystem (fuse-overlayfs) passes a setgid directory's group to mkdir.
	if mkdir "$berth_lock" 2>/dev/null; then
		chgrp docker "$berth_lock" 2>/dev/null
		chmod 2770 "$berth_lock"
		printf '%s\n' "$berth_info" > "$berth_lock/info"
		echo acquired; berth_got=1
	fi
fi
if [ -z "$berth_got" ] && [ -d "$berth_lock" ]; then
	echo "held $(berth_age "$berth_lock")"
	echo "holder $(head -n 1 "$berth_lock/info" 2>/dev/null)"
fi
berth_secrets="$berth_dir/secrets.env"
if [ -n "$berth_legacy" ] && [ ! -e "$berth_secrets" ] && [ -f "$berth_legacy/secrets.env" ]; then
	if [ -n "$berth_got" ]; then
		if cp "$berth_legacy/secrets.env" "$berth_secrets.tmp" && chmod 660 "$berth_secrets.tmp" &&
			mv "$berth_secrets.tmp" "$berth_secrets" && mv "$berth_legacy/secrets.env" "$berth_legacy/secrets.env.migrated"; then
			printf '### migrated\n%s\n' "$berth_legacy/secrets.env"
		fi
	else
		printf '### legacy\n%s\n' "$berth_legacy/secrets.env"
		berth_secrets="$berth_legacy/secrets.env"
	fi
fi
if [ -n "$berth_got" ] && [ ! -s "$berth_dir/key" ]; then
	od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$berth_dir/key.tmp" && mv -f "$berth_dir/key.tmp" "$berth_dir/key"
fi
[ "$berth_npull" -gt 0 ] && echo "### pull"
while [ "$berth_npull" -gt 0 ]; do
	if berth_out=$(docker pull -q "$1" 2>&1); then
		echo "ok $1"
	else
		echo "failed $1: $(printf '%s\n' "$berth_out" | tail -n 1)"
	fi
	berth_npull=$((berth_npull - 1))
	shift
done
echo "### key"
cat "$berth_dir/key" 2>/dev/null
echo
echo "### secrets"
cat "$berth_secrets" 2>/dev/null
`

// observeScript is one constant: the prelude, then the docker observation.
const observeScript = observePrelude + docker.ObserveScript

// lockState is what the observe round trip found about the deploy lock.
type lockState struct {
	Acquired bool // this run holds it now
	Held     bool // someone (maybe a crashed run) holds it
	Age      time.Duration
	Holder   string // the holder's info line; "" when the lock has none
	Broke    bool   // this run broke a stale lock first
	BrokeAge time.Duration
	Broken   string // the broken lock's holder
}

// dirState is what the host said about the stack's state directory.
type dirState string

const (
	dirPresent dirState = "present"
	dirCreated dirState = "created" // by this round trip (take only)
	dirAbsent  dirState = "absent"  // not there, and peek creates nothing
	dirDenied  dirState = "denied"  // there (or its root is), but not usable by the login user
	dirMissing dirState = "missing" // its root does not exist and the login user cannot create it
)

// State is one host's observed state: the one round trip's whole answer.
type State struct {
	Dir       string   // absolute state directory of the stack on the host
	DirState  dirState // and whether it is usable
	LoginUser string   // who berth runs as there, for errors about the directory
	Lock      lockState
	Secrets   map[string]string
	Legacy    string // stored secrets were read from this old per-user file (peek only)
	Migrated  string // this round trip moved the secrets from this old per-user file
	Key       []byte // the per-stack key of secret digests; nil until a deploy made one
	Pulled    []string
	Docker    *docker.Observed
}

type observeRequest struct {
	root      string // the state root on the host, e.g. /var/lib/berth
	legacy    bool   // look for secrets in the old per-user place, $HOME/.berth
	stack     string
	take      bool
	lockInfo  string
	lockStale time.Duration
	pull      []string
}

// observe reads the whole state of a stack on a host in one command round trip.
func observe(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, req observeRequest) (*State, error) {
	mode := "peek"
	if req.take {
		mode = "take"
	}
	legacy := "0"
	if req.legacy {
		legacy = "1"
	}
	args := []string{req.root, req.stack, mode, req.lockInfo, strconv.Itoa(int(req.lockStale.Seconds())), legacy, strconv.Itoa(len(req.pull))}
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
	state := strings.SplitN(strings.TrimSpace(string(obs.Sections["state"])), "\n", 2)
	st.Dir = state[0]
	if st.Dir == "" || len(state) < 2 {
		return nil, fmt.Errorf("observe %s: the host did not report its state directory", conn.Host())
	}
	status, user, _ := strings.Cut(strings.TrimSpace(state[1]), " ")
	st.DirState, st.LoginUser = dirState(status), user
	st.Lock = parseLock(obs.Sections["lock"])
	st.Secrets = parseSecrets(obs.Sections["secrets"])
	st.Legacy = strings.TrimSpace(string(obs.Sections["legacy"]))
	st.Migrated = strings.TrimSpace(string(obs.Sections["migrated"]))
	if k := strings.TrimSpace(string(obs.Sections["key"])); k != "" {
		st.Key = []byte(k)
	}
	if p := strings.TrimSpace(string(obs.Sections["pull"])); p != "" {
		st.Pulled = strings.Split(p, "\n")
	}
	return st, nil
}

func parseLock(b []byte) lockState {
	var ls lockState
	secs := func(s string) time.Duration {
		n, _ := strconv.Atoi(strings.TrimSpace(s))
		return time.Duration(n) * time.Second
	}
	for _, line := range strings.Split(string(b), "\n") {
		word, rest, _ := strings.Cut(line, " ")
		switch word {
		case "acquired":
			ls.Acquired = true
		case "held":
			ls.Held, ls.Age = true, secs(rest)
		case "holder":
			ls.Holder = strings.TrimSpace(rest)
		case "broke":
			ls.Broke, ls.BrokeAge = true, secs(rest)
		case "broke-holder":
			ls.Broken = strings.TrimSpace(rest)
		}
	}
	return ls
}
