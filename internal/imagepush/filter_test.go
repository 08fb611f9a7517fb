package imagepush

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"slices"
	"testing"
)

// The testdata archives are `docker save` output (Docker 20.10, legacy
// layout) of two three-layer images that differ only in the top layer.

type entry struct {
	name string
	body []byte
}

func readTar(t *testing.T, r io.Reader) []entry {
	t.Helper()
	var es []entry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return es
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, entry{h.Name, b})
	}
}

// archiveLayers reads an archive's manifest: the layer files in order, and
// the diff IDs from its config.
func archiveLayers(t *testing.T, es []entry) (files, diffs []string) {
	t.Helper()
	get := func(name string) []byte {
		for _, e := range es {
			if e.name == name {
				return e.body
			}
		}
		t.Fatalf("no %s in archive", name)
		return nil
	}
	var m []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(get("manifest.json"), &m); err != nil || len(m) != 1 {
		t.Fatalf("manifest: %v %d", err, len(m))
	}
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(get(m[0].Config), &cfg); err != nil {
		t.Fatal(err)
	}
	return m[0].Layers, cfg.RootFS.DiffIDs
}

func load(t *testing.T, name string) ([]byte, []entry) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b, readTar(t, bytes.NewReader(b))
}

func TestFilterLegacy(t *testing.T) {
	_, v1 := load(t, "v1.tar")
	raw, v2 := load(t, "v2.tar")
	_, have := archiveLayers(t, v1)
	files, diffs := archiveLayers(t, v2)
	if len(diffs) != 3 || slices.Equal(have, diffs) || !slices.Equal(have[:2], diffs[:2]) {
		t.Fatalf("testdata: want two images sharing their two lower layers, got %v and %v", have, diffs)
	}
	for _, tc := range []struct {
		name    string
		have    [][]string
		dropped []string // layer files left out
	}{
		{"host has the old version", [][]string{have}, files[:2]},
		{"host has only the base", [][]string{have[:1]}, files[:1]},
		{"host has the image", [][]string{diffs}, files},
		{"host has nothing", nil, nil},
		{"host has the layers in another chain", [][]string{{diffs[1], diffs[0]}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			st, err := Filter(&out, bytes.NewReader(raw), diffs, Omit(diffs, tc.have))
			if err != nil {
				t.Fatal(err)
			}
			var want []entry
			for _, e := range v2 {
				if !slices.Contains(tc.dropped, e.name) {
					want = append(want, e)
				}
			}
			got := readTar(t, &out)
			if len(got) != len(want) {
				t.Fatalf("got %d entries, want %d (%d dropped)", len(got), len(want), len(tc.dropped))
			}
			for i := range want {
				if got[i].name != want[i].name || !bytes.Equal(got[i].body, want[i].body) {
					t.Fatalf("entry %d: got %s, want %s unchanged", i, got[i].name, want[i].name)
				}
			}
			if st.Omitted != len(tc.dropped) {
				t.Errorf("Omitted = %d, want %d", st.Omitted, len(tc.dropped))
			}
		})
	}
}

func TestFilterOCI(t *testing.T) {
	diffs := []string{"sha256:" + hex64('a'), "sha256:" + hex64('b')}
	in := []entry{
		{"blobs/", nil},
		{"blobs/sha256/", nil},
		{"blobs/sha256/" + hex64('a'), []byte("base layer")},
		{"blobs/sha256/" + hex64('b'), []byte("top layer")},
		{"blobs/sha256/" + hex64('c'), []byte("config")},
		{"index.json", []byte("{}")},
		{"manifest.json", []byte(`[{"Layers":["blobs/sha256/` + hex64('a') + `","blobs/sha256/` + hex64('b') + `"]}]`)},
	}
	var src bytes.Buffer
	tw := tar.NewWriter(&src)
	for _, e := range in {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Size: int64(len(e.body)), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	tw.Close()
	var out bytes.Buffer
	st, err := Filter(&out, &src, diffs, Omit(diffs, [][]string{diffs[:1]}))
	if err != nil {
		t.Fatal(err)
	}
	got := readTar(t, &out)
	want := slices.Delete(slices.Clone(in), 2, 3)
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].name != want[i].name || !bytes.Equal(got[i].body, want[i].body) {
			t.Errorf("entry %d: got %s, want %s", i, got[i].name, want[i].name)
		}
	}
	if st.Omitted != 1 || st.OmittedBytes != int64(len("base layer")) {
		t.Errorf("stats %+v, want one omitted layer of 10 bytes", st)
	}
}

func hex64(c byte) string { return string(bytes.Repeat([]byte{c}, 64)) }

func TestOmit(t *testing.T) {
	img := []string{"a", "b", "c", "d"}
	for _, tc := range []struct {
		name string
		have [][]string
		want []string
	}{
		{"nothing", nil, nil},
		{"longest shared prefix wins", [][]string{{"a"}, {"a", "b", "x"}, {"b", "c"}}, []string{"a", "b"}},
		{"all", [][]string{{"a", "b", "c", "d", "e"}}, img},
		{"no shared base", [][]string{{"x", "b", "c"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Omit(img, tc.have)
			var keys []string
			for k := range got {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, tc.want) {
				t.Errorf("Omit = %v, want %v", keys, tc.want)
			}
		})
	}
	// A diff repeated above the shared prefix travels: save links the repeat to it.
	if got := Omit([]string{"a", "b", "a"}, [][]string{{"a", "b"}}); got["a"] || !got["b"] {
		t.Errorf("repeated layer: Omit = %v, want only b", got)
	}
}
