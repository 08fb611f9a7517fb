package imagepush

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadArchive(t *testing.T) {
	raw, err := os.ReadFile("testdata/v2.tar")
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(raw)
	w.Close()
	zipped := filepath.Join(t.TempDir(), "v2.tar.gz")
	if err := os.WriteFile(zipped, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, v1 := load(t, "v1.tar")
	_, have := archiveLayers(t, v1)
	for _, path := range []string{"testdata/v2.tar", zipped} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			imgs, err := ReadArchive(path)
			if err != nil {
				t.Fatal(err)
			}
			// The ID docker gave the image when it was built (docker image inspect probe:2).
			const id = "sha256:1e2a366c8ae64b4f7268a4a4e66ae8986ffc7057f6cdeaa07e2c05d6febb2f60"
			wantSize := int64(len(raw)) // unknown (0) for a compressed file
			if path == zipped {
				wantSize = 0
			}
			if len(imgs) != 1 || imgs[0].Ref != "probe:2" || imgs[0].ID != id || len(imgs[0].Layers) != 3 || imgs[0].Archive != path || imgs[0].Size != wantSize {
				t.Fatalf("ReadArchive = %+v", imgs)
			}
			conn := &captureConn{}
			res, err := Push(context.Background(), conn, imgs[0], Options{Have: [][]string{have}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Omitted != 2 || res.Sent != int64(conn.got.Len()) {
				t.Fatalf("push from the archive: %+v, want the two shared layers left out", res)
			}
		})
	}
	if _, err := ReadArchive("archive_test.go"); err == nil {
		t.Fatal("a file that is no archive was read as one")
	}
	two := filepath.Join(t.TempDir(), "two.tar")
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	manifest := []byte(`[{"Config":"a.json","RepoTags":["a:1"],"Layers":[]},{"Config":"b.json","RepoTags":["b:1"],"Layers":[]}]`)
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: int64(len(manifest))})
	tw.Write(manifest)
	tw.Close()
	os.WriteFile(two, b.Bytes(), 0o644)
	if _, err := ReadArchive(two); err == nil || !strings.Contains(err.Error(), "one image per file") {
		t.Fatalf("an archive of two images: err %v, want a refusal", err)
	}
}
