// Package backup archives a stack's named volumes and stored secrets from a
// host into a store (a local directory or S3), and restores them onto a host.
// Archives stream over the SSH connection: nothing is staged in full on the
// host's disk or in memory.
package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
)

// ManifestName is the file that makes a backup directory a complete backup:
// it is written last.
const ManifestName = "manifest.json"

// Methods of taking a backup.
const (
	MethodStop = "stop" // consumers stopped while their volumes were archived
	MethodLive = "live" // archived while running: may be inconsistent
	// MethodExec is a volume's hot dump: the playbook's backup.exec, run in
	// the running container, its stdout stored; restored through backup.restore.
	MethodExec = "exec"
)

// Manifest describes one backup of one stack on one host.
type Manifest struct {
	Stack        string    `json:"stack"`
	Host         string    `json:"host"`
	Time         time.Time `json:"time"`
	Method       string    `json:"method"`
	BerthVersion string    `json:"berth_version"`
	SpecHash     string    `json:"spec_hash"` // of the playbook's containers, see SpecHash
	Volumes      []Volume  `json:"volumes"`
	Secrets      *File     `json:"secrets,omitempty"` // age-encrypted NAME=value lines
	DowntimeMS   int64     `json:"downtime_ms"`
}

// Volume is one volume's archive: a gzip-compressed tar of its contents, or
// with Method exec, the gzip-compressed output of the playbook's dump command.
type Volume struct {
	Name      string `json:"name"`
	TarSize   int64  `json:"tar_size"`            // uncompressed bytes of the tar (or dump) stream
	Method    string `json:"method,omitempty"`    // "exec" for a hot dump; "" is a tar of the files
	Container string `json:"container,omitempty"` // where the dump was made (exec)
	File
}

// File is one file of a backup with its size and checksum as stored.
type File struct {
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ChecksumError says a stored file is not what the manifest recorded.
type ChecksumError struct {
	File, Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("checksum of %s: manifest says sha256 %s, the file has %s: the backup is corrupted; refusing to restore it", e.File, e.Want, e.Got)
}

// files lists every file the manifest names.
func (m *Manifest) files() []File {
	var fs []File
	for _, v := range m.Volumes {
		fs = append(fs, v.File)
	}
	if m.Secrets != nil {
		fs = append(fs, *m.Secrets)
	}
	return fs
}

// ReadManifest reads and checks the manifest of the backup in s.
func ReadManifest(ctx context.Context, s Store) (*Manifest, error) {
	r, err := s.Open(ctx, ManifestName)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer r.Close()
	var m Manifest
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	for _, f := range m.files() {
		if f.File == "" || strings.ContainsAny(f.File, "/\\") || strings.HasPrefix(f.File, ".") {
			return nil, fmt.Errorf("read manifest: bad file name %q", f.File)
		}
	}
	return &m, nil
}

func writeManifest(ctx context.Context, s Store, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return putFile(ctx, s, ManifestName, bytes.NewReader(append(b, '\n')))
}

// Verify reads every file of the backup and compares its size and sha256 with
// the manifest, before anything on a host is touched.
func Verify(ctx context.Context, s Store, m *Manifest) error {
	var errs []error
	for _, f := range m.files() {
		if err := verifyFile(ctx, s, f); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func verifyFile(ctx context.Context, s Store, f File) error {
	r, err := s.Open(ctx, f.File)
	if err != nil {
		return fmt.Errorf("verify %s: %w", f.File, err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return fmt.Errorf("verify %s: %w", f.File, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 || n != f.Size {
		return &ChecksumError{File: f.File, Want: f.SHA256, Got: fmt.Sprintf("%s (%d bytes, manifest %d)", got, n, f.Size)}
	}
	return nil
}

// SpecHash identifies the playbook a backup was taken with: the sha256 of its
// containers' spec hashes, in name order.
func SpecHash(pb *playbooks.Playbook) (string, error) {
	var hashes []string
	for _, c := range pb.Containers {
		spec, err := docker.NewSpec(c, nil) // the playbook, not its secrets
		if err != nil {
			return "", err
		}
		b, err := spec.Encode()
		if err != nil {
			return "", err
		}
		hashes = append(hashes, c.Name+"="+docker.HashBytes(b))
	}
	sort.Strings(hashes)
	return docker.HashBytes([]byte(strings.Join(hashes, "\n"))), nil
}
