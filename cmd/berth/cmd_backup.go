package main

import (
	"context"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/backup"
	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/remote"
)

// backupTimeFormat names backup directories: UTC, sortable by name.
const backupTimeFormat = "20060102T150405.000Z"

func (a *App) backupCommand() *cli.Command {
	return &cli.Command{
		Name:  "backup",
		Usage: "archive the stack's volumes and secrets from each target into a directory",
		Description: `For each named volume of the stack (or --volume NAME), on each target:
stops the containers that mount it (reverse dependency order), streams a tar
of the volume over SSH into DIR/<stack>/<host>/<UTC time>/, compressed and
checksummed, then starts them again and waits until healthy. The downtime is
reported. --live skips the stop (the archive may then be inconsistent).

The stack's stored secrets go along, encrypted with age to --recipient (or
BERTH_BACKUP_RECIPIENT) or to the passphrase in BERTH_BACKUP_PASSPHRASE;
without a key berth refuses, unless --no-secrets.

Example:
   berth backup --host deploy@db1 --recipient age1... --keep 7`,
		Flags:  concat(targetFlags(), playbookFlags(), outputFlags(), backupFlags()),
		Action: a.backup,
	}
}

func backupFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "to", Value: "backups", Usage: "destination `DIR`", Category: "Backup"},
		&cli.StringSliceFlag{Name: "volume", Usage: "back up only volume `NAME` (repeatable)", Category: "Backup"},
		&cli.BoolFlag{Name: "live", Usage: "do not stop the volumes' containers (faster, maybe inconsistent)", Category: "Backup"},
		&cli.StringFlag{Name: "recipient", Usage: "age `RECIPIENT` (age1...) to encrypt the secrets to", EnvVars: []string{"BERTH_BACKUP_RECIPIENT"}, Category: "Backup"},
		&cli.BoolFlag{Name: "no-secrets", Usage: "leave the stack's secrets out of the backup", Category: "Backup"},
		&cli.DurationFlag{Name: "lock-wait", Usage: "wait up to `DURATION` for another run's deploy lock", Category: "Backup"},
		&cli.DurationFlag{Name: "lock-stale", Value: 30 * time.Minute, Usage: "report a lock older than `DURATION` as stale (break it with berth unlock)", Category: "Backup"},
		&cli.IntFlag{Name: "keep", Usage: "keep the newest `N` backups of each host at the destination, remove older ones (0: keep all)", Category: "Backup"},
	}
}

func (a *App) backup(c *cli.Context) error {
	recipients, err := backup.Recipients(c.String("recipient"), os.Getenv("BERTH_BACKUP_PASSPHRASE"))
	if err != nil {
		return usageError("%v", err)
	}
	rep := a.handler(c)
	r, err := a.prepare(c, true)
	if err != nil {
		return err
	}
	if pb, _ := loadPlaybook(r.playbook, r.vars.forHost(nil)); len(pb.Secrets) > 0 && len(recipients) == 0 && !c.Bool("no-secrets") {
		return usageError("%v", backup.ErrNoKey)
	}
	root, err := destStore(c, c.String("to"))
	if err != nil {
		return err
	}
	opts := backup.Options{Stack: c.String("stack"), StateDir: c.String("state-dir"), Volumes: c.StringSlice("volume"),
		Live: c.Bool("live"), Recipients: recipients, NoSecrets: c.Bool("no-secrets"),
		LockWait: c.Duration("lock-wait"), LockStale: c.Duration("lock-stale"), Version: version, Reporter: rep}
	_, err = eachHost(c.Context, r, everyHost(r), func(ctx context.Context, h rollout.Host, conn remote.Conn) (struct{}, error) {
		pb := h.Playbook
		stack := c.String("stack")
		if stack == "" {
			stack = pb.Name
		}
		hostDir := root.Sub(stack).Sub(pathSafe(conn.Host()))
		dst := hostDir.Sub(time.Now().UTC().Format(backupTimeFormat))
		res, err := backup.Backup(ctx, conn, pb, dst, opts)
		if err != nil {
			return struct{}{}, err
		}
		a.reportBackup(rep, conn.Host(), dst, res)
		if keep := c.Int("keep"); keep > 0 {
			removed, err := backup.Prune(ctx, hostDir, keep)
			for _, name := range removed {
				rep.Handle(ui.Pruned{Host: conn.Host(), Backup: name})
			}
			if err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	return err
}

func (a *App) reportBackup(rep ui.Handler, host string, dst backup.Store, res *backup.Result) {
	m := res.Manifest
	var size int64
	for _, v := range m.Volumes {
		size += v.Size
	}
	rep.Handle(ui.Backup{Host: host, Dir: dst.String(), Volumes: len(m.Volumes), Bytes: size, Secrets: m.Secrets != nil,
		Method: m.Method, Downtime: ui.Duration(res.Downtime), Stopped: res.Stopped})
}

// pathSafe turns a host's name (user@addr:port) into one directory name.
func pathSafe(host string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._@-", r)) {
			return r
		}
		return '_'
	}, host)
}

// destStore opens a backup destination: a local directory or s3://bucket/prefix.
func destStore(c *cli.Context, dest string) (backup.Store, error) {
	bucket, prefix, ok := backup.ParseS3URL(dest)
	if !ok {
		if strings.HasPrefix(dest, "s3:") {
			return nil, usageError("%q: want s3://bucket/prefix", dest)
		}
		return backup.Dir(dest), nil
	}
	cfg, err := awscfg.Load(c.Context, awsOptions(c))
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// A custom endpoint (AWS_ENDPOINT_URL_S3: MinIO, a fake) seldom
		// has a DNS name per bucket.
		o.UsePathStyle = o.BaseEndpoint != nil
		// An object's body streams after its call returns, for as long as a
		// volume takes: the per-call deadline would cut it off.
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			_, err := st.Initialize.Remove(awscfg.DeadlineMiddleware)
			return err
		})
	})
	return backup.S3{Client: client, Bucket: bucket, Prefix: prefix}, nil
}

func (a *App) restoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "restore",
		Usage: "put a backup's volumes and secrets on each target and deploy the stack there",
		Description: `Verifies every checksum of the backup in --from DIR first: a corrupted
backup is refused before any host is touched. On each target, a volume that
already holds data is refused unless --force (which replaces its contents).
Then stops the containers that mount the volumes, streams each archive into
its volume (creating the volume with the stack's label if missing), stores the
backup's secrets (decrypted with the age identity file BERTH_BACKUP_IDENTITY
or the passphrase BERTH_BACKUP_PASSPHRASE) and deploys the stack, waiting
until healthy. Works onto a fresh host that never had the stack.

Example:
   berth restore --host deploy@new-db --from backups/blog/deploy@db1_22/20261127T134108.000Z`,
		Flags: concat(targetFlags(), playbookFlags(), deployFlags(), outputFlags(), []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "the backup `DIR` or s3://bucket/prefix/... (holding manifest.json)", Required: true, Category: "Restore"},
			&cli.StringSliceFlag{Name: "volume", Usage: "restore only volume `NAME` (repeatable)", Category: "Restore"},
			&cli.BoolFlag{Name: "force", Usage: "replace the contents of volumes that already hold data", Category: "Restore"},
			&cli.StringFlag{Name: "age-identity", Usage: "age identity `FILE` to decrypt the backup's secrets", EnvVars: []string{"BERTH_BACKUP_IDENTITY"}, Category: "Restore"},
			&cli.BoolFlag{Name: "no-secrets", Usage: "keep the host's own secrets, ignore the backup's", Category: "Restore"},
		}),
		Action: a.restore,
	}
}

func (a *App) restore(c *cli.Context) error {
	rep := a.handler(c)
	src, err := destStore(c, c.String("from"))
	if err != nil {
		return err
	}
	m, err := backup.ReadManifest(c.Context, src)
	if err != nil {
		return err
	}
	if err := backup.Verify(c.Context, src, m); err != nil {
		return err
	}
	var secrets map[string]string
	if !c.Bool("no-secrets") {
		var idFile []byte
		if p := c.String("age-identity"); p != "" {
			if idFile, err = os.ReadFile(p); err != nil {
				return usageError("--age-identity: %v", err)
			}
		}
		ids, err := backup.Identities(idFile, os.Getenv("BERTH_BACKUP_PASSPHRASE"))
		if err != nil {
			return usageError("%v", err)
		}
		if secrets, err = backup.OpenSecrets(c.Context, src, m, ids); err != nil {
			return err
		}
	}
	r, err := a.prepare(c, true)
	if err != nil {
		return err
	}
	opts := backup.RestoreOptions{Volumes: c.StringSlice("volume"), Force: c.Bool("force"), Secrets: secrets}
	opts.Deploy = deploy.Options{Stack: c.String("stack"), StateDir: c.String("state-dir"), CommandTimeout: c.Duration("command-timeout"), Pull: c.Bool("pull"),
		LockWait: c.Duration("lock-wait"), LockStale: c.Duration("lock-stale"), Version: version, Reporter: rep, Redactor: a.redactor}
	for _, v := range secrets {
		a.redactor.Add(v)
	}
	_, err = eachHost(c.Context, r, everyHost(r), func(ctx context.Context, h rollout.Host, conn remote.Conn) (struct{}, error) {
		res, err := backup.Restore(ctx, conn, h.Playbook, src, m, opts)
		if err != nil {
			return struct{}{}, err
		}
		rep.Handle(ui.Restore{Host: conn.Host(), From: src.String(), Taken: m.Time, TakenOn: m.Host,
			Volumes: res.Volumes, Stopped: res.Stopped, Downtime: ui.Duration(res.Downtime)})
		return struct{}{}, nil
	})
	return err
}
