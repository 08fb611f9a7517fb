// Package imagepush sends a local image to a host over the host's existing
// connection, without a registry: `docker save` here, the layers the host
// already has dropped from the archive, gzip on the wire, `docker load` there.
package imagepush

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// Image is a local image as `docker image inspect` reports it.
type Image struct {
	Ref    string   // what the playbook names; docker save is given this, so load tags it
	ID     string   // sha256:...
	Layers []string // RootFS diff IDs, base first
	// Archive is a `docker save` file holding the image; "" means the local
	// engine. docker load gets the whole file, every image in it.
	Archive string
	// Size is about how many bytes the archive holds (docker's image size,
	// or the file's); 0: unknown. Progress estimates the time left from it.
	Size int64
}

// Omit returns the diff IDs of img's layers that need not travel to a host
// whose images have the layer lists have. docker load skips a layer when the
// engine has its whole chain (the layer on top of the same parents), so only
// the longest prefix img shares with one of the host's images counts. A layer
// whose diff ID appears again above that prefix is kept: docker save stores
// such a repeat as a link to the first copy.
func Omit(img []string, have [][]string) map[string]bool {
	k := 0
	for _, h := range have {
		n := 0
		for n < len(img) && n < len(h) && img[n] == h[n] {
			n++
		}
		k = max(k, n)
	}
	omit := map[string]bool{}
	for _, d := range img[:k] {
		if !slices.Contains(img[k:], d) {
			omit[d] = true
		}
	}
	return omit
}

// chainIDs are the layer chain IDs of diffs, as the engine names its layers:
// the first is the first diff ID, each next one sha256("PARENT DIFF").
func chainIDs(diffs []string) []string {
	out := make([]string, 0, len(diffs))
	for i, d := range diffs {
		if i == 0 {
			out = append(out, d)
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + d))
		out = append(out, "sha256:"+hex.EncodeToString(sum[:]))
	}
	return out
}
