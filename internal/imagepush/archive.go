package imagepush

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// maxManifest bounds the manifest and config files read from an archive.
const maxManifest = 16 << 20

// ReadArchive lists the tags of the one image in a `docker save` archive
// (plain or gzip-compressed) at path, each with Archive set so Push sends it from the
// file instead of the local engine. It reads the archive twice: manifest.json
// comes near its end, the images' configs before it.
func ReadArchive(path string) ([]Image, error) {
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	compressed, err := isGzip(path)
	if err != nil {
		return nil, err
	}
	files, err := archiveFiles(path, map[string]bool{"manifest.json": true})
	if err != nil {
		return nil, err
	}
	if files["manifest.json"] == nil {
		return nil, fmt.Errorf("read image archive %s: no manifest.json: not a docker save archive", path)
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		return nil, fmt.Errorf("read image archive %s: manifest.json: %w", path, err)
	}
	if len(manifest) > 1 {
		// docker load would load them all for each one pushed, and a layer
		// file of one may be a link into another's: one image per file.
		return nil, fmt.Errorf("read image archive %s: it holds %d images; save one image per file (docker save -o FILE NAME:TAG)", path, len(manifest))
	}
	want := map[string]bool{}
	for _, m := range manifest {
		want[m.Config] = true
	}
	configs, err := archiveFiles(path, want)
	if err != nil {
		return nil, err
	}
	var imgs []Image
	for _, m := range manifest {
		cfg := configs[m.Config]
		var c struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			return nil, fmt.Errorf("read image archive %s: config %s: %w", path, m.Config, err)
		}
		if len(c.RootFS.DiffIDs) != len(m.Layers) {
			return nil, fmt.Errorf("read image archive %s: config %s lists %d layers, the manifest %d", path, m.Config, len(c.RootFS.DiffIDs), len(m.Layers))
		}
		sum := sha256.Sum256(cfg)
		size := int64(0)
		if fi, err := os.Stat(path); err == nil && !compressed {
			size = fi.Size()
		}
		for _, tag := range m.RepoTags {
			imgs = append(imgs, Image{Ref: tag, ID: "sha256:" + hex.EncodeToString(sum[:]), Layers: c.RootFS.DiffIDs, Archive: path, Size: size})
		}
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("read image archive %s: it holds no tagged image (save it by name: docker save NAME:TAG)", path)
	}
	return imgs, nil
}

// archiveFiles reads the named entries of the archive at path.
func archiveFiles(path string, names map[string]bool) (map[string][]byte, error) {
	r, closeFn, err := openArchive(path)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	out := map[string][]byte{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read image archive %s: %w", path, err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if !names[name] {
			continue
		}
		if h.Size > maxManifest {
			return nil, fmt.Errorf("read image archive %s: %s is %d bytes, more than a manifest can be", path, name, h.Size)
		}
		if out[name], err = io.ReadAll(tr); err != nil {
			return nil, fmt.Errorf("read image archive %s: %w", path, err)
		}
	}
}

func isGzip(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("read image archive: %w", err)
	}
	defer f.Close()
	var magic [2]byte
	n, _ := io.ReadFull(f, magic[:])
	return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b, nil
}

// openArchive opens a tar file, decompressing it when it is gzip.
func openArchive(path string) (io.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read image archive: %w", err)
	}
	br := bufio.NewReaderSize(f, chunk)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("read image archive %s: %w", path, err)
		}
		return gz, f.Close, nil
	}
	return br, f.Close, nil
}
