package backup

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// The scripts below run as the login user; a volume's mountpoint is usually
// readable by root only, so they go through sudo -n when not root (or the
// whole command already runs under sudo with --sudo).

// archiveScript writes a tar of a volume's contents to stdout, owners kept as
// numbers so they mean the same inside containers on any host.
// Args: MOUNTPOINT
const archiveScript = `set -e
if [ "$(id -u)" -ne 0 ]; then exec sudo -n tar -C "$1" --numeric-owner -cf - .; fi
exec tar -C "$1" --numeric-owner -cf - .
`

// extractScript extracts a tar from stdin into a volume, creating the volume
// with the stack's label when it is missing. A volume that holds data is
// refused (exit 3) unless MODE is force, which empties it first so the result
// is exactly the archive. It runs with sh -c: stdin is the archive.
// Args: VOLUME LABEL MODE(fresh|force)
const extractScript = `set -e
vol=$1; label=$2; mode=$3
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
if ! mp=$(docker volume inspect --format '{{.Mountpoint}}' "$vol" 2>/dev/null); then
	docker volume create --label "$label" "$vol" >/dev/null
	mp=$(docker volume inspect --format '{{.Mountpoint}}' "$vol")
fi
if [ -n "$(as_root ls -A "$mp")" ]; then
	[ "$mode" = force ] || { echo "volume $vol holds data" >&2; exit 3; }
	as_root find "$mp" -mindepth 1 -delete
fi
as_root tar -C "$mp" --numeric-owner -xpf -
`

// probeScript prints "data" or "empty" for each mountpoint given.
// Args: MOUNTPOINT...
const probeScript = `as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
for mp; do
	if [ -n "$(as_root ls -A "$mp" 2>/dev/null)" ]; then echo data; else echo empty; fi
done
`

// stopScript stops containers in the order given. Args: NAME...
const stopScript = `set -e
for n; do docker stop "$n" >/dev/null; done
`

// DataPresentError says a restore would overwrite volumes that hold data.
type DataPresentError struct {
	Host    string
	Volumes []string
}

func (e *DataPresentError) Error() string {
	return fmt.Sprintf("%s: volume(s) %s already hold data; refusing to overwrite them (pass --force to replace their contents)", e.Host, strings.Join(e.Volumes, ", "))
}

// consumers returns the stack's running containers that mount any of vols,
// in dependency order (start order; stop in reverse). Containers the playbook
// does not declare come last.
func consumers(st *deploy.State, pb *playbooks.Playbook, stack string, vols []string) []string {
	return stackContainers(st, pb, stack, func(c *docker.ContainerState) bool {
		for _, m := range c.Mounts {
			if m.Type == "volume" && slices.Contains(vols, m.Name) {
				return true
			}
		}
		return false
	})
}

// stackContainers returns the stack's running containers for which keep
// holds, in dependency order; containers the playbook does not declare last.
func stackContainers(st *deploy.State, pb *playbooks.Playbook, stack string, keep func(*docker.ContainerState) bool) []string {
	ours := func(c *docker.ContainerState) bool {
		return c.Running && c.Labels[docker.LabelStack] == stack && keep(c)
	}
	var names []string
	seen := map[string]bool{}
	order, _ := playbooks.Order(pb.Containers)
	for _, i := range order {
		name := pb.Containers[i].Name
		if c, ok := st.Docker.Containers[name]; ok && ours(c) {
			names = append(names, name)
		}
		seen[name] = true
	}
	var extra []string
	for name, c := range st.Docker.Containers {
		if !seen[name] && ours(c) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	return append(names, extra...)
}

// stopAll stops names in reverse dependency order, in one round trip.
func stopAll(ctx context.Context, conn remote.Conn, names []string) error {
	if len(names) == 0 {
		return nil
	}
	rev := slices.Clone(names)
	slices.Reverse(rev)
	if err := remote.Script(ctx, conn, stopScript, nil, rev...); err != nil {
		return fmt.Errorf("stop %s: %w", strings.Join(rev, ", "), err)
	}
	return nil
}

// startAll starts names in dependency order, each waited for until healthy
// and ready as deploy waits for it.
func startAll(ctx context.Context, conn remote.Conn, rep ui.Handler, pb *playbooks.Playbook, names []string) error {
	for _, name := range names {
		c := container(pb, name)
		if c == nil {
			c = &playbooks.Container{Name: name}
		}
		if err := deploy.WaitReady(ctx, conn, rep, c, docker.StartArgs(name)); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
	}
	return nil
}

func container(pb *playbooks.Playbook, name string) *playbooks.Container {
	for i := range pb.Containers {
		if pb.Containers[i].Name == name {
			return &pb.Containers[i]
		}
	}
	return nil
}

// probe reports which of the mountpoints hold data, in one round trip.
func probe(ctx context.Context, conn remote.Conn, mountpoints []string) ([]bool, error) {
	var out bytes.Buffer
	if err := remote.Script(ctx, conn, probeScript, &out, mountpoints...); err != nil {
		return nil, fmt.Errorf("probe volumes: %w", err)
	}
	var full []bool
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		full = append(full, sc.Text() == "data")
	}
	if len(full) != len(mountpoints) {
		return nil, fmt.Errorf("probe volumes: %d answers for %d volumes", len(full), len(mountpoints))
	}
	return full, nil
}
