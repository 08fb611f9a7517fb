package backup

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/gzip"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// RestoreOptions shape one host's restore.
type RestoreOptions struct {
	Volumes []string // only these of the backup's volumes; empty means all
	Force   bool     // replace the contents of volumes that hold data
	// Secrets are the backup's decrypted secrets (see OpenSecrets); nil
	// leaves the host's stored secrets as they are.
	Secrets map[string]string
	// Deploy is how the stack is deployed after the data is back. Its
	// LookupEnv is wrapped so the backup's secrets win: the data was
	// initialised with them.
	Deploy deploy.Options
}

// RestoreResult is one host's restore.
type RestoreResult struct {
	Volumes  []string
	Stopped  []string
	Deploy   *deploy.Result
	Downtime time.Duration // consumers stopped until deployed healthy
}

// OpenSecrets decrypts the backup's secrets, or returns nil when it has none.
func OpenSecrets(ctx context.Context, src Store, m *Manifest, ids []age.Identity) (map[string]string, error) {
	if m.Secrets == nil {
		return nil, nil
	}
	if len(ids) == 0 {
		return nil, errors.New("open backup secrets: the backup holds encrypted secrets and no key was given: set BERTH_BACKUP_IDENTITY to an age identity file or BERTH_BACKUP_PASSPHRASE (or pass --no-secrets to keep the host's own)")
	}
	r, err := src.Open(ctx, m.Secrets.File)
	if err != nil {
		return nil, fmt.Errorf("open backup secrets: %w", err)
	}
	defer r.Close()
	return decryptSecrets(r, ids)
}

// Restore puts the backup's volumes back on the host behind conn, stores its
// secrets and deploys the stack there. Verify the backup first: Restore
// checks each archive's checksum again as it streams, but by then a volume
// may be half written.
func Restore(ctx context.Context, conn remote.Conn, pb *playbooks.Playbook, src Store, m *Manifest, opts RestoreOptions) (*RestoreResult, error) {
	rep := ui.Host{R: reporterOf(opts.Deploy.Reporter), Name: conn.Host()}
	stack := opts.Deploy.Stack
	if stack == "" {
		stack = pb.Name
	}
	declared, err := Volumes(pb, nil)
	if err != nil {
		return nil, err
	}
	var vols []Volume
	for _, v := range m.Volumes {
		if len(opts.Volumes) > 0 && !slices.Contains(opts.Volumes, v.Name) {
			continue
		}
		if !slices.Contains(declared, v.Name) {
			return nil, fmt.Errorf("restore volume %s: the playbook declares no such volume (it has: %s)", v.Name, strings.Join(declared, ", "))
		}
		vols = append(vols, v)
	}
	for _, name := range opts.Volumes {
		if !slices.ContainsFunc(vols, func(v Volume) bool { return v.Name == name }) {
			return nil, fmt.Errorf("restore volume %s: the backup has no such volume", name)
		}
	}

	// The lock is held while volumes are written, then handed to deploy.
	lockOpts := opts.Deploy
	lockOpts.Stack = stack
	st, release, err := deploy.Hold(ctx, conn, pb, lockOpts)
	if err != nil {
		return nil, err
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	var names []string
	for _, v := range vols {
		names = append(names, v.Name)
	}
	if err := checkTarget(ctx, conn, st, stack, names, opts.Force); err != nil {
		return nil, err
	}

	// Hot dumps go in once the stack runs again; files go in while the
	// volumes' containers are stopped.
	var tarNames []string
	var dumps []Volume
	for _, v := range vols {
		if v.Method != MethodExec {
			tarNames = append(tarNames, v.Name)
			continue
		}
		if hotDump(pb, v.Name) == nil {
			return nil, fmt.Errorf("restore volume %s: the backup holds a dump made with backup.exec in %s, and the playbook has no backup.restore for the volume", v.Name, v.Container)
		}
		dumps = append(dumps, v)
	}
	res := &RestoreResult{Volumes: names, Stopped: consumers(st, pb, stack, tarNames)}
	start := time.Now()
	if len(res.Stopped) > 0 {
		rep.Progress("stop %s to restore their volumes", strings.Join(res.Stopped, ", "))
	}
	if err := stopAll(ctx, conn, res.Stopped); err != nil {
		return res, err
	}
	mode := "fresh"
	if opts.Force {
		mode = "force"
	}
	for _, v := range vols {
		rep.Progress("restore volume %s (%d bytes)", v.Name, v.TarSize)
		if v.Method == MethodExec {
			continue
		}
		err := extract(ctx, src, v, func(r io.Reader) error { return extractInto(ctx, conn, r, v.Name, stack, mode) })
		if err != nil {
			// A half-restored volume must not be served: its consumers
			// stay stopped until a restore or deploy is run again.
			return res, fmt.Errorf("%w (containers left stopped: %s)", err, strings.Join(res.Stopped, ", "))
		}
	}

	dopts := opts.Deploy
	if opts.Secrets != nil {
		dopts.LookupEnv = secretsFirst(opts.Secrets, dopts.LookupEnv)
	}
	release()
	released = true
	rep.Progress("deploy the restored stack")
	res.Deploy, err = deploy.Deploy(ctx, conn, pb, dopts)
	res.Downtime = time.Since(start)
	if err != nil {
		return res, err
	}
	for _, v := range dumps {
		b := hotDump(pb, v.Name)
		rep.Progress("restore volume %s with %s in %s", v.Name, b.Restore[0], b.Container)
		args := append([]string{"docker", "exec", "-i", b.Container}, b.Restore...)
		err := extract(ctx, src, v, func(r io.Reader) error {
			if err := conn.Run(ctx, remote.Cmd{Args: args, Stdin: r}); err != nil {
				return fmt.Errorf("restore volume %s: %w", v.Name, err)
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// extract streams one archive, decompressed, into sink (which writes it on
// the host), checking the archive's checksum as it goes.
func extract(ctx context.Context, src Store, v Volume, sink func(io.Reader) error) error {
	f, err := src.Open(ctx, v.File.File)
	if err != nil {
		return fmt.Errorf("restore volume %s: %w", v.Name, err)
	}
	defer f.Close()
	sum := sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(f, sum))
	if err != nil {
		return fmt.Errorf("restore volume %s: %w", v.Name, err)
	}
	if err := sink(zr); err != nil {
		return err
	}
	// tar stops at its end marker: read the rest so the whole file is summed.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("restore volume %s: %w", v.Name, err)
	}
	if _, err := io.Copy(sum, f); err != nil {
		return fmt.Errorf("restore volume %s: %w", v.Name, err)
	}
	if got := hexSum(sum); got != v.SHA256 {
		return &ChecksumError{File: v.File.File, Want: v.SHA256, Got: got}
	}
	return nil
}

// checkTarget refuses volumes of another stack and, unless force, volumes
// that already hold data: a restore or move never overwrites data silently.
func checkTarget(ctx context.Context, conn remote.Conn, st *deploy.State, stack string, vols []string, force bool) error {
	var existing, mountpoints []string
	for _, name := range vols {
		obs, ok := st.Docker.Volumes[name]
		if !ok {
			continue
		}
		if owner := obs.Labels[docker.LabelStack]; owner != stack {
			return fmt.Errorf("write volume %s on %s: it belongs to stack %q, not %q; berth does not touch it", name, conn.Host(), owner, stack)
		}
		existing = append(existing, name)
		mountpoints = append(mountpoints, obs.Mountpoint)
	}
	if len(existing) == 0 || force {
		return nil
	}
	full, err := probe(ctx, conn, mountpoints)
	if err != nil {
		return err
	}
	var held []string
	for i, f := range full {
		if f {
			held = append(held, existing[i])
		}
	}
	if len(held) > 0 {
		return &DataPresentError{Host: conn.Host(), Volumes: held}
	}
	return nil
}

// extractInto streams the tar r into volume vol on the host (see
// extractScript for mode).
func extractInto(ctx context.Context, conn remote.Conn, r io.Reader, vol, stack, mode string) error {
	args := []string{"sh", "-c", extractScript, "berth-restore", vol, docker.LabelStack + "=" + stack, mode}
	if err := conn.Run(ctx, remote.Cmd{Args: args, Stdin: r}); err != nil {
		var exit *remote.ExitError
		if errors.As(err, &exit) && exit.Code == 3 {
			return &DataPresentError{Host: conn.Host(), Volumes: []string{vol}}
		}
		return fmt.Errorf("restore volume %s: %w", vol, err)
	}
	return nil
}

// secretsFirst makes deploy take the backup's secrets over the environment's
// and the host's stored ones, the same way BERTH_SECRET_<NAME> does.
func secretsFirst(secrets map[string]string, next func(string) (string, bool)) func(string) (string, bool) {
	byEnv := make(map[string]string, len(secrets))
	for name, v := range secrets {
		byEnv["BERTH_SECRET_"+strings.ToUpper(name)] = v
	}
	return func(key string) (string, bool) {
		if v, ok := byEnv[key]; ok {
			return v, true
		}
		if next != nil {
			return next(key)
		}
		return os.LookupEnv(key)
	}
}
