package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/gzip"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// restartTimeout bounds restarting the stopped containers after an
// interrupted backup: they are started even when the run was cancelled.
const restartTimeout = 5 * time.Minute

// Options shape one host's backup.
type Options struct {
	Stack    string   // defaults to the playbook's name
	StateDir string   // deploy's state dir on the host ("" = deploy's default)
	Volumes  []string // only these; empty means every volume of the playbook
	Live     bool     // archive without stopping the volumes' consumers
	// Recipients encrypt the stack's stored secrets. Without any, secrets
	// are left out only when NoSecrets says so; otherwise Backup refuses.
	Recipients []age.Recipient
	NoSecrets  bool
	LockWait   time.Duration // for the stack's deploy lock, held throughout
	LockStale  time.Duration
	Version    string
	Reporter   ui.Handler
}

func (o Options) stack(pb *playbooks.Playbook) string {
	if o.Stack != "" {
		return o.Stack
	}
	return pb.Name
}

// Result is one host's backup.
type Result struct {
	Manifest *Manifest
	Downtime time.Duration // consumers stopped until healthy again; 0 with Live
	Stopped  []string      // the containers that were stopped
}

// Volumes picks the playbook's volumes to work on: all, or the named ones.
func Volumes(pb *playbooks.Playbook, only []string) ([]string, error) {
	var all []string
	for _, v := range pb.Volumes {
		all = append(all, v.Name)
	}
	if len(only) == 0 {
		return all, nil
	}
	for _, name := range only {
		if !slices.Contains(all, name) {
			return nil, fmt.Errorf("volume %s: the playbook declares no such volume (it has: %s)", name, strings.Join(all, ", "))
		}
	}
	return only, nil
}

// Backup archives the stack's volumes (and encrypted secrets) from the host
// behind conn into dst, a fresh backup directory. The manifest is written
// last: a directory without one is an incomplete backup.
func Backup(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, dst Store, opts Options) (*Result, error) {
	if len(pb.Secrets) > 0 && len(opts.Recipients) == 0 && !opts.NoSecrets {
		return nil, ErrNoKey
	}
	rep := ui.Host{R: reporterOf(opts.Reporter), Name: conn.Host()}
	stack := opts.stack(pb)
	vols, err := Volumes(pb, opts.Volumes)
	if err != nil {
		return nil, err
	}
	specHash, err := SpecHash(pb)
	if err != nil {
		return nil, fmt.Errorf("hash playbook: %w", err)
	}
	st, release, err := deploy.Hold(ctx, conn, pb, deploy.Options{Stack: stack, StateDir: opts.StateDir,
		LockWait: opts.LockWait, LockStale: opts.LockStale, Version: opts.Version, Reporter: opts.Reporter})
	if err != nil {
		return nil, err
	}
	release = sync.OnceFunc(release)
	defer release()
	// pending is the last archive written, not yet synced and in place:
	// its sync overlaps the lock's release round trip (see below).
	var pending Writer
	finish := func() error {
		w := pending
		pending = nil
		if w == nil {
			return nil
		}
		return w.Close()
	}
	defer func() {
		if pending != nil {
			pending.Abort()
		}
	}()
	dumps := map[string]*playbooks.VolumeBackup{}
	var tarVols []string
	mountpoints := map[string]string{}
	for _, name := range vols {
		v, ok := st.Docker.Volumes[name]
		if !ok {
			return nil, fmt.Errorf("back up volume %s on %s: it does not exist there", name, conn.Host())
		}
		if owner := v.Labels[docker.LabelStack]; owner != stack {
			return nil, fmt.Errorf("back up volume %s on %s: it belongs to stack %q, not %q", name, conn.Host(), owner, stack)
		}
		if b := hotDump(pb, name); b != nil {
			dumps[name] = b
			continue
		}
		tarVols = append(tarVols, name)
		mountpoints[name] = v.Mountpoint
	}

	m := &Manifest{Stack: stack, Host: conn.Host(), Time: time.Now().UTC(), Method: MethodStop,
		BerthVersion: opts.Version, SpecHash: specHash}
	res := &Result{Manifest: m}
	switch {
	case len(tarVols) == 0:
		m.Method = MethodExec
	case opts.Live:
		m.Method = MethodLive
	default:
		res.Stopped = consumers(st, pb, stack, tarVols)
	}

	// Hot dumps first, while their containers run.
	for _, name := range vols {
		b := dumps[name]
		if b == nil {
			continue
		}
		c, ok := st.Docker.Containers[b.Container]
		if !ok || !c.Running {
			return res, fmt.Errorf("dump volume %s on %s: container %s is not running, and backup.exec runs in it", name, conn.Host(), b.Container)
		}
		// Names are host-wide: exec only in the stack's own container.
		if owner := c.Labels[docker.LabelStack]; owner != stack {
			return res, fmt.Errorf("dump volume %s on %s: container %s belongs to stack %q, not %q", name, conn.Host(), b.Container, owner, stack)
		}
		rep.Progress("dump volume %s with %s in %s", name, b.Exec[0], b.Container)
		v := Volume{Name: name, Method: MethodExec, Container: b.Container, File: File{File: name + ".dump.gz"}}
		args := append([]string{"docker", "exec", b.Container}, b.Exec...)
		if err := finish(); err != nil {
			return res, err
		}
		v, w, err := store(ctx, dst, v, func(w io.Writer) error {
			return conn.Run(ctx, remote.Cmd{Args: args, Stdout: w})
		})
		if err != nil {
			return res, fmt.Errorf("dump volume %s: %w", name, err)
		}
		pending = w
		m.Volumes = append(m.Volumes, v)
	}

	start := time.Now()
	if len(res.Stopped) > 0 {
		rep.Progress("stop %s for a consistent backup", strings.Join(res.Stopped, ", "))
	}
	archiveErr := stopAll(ctx, conn, res.Stopped)
	if archiveErr == nil {
		for _, name := range tarVols {
			if archiveErr = finish(); archiveErr != nil {
				break
			}
			rep.Progress("archive volume %s", name)
			v, w, err := store(ctx, dst, Volume{Name: name, File: File{File: name + ".tar.gz"}}, func(w io.Writer) error {
				return remote.Script(ctx, conn, archiveScript, w, mountpoints[name])
			})
			if err != nil {
				archiveErr = fmt.Errorf("archive volume %s: %w", name, err)
				break
			}
			pending = w
			m.Volumes = append(m.Volumes, v)
		}
	}
	if len(res.Stopped) > 0 {
		// Whatever happened, the stopped containers serve again, even
		// after Ctrl-C: the backup must never be what takes a site down.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restartTimeout)
		defer cancel()
		rep.Progress("start %s", strings.Join(res.Stopped, ", "))
		if err := startAll(rctx, conn, reporterOf(opts.Reporter), pb, res.Stopped); err != nil {
			return res, errors.Join(archiveErr, fmt.Errorf("restart after backup: %w", err))
		}
		res.Downtime = time.Since(start)
		m.DowntimeMS = res.Downtime.Milliseconds()
	}
	if archiveErr != nil {
		return res, archiveErr
	}
	// The host's part is done (the secrets came with the observe): the lock
	// goes while the last archive is synced here, not after. The deferred
	// release waits for this one.
	go release()
	if err := finish(); err != nil {
		return res, err
	}

	if len(pb.Secrets) > 0 && !opts.NoSecrets {
		sealed, err := encryptSecrets(st.Secrets, opts.Recipients)
		if err != nil {
			return res, err
		}
		f, err := writeSum(ctx, dst, SecretsFile, sealed)
		if err != nil {
			return res, err
		}
		m.Secrets = &f
	}
	if err := writeManifest(ctx, dst, m); err != nil {
		return res, err
	}
	return res, nil
}

// store writes what produce streams into v's file in dst, gzip-compressing
// and hashing it on the way. The file write and the hash run beside the
// stream (see fanout), not in its way. On success the file is left for the
// caller to Close (which syncs it and puts it in place) or Abort.
func store(ctx context.Context, dst Store, v Volume, produce func(io.Writer) error) (Volume, Writer, error) {
	w, err := dst.Create(ctx, v.File.File)
	if err != nil {
		return v, nil, err
	}
	sum := sha256.New()
	fan := newFanout(w, sum)
	stored := &counter{w: fan}
	zw, err := gzip.NewWriterLevel(stored, gzip.BestSpeed)
	if err != nil {
		fan.Close()
		w.Abort()
		return v, nil, err
	}
	raw := &counter{w: zw}
	err = produce(raw)
	if err == nil {
		err = zw.Close()
	}
	if ferr := fan.Close(); err == nil {
		err = ferr
	}
	if err != nil {
		w.Abort()
		return v, nil, err
	}
	v.TarSize, v.Size, v.SHA256 = raw.n, stored.n, hexSum(sum)
	return v, w, nil
}

// hotDump is the playbook's dump for volume name, or nil.
func hotDump(pb *playbooks.Playbook, name string) *playbooks.VolumeBackup {
	for _, v := range pb.Volumes {
		if v.Name == name {
			return v.Backup
		}
	}
	return nil
}

func writeSum(ctx context.Context, dst Store, name string, data []byte) (File, error) {
	if err := putFile(ctx, dst, name, strings.NewReader(string(data))); err != nil {
		return File{}, err
	}
	s := sha256.Sum256(data)
	return File{File: name, Size: int64(len(data)), SHA256: hex.EncodeToString(s[:])}, nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func reporterOf(r ui.Handler) ui.Handler { return ui.Or(r) }
