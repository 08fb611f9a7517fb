package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/imagepush"
	"github.com/berth-sh/berth/internal/rollout"
)

func pushFlag() cli.Flag {
	return &cli.BoolFlag{Name: "push", Category: "Deploy",
		Usage: "send every image from this machine's Docker engine to hosts that lack it (only the layers they lack), instead of the hosts pulling it; per container: push: true in the playbook"}
}

// pushImages reads from the local engine every image the run pushes: all of
// them with --push, else those of containers marked push: true. A missing
// one is a usage error, found before any host is reached.
func pushImages(ctx context.Context, all bool, hosts []rollout.Host) (map[string]imagepush.Image, error) {
	var refs []string
	for _, h := range hosts {
		if all {
			refs = append(refs, docker.Images(h.Playbook)...)
			continue
		}
		for _, c := range h.Playbook.Containers {
			if c.Push {
				refs = append(refs, c.Image)
			}
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	imgs, err := imagepush.Inspect(ctx, refs)
	var missing *imagepush.MissingError
	if errors.As(err, &missing) {
		return nil, usageError("%v", err)
	}
	return imgs, err
}
