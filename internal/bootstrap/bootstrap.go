package bootstrap

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/remote"
)

// StateDir is berth's host-wide state directory. Group docker and setgid let
// every user who may run docker share one lock and one secret set.
const StateDir = "/var/lib/berth"

// stateMode is how StateDir looks when ready, as `stat -c '%U:%G %a'` says.
const stateMode = "root:docker 2770"

// probeScript reads, in one round trip, everything that decides whether the
// host is ready: the OS, who we are, Docker's state, the SSH user's groups
// and the state directory. It changes nothing.
const probeScript = `set -u
echo "### os-release"
cat /etc/os-release 2>/dev/null
echo "### uid"
id -u
echo "### user"
printf '%s\n' "${SUDO_USER:-$(id -un)}"
echo "### docker"
if ! command -v docker >/dev/null 2>&1; then
	echo missing
elif out=$(docker version --format '{{.Server.Version}}' 2>&1); then
	printf 'running %s\n' "$out"
else
	case $out in
	*"permission denied"*) echo denied ;;
	*) echo down ;;
	esac
fi
echo "### enabled"
if [ -d /run/systemd/system ]; then
	systemctl is-enabled docker 2>/dev/null || true
else
	echo n/a
fi
echo "### group"
u=${SUDO_USER:-$(id -un)}
if [ "$u" = root ]; then
	echo root
elif id -nG "$u" 2>/dev/null | tr ' ' '\n' | grep -qx docker; then
	echo member
else
	echo no
fi
echo "### state"
stat -c '%U:%G %a' "$1" 2>/dev/null || echo missing
`

// installScript makes the host ready, each step only where needed, and says
// what it changed ("changed ..." lines), then Docker's version.
//
// Args: MANAGER(apt|dnf|yum) PACKAGE USER STATE_DIR STATE_MODE.
const installScript = `set -u
manager=$1; pkg=$2; user=$3; state=$4; mode=$5
die() { echo "$*" >&2; exit 1; }
say() { printf 'changed %s\n' "$*"; }
# quiet CMD...: the command's output only when it fails (its last lines).
quiet() {
	log=$(mktemp) || return 1
	"$@" >"$log" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || tail -n 15 "$log" >&2
	rm -f "$log"
	return "$rc"
}
up() { docker version >/dev/null 2>&1; }
# wait_up [PID]: until docker answers, or PID (the dockerd we started) dies.
wait_up() {
	i=0
	while ! up; do
		[ -z "${1:-}" ] || kill -0 "$1" 2>/dev/null || return 1
		i=$((i + 1))
		[ "$i" -le 120 ] || return 1
		sleep 0.5
	done
}
if ! command -v docker >/dev/null 2>&1; then
	case $manager in
	apt)
		export DEBIAN_FRONTEND=noninteractive
		# A fresh cloud host may still be running its first apt (cloud-init).
		quiet apt-get -o DPkg::Lock::Timeout=300 update -q || die "apt-get update failed"
		quiet apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$pkg" || die "apt-get install $pkg failed"
		;;
	dnf) quiet dnf install -y -q "$pkg" || die "dnf install $pkg failed" ;;
	yum) quiet yum install -y -q "$pkg" || die "yum install $pkg failed" ;;
	*) die "unknown package manager $manager" ;;
	esac
	command -v docker >/dev/null 2>&1 || die "$pkg is installed but there is no docker command"
	say "installed $pkg with $manager"
fi
if [ -d /run/systemd/system ]; then
	if [ "$(systemctl is-enabled docker 2>/dev/null)" != enabled ]; then
		quiet systemctl enable docker || die "systemctl enable docker failed"
		say "enabled the docker service at boot"
	fi
	if ! up; then
		quiet systemctl start docker || die "systemctl start docker failed: $(systemctl status docker 2>&1 | tail -n 5)"
		wait_up || die "docker did not answer after systemctl start docker"
		say "started docker with systemd"
	fi
elif ! up; then
	if [ -x /etc/init.d/docker ] && /etc/init.d/docker start >/dev/null 2>&1 && wait_up; then
		say "started docker with /etc/init.d/docker"
	else
		# No service manager that works: run dockerd detached from this
		# session, or sshd would wait for it.
		if command -v setsid >/dev/null 2>&1; then
			setsid dockerd </dev/null >/var/log/dockerd.log 2>&1 &
		else
			nohup dockerd </dev/null >/var/log/dockerd.log 2>&1 &
		fi
		wait_up $! || die "dockerd did not start: $(tail -n 5 /var/log/dockerd.log)"
		say "started dockerd directly (no systemd, no working init script): it will not start at boot"
	fi
fi
if [ "$user" != root ] && ! id -nG "$user" | tr ' ' '\n' | grep -qx docker; then
	getent group docker >/dev/null 2>&1 || groupadd docker || die "groupadd docker failed"
	usermod -aG docker "$user" || die "usermod -aG docker $user failed"
	say "added $user to the docker group (effective from $user's next login; --sudo works meanwhile)"
fi
if [ "$(stat -c '%U:%G %a' "$state" 2>/dev/null)" != "$mode" ]; then
	mkdir -p "$state" && chown root:docker "$state" && chmod 2770 "$state" || die "cannot make $state"
	say "made $state (owner root:docker, mode 2770)"
fi
echo "### version"
docker version --format '{{.Server.Version}}' || die "docker version failed after the bootstrap"
`

// Result is what bootstrap found and did on one host.
type Result struct {
	Host    string
	OS      string   // PRETTY_NAME from os-release
	Changes []string // what was changed, in order; empty on a ready host
	Version string   // the Docker engine's version
}

// probe is the host's state as probeScript reports it.
type probe struct {
	osRelease string
	root      bool
	user      string
	docker    string // missing, down, denied, or "running VERSION"
	enabled   string // systemctl is-enabled's answer; n/a without systemd
	group     string // root, member or no
	state     string // "USER:GROUP MODE" of StateDir, or missing
}

// ready reports whether nothing needs to change, and the Docker version.
func (p probe) ready() (string, bool) {
	version, running := strings.CutPrefix(p.docker, "running ")
	ok := running &&
		(p.enabled == "n/a" || p.enabled == "enabled") &&
		(p.group == "root" || p.group == "member") &&
		p.state == stateMode
	return version, ok
}

// Run makes the host behind conn ready for berth. A ready host costs one
// round trip; otherwise it costs two (observe, then one script for every step).
func Run(ctx context.Context, conn remote.Conn, rep ui.Host) (*Result, error) {
	var out bytes.Buffer
	if err := remote.Script(ctx, conn, probeScript, &out, StateDir); err != nil {
		return nil, fmt.Errorf("bootstrap: inspect %s: %w", conn.Host(), err)
	}
	p := parseProbe(out.String())
	res := &Result{Host: conn.Host(), OS: ParseOSRelease(p.osRelease)["PRETTY_NAME"]}
	if v, ok := p.ready(); ok {
		res.Version = v
		return res, nil
	}
	inst, err := Detect(p.osRelease)
	if err != nil {
		return res, fmt.Errorf("bootstrap %s: %w", conn.Host(), err)
	}
	res.OS = inst.OS
	if !p.root {
		return res, fmt.Errorf("bootstrap %s: %s is not ready and changing it needs root: log in as root, or as a user with passwordless sudo and add --sudo", conn.Host(), inst.OS)
	}
	rep.Progress("bootstrapping %s", inst.OS)
	out.Reset()
	if err := remote.Script(ctx, conn, installScript, &out, inst.Manager, inst.Package, p.user, StateDir, stateMode); err != nil {
		if done, _ := parseInstall(out.String()); len(done) > 0 {
			err = fmt.Errorf("%w (done before the failure: %s)", err, strings.Join(done, "; "))
		}
		return res, fmt.Errorf("bootstrap %s (%s): %w", conn.Host(), inst.OS, err)
	}
	res.Changes, res.Version = parseInstall(out.String())
	return res, nil
}

func parseProbe(out string) probe {
	s := sections(out)
	return probe{
		osRelease: s["os-release"],
		root:      strings.TrimSpace(s["uid"]) == "0",
		user:      strings.TrimSpace(s["user"]),
		docker:    strings.TrimSpace(s["docker"]),
		enabled:   strings.TrimSpace(s["enabled"]),
		group:     strings.TrimSpace(s["group"]),
		state:     strings.TrimSpace(s["state"]),
	}
}

// parseInstall returns the install script's changes and Docker's version.
func parseInstall(out string) (changes []string, version string) {
	s := sections(out)
	for _, line := range strings.Split(s[""], "\n") {
		if c, ok := strings.CutPrefix(line, "changed "); ok {
			changes = append(changes, c)
		}
	}
	return changes, strings.TrimSpace(s["version"])
}

// sections splits "### name" delimited output; text before the first header
// is under "".
func sections(out string) map[string]string {
	m := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(out, "\n") {
		if h, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "### "); ok {
			name = h
			continue
		}
		m[name] += line
	}
	return m
}
