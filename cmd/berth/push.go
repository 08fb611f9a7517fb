package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/imagepush"
	"github.com/berth-sh/berth/internal/rollout"
)

func pushFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "push", Category: "Deploy",
			Usage: "send every image from this machine's Docker engine to hosts that lack it (only the layers they lack), instead of the hosts pulling it; per container: push: true in the playbook"},
		&cli.StringSliceFlag{Name: "push-archive", Category: "Deploy",
			Usage: "send the image in `FILE`, a docker save archive of one image (plain or gzip), to hosts that lack it, for the containers that run it (repeatable)"},
	}
}

// pushImages finds every image the run pushes: those tagged in the
// --push-archive files that a container runs, then from the local engine all
// others with --push, else those of containers marked push: true. A missing
// image or unreadable archive is a usage error, found before any host is
// reached.
func pushImages(ctx context.Context, all bool, archives []string, hosts []rollout.Host) (map[string]imagepush.Image, error) {
	imgs := map[string]imagepush.Image{}
	for _, path := range archives {
		in, err := imagepush.ReadArchive(path)
		if err != nil {
			return nil, usageError("--push-archive: %v", err)
		}
		for _, img := range in {
			imgs[img.Ref] = img
		}
	}
	var refs []string
	for _, h := range hosts {
		for _, c := range h.Playbook.Containers {
			if _, fromFile := imgs[c.Image]; (all || c.Push) && !fromFile {
				refs = append(refs, c.Image)
			}
		}
	}
	if len(refs) == 0 {
		return imgs, nil
	}
	local, err := imagepush.Inspect(ctx, refs)
	var missing *imagepush.MissingError
	if errors.As(err, &missing) {
		return nil, usageError("%v", err)
	}
	if err != nil {
		return nil, err
	}
	for ref, img := range local {
		imgs[ref] = img
	}
	return imgs, nil
}

// pushSpool shares each image's one local read among the hosts of a run
// that pushes from the local engine to more than one host; nil otherwise.
func pushSpool(imgs map[string]imagepush.Image, hosts int, dryRun bool) (*imagepush.Spool, error) {
	if hosts < 2 || dryRun {
		return nil, nil
	}
	for _, img := range imgs {
		if img.Archive == "" {
			return imagepush.NewSpool()
		}
	}
	return nil, nil
}
