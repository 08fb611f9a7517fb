package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/imagepush"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// toPush lists the local images of pb's containers that Options.Push names and
// the host does not hold under that image ID.
func (o Options) toPush(pb *playbooks.Playbook, obs *docker.Observed) []imagepush.Image {
	var out []imagepush.Image
	for _, ref := range docker.Images(pb) {
		img, ok := o.Push[ref]
		if ok && obs.ImageID(ref) != img.ID {
			out = append(out, img)
		}
	}
	return out
}

// assumePushed makes obs look as it will once imgs are loaded, so a plan made
// before the push already says which containers the new images recreate.
func assumePushed(obs *docker.Observed, imgs []imagepush.Image) {
	for _, img := range imgs {
		obs.SetImage(img.Ref, img.ID, img.Layers)
	}
}

// push sends imgs to the host, each leaving out the layers the host's images
// already hold, and records them in obs. It stops at the first failure: a
// failed load tags nothing, and the deploy must not go on without the image.
func push(ctx context.Context, conn remote.Conn, obs *docker.Observed, imgs []imagepush.Image, spool *imagepush.Spool, rep ui.Host) (int64, error) {
	var total int64
	for _, img := range imgs {
		var have [][]string
		for _, layers := range obs.Layers {
			have = append(have, layers)
		}
		rep.Progress("pushing %s (%d layers)", img.Ref, len(img.Layers))
		r, err := imagepush.Push(ctx, conn, img, imagepush.Options{Have: have, Spool: spool,
			Progress: func(p imagepush.Progress) {
				eta := ""
				if left := p.Left(); left > 0 {
					eta = fmt.Sprintf(", about %s left", left.Round(time.Second))
				}
				rep.Emit(ui.KindProgress, fmt.Sprintf("pushing %s: %s sent, %s/s%s", img.Ref, mib(p.Sent), mib(rate(p.Sent, p.Elapsed)), eta),
					map[string]any{"image": img.Ref, "bytes": p.Sent, "elapsed_ms": p.Elapsed.Milliseconds(), "left_ms": p.Left().Milliseconds()})
			}})
		total += r.Sent
		if err != nil {
			return total, err
		}
		note := ""
		if r.Retried {
			note = "; the host's engine reuses no layers it has (containerd image store?), so the whole image went"
		}
		rep.Emit(ui.KindProgress, fmt.Sprintf("pushed %s: %d of %d layers sent, %s in %s (%s/s)%s", img.Ref,
			r.Layers-r.Omitted, r.Layers, mib(r.Sent), r.Duration.Round(time.Millisecond), mib(rate(r.Sent, r.Duration)), note),
			map[string]any{"image": img.Ref, "bytes": r.Sent, "layers": r.Layers, "layers_sent": r.Layers - r.Omitted,
				"duration_ms": r.Duration.Milliseconds(), "whole_image_retry": r.Retried})
		obs.SetImage(img.Ref, img.ID, img.Layers)
	}
	return total, nil
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
