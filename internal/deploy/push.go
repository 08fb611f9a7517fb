package deploy

import (
	"context"

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
		rep.R.Handle(ui.Transfer{Host: rep.Name, Image: img.Ref, Status: ui.TransferStarted, Layers: len(img.Layers)})
		r, err := imagepush.Push(ctx, conn, img, imagepush.Options{Have: have, Spool: spool,
			Progress: func(p imagepush.Progress) {
				rep.R.Handle(ui.Transfer{Host: rep.Name, Image: img.Ref, Status: ui.TransferProgress, Bytes: p.Sent,
					Elapsed: ui.Duration(p.Elapsed), Left: ui.Duration(p.Left()), Layers: len(img.Layers)})
			}})
		total += r.Sent
		if err != nil {
			return total, err
		}
		rep.R.Handle(ui.Transfer{Host: rep.Name, Image: img.Ref, Status: ui.TransferDone, Bytes: r.Sent,
			Elapsed: ui.Duration(r.Duration), Layers: r.Layers, LayersSent: r.Layers - r.Omitted, WholeImage: r.Retried})
		obs.SetImage(img.Ref, img.ID, img.Layers)
	}
	return total, nil
}
