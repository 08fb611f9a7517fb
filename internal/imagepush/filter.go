package imagepush

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
)

// maxJSON bounds the layer metadata Filter reads into memory to identify a
// layer; a larger file is passed through unexamined (its layer then travels).
const maxJSON = 1 << 20

// FilterStats says what Filter passed and dropped.
type FilterStats struct {
	Omitted      int   // layer tarballs dropped
	OmittedBytes int64 // their size
}

// Filter copies the `docker save` archive src to dst, leaving out the layer
// tarballs of the layers in omit (diff IDs; see Omit). manifest.json and every
// other entry pass unchanged, so the archive still names every layer:
// docker load reads a layer's file only when the engine lacks its chain.
//
// Two archive layouts are understood. OCI (Docker 25+) names a layer blob by
// its digest, which for these uncompressed tarballs is the diff ID. The
// legacy layout (Docker before 25) names a layer's directory by a "v1 ID",
// and manifest.json, which maps it to a layer, comes last; so each
// directory's json (read before its layer.tar) is checked instead: its v1 ID
// must be the digest docker derives from that json and the chain ID of one of
// the omitted layers. Whatever is not recognised is sent: a layer sent in
// vain costs bytes, one left out wrongly would fail the load.
func Filter(dst io.Writer, src io.Reader, layers []string, omit map[string]bool) (FilterStats, error) {
	var st FilterStats
	var chains []string // chain IDs of the omitted layers, for the legacy layout
	all := chainIDs(layers)
	for i, d := range layers {
		if omit[d] {
			chains = append(chains, all[i])
		}
	}
	dropDir := map[string]bool{}
	tr := tar.NewReader(src)
	tw := tar.NewWriter(dst)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read image archive: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		dir, base := path.Split(name)
		dir = strings.TrimSuffix(dir, "/")
		if drop(name, dir, base, dropDir, omit) {
			st.Omitted++
			st.OmittedBytes += h.Size
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			return st, fmt.Errorf("write image archive: %w", err)
		}
		if base == "json" && len(chains) > 0 && h.Size <= maxJSON && isHex64(dir) {
			var buf bytes.Buffer
			if _, err := io.Copy(io.MultiWriter(tw, &buf), tr); err != nil {
				return st, fmt.Errorf("copy %s: %w", name, err)
			}
			if legacyLayerOf(buf.Bytes(), dir, chains) {
				dropDir[dir] = true
			}
			continue
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return st, fmt.Errorf("copy %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return st, fmt.Errorf("write image archive: %w", err)
	}
	return st, nil
}

// drop says whether an entry is the tarball of a layer the host has.
func drop(name, dir, base string, dropDir, omit map[string]bool) bool {
	if hex, ok := strings.CutPrefix(name, "blobs/sha256/"); ok {
		return omit["sha256:"+hex]
	}
	return base == "layer.tar" && dropDir[dir]
}

// legacyLayerOf says whether the legacy layer directory dir, with metadata
// js, is one of the layers with these chain IDs. docker save computes a
// directory's name as sha256 of the json without its id, with "parent" as a
// digest and the chain ID as "layer_id" (the keys sorted, as Go encodes a
// map). Lower layers get their "os" only after that, so both are tried.
func legacyLayerOf(js []byte, dir string, chains []string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(js, &m) != nil {
		return false
	}
	var id, parent string
	if json.Unmarshal(m["id"], &id) != nil || id != dir {
		return false
	}
	if p, ok := m["parent"]; ok {
		if json.Unmarshal(p, &parent) != nil {
			return false
		}
		m["parent"], _ = json.Marshal("sha256:" + parent)
	}
	delete(m, "id")
	noOS := map[string]json.RawMessage{}
	for k, v := range m {
		if k != "os" {
			noOS[k] = v
		}
	}
	for _, c := range chains {
		for _, cand := range []map[string]json.RawMessage{m, noOS} {
			cand["layer_id"], _ = json.Marshal(c)
			b, err := json.Marshal(cand)
			if err != nil {
				return false
			}
			sum := sha256.Sum256(b)
			if hex.EncodeToString(sum[:]) == id {
				return true
			}
		}
	}
	return false
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
