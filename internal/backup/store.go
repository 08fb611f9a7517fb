package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Store is a directory of backup files: a local directory or an S3 prefix.
// Names are single path elements or slash-separated relative paths.
type Store interface {
	// Create opens name for writing; the file exists under name only once
	// Close returned nil. Abort discards it.
	Create(ctx context.Context, name string) (Writer, error)
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Sub is the store rooted at the subdirectory name.
	Sub(name string) Store
	// Dirs lists the immediate subdirectories, sorted.
	Dirs(ctx context.Context) ([]string, error)
	// RemoveAll deletes the store's whole directory.
	RemoveAll(ctx context.Context) error
	String() string
}

// Writer is a file being written to a Store.
type Writer interface {
	io.WriteCloser
	Abort()
}

// Dir is a Store in a local directory.
type Dir string

func (d Dir) String() string { return string(d) }

func (d Dir) path(name string) string { return filepath.Join(string(d), filepath.FromSlash(name)) }

func (d Dir) Create(_ context.Context, name string) (Writer, error) {
	p := d.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", p, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".berth-"+filepath.Base(p)+"-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", p, err)
	}
	return &dirFile{File: f, final: p}, nil
}

// dirFile is renamed into place on a successful Close, so a file never
// appears half written.
type dirFile struct {
	*os.File
	final string
}

func (f *dirFile) Close() error {
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.final)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.final, err)
	}
	return nil
}

func (f *dirFile) Abort() {
	f.File.Close()
	os.Remove(f.Name())
}

func (d Dir) Open(_ context.Context, name string) (io.ReadCloser, error) {
	return os.Open(d.path(name))
}

func (d Dir) Sub(name string) Store { return Dir(d.path(name)) }

func (d Dir) Dirs(context.Context) ([]string, error) {
	es, err := os.ReadDir(string(d))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d, err)
	}
	var names []string
	for _, e := range es {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func (d Dir) RemoveAll(context.Context) error {
	if err := os.RemoveAll(string(d)); err != nil {
		return fmt.Errorf("remove %s: %w", d, err)
	}
	return nil
}

// putFile writes r to name in s.
func putFile(ctx context.Context, s Store, name string, r io.Reader) error {
	w, err := s.Create(ctx, name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return w.Close()
}

// Prune keeps the newest keep complete backups under s (directories named by
// UTC timestamp, so name order is time order) and removes everything older
// than the oldest one kept. Incomplete backups (no manifest) never count
// towards keep, so failed runs cannot push good backups out. It returns the
// names it removed.
func Prune(ctx context.Context, s Store, keep int) ([]string, error) {
	dirs, err := s.Dirs(ctx)
	if err != nil {
		return nil, err
	}
	var removed []string
	complete := 0
	for i := len(dirs) - 1; i >= 0; i-- {
		if complete >= keep {
			if err := s.Sub(dirs[i]).RemoveAll(ctx); err != nil {
				return removed, fmt.Errorf("prune backups: %w", err)
			}
			removed = append(removed, dirs[i])
			continue
		}
		r, err := s.Sub(dirs[i]).Open(ctx, ManifestName)
		if err == nil {
			r.Close()
			complete++
		}
	}
	return removed, nil
}
