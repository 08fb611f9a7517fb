// Package fakeconn is a test double for remote.Conn: a Conn whose commands
// run against a small in-memory model of a Docker host (containers, volumes
// and networks with labels, images, a few files and directories), recording
// every command it was sent.
//
// It interprets the argv berth sends (docker run, rm, start, network and
// volume commands). berth's remote scripts are constants sent on stdin with
// data as positional arguments; a test registers each constant under the kind
// of script it is (Scripts), and the fake answers it from its args, as the
// script would. The deploy batch (Batch) is answered step by step, each step
// a call of its own, as the script takes them. A command it has no model for
// fails with status 127, so a test never passes by a command being silently
// ignored.
package fakeconn

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Host is the modelled host. Tests set it up through its fields before the
// first command and read them after the last; while commands run, the Conn
// holds mu.
type Host struct {
	mu sync.Mutex

	Now  func() time.Time // the host's clock, for lock ages; nil: time.Now
	User string           // the login user; "" is root
	Home string           // $HOME; "" is unset
	// DockerErr, when set, is what the observe script reports instead of
	// state: "docker-not-found", "docker-permission" or "docker-unavailable".
	DockerErr string

	Containers map[string]*Container
	Volumes    map[string]*Volume
	Networks   map[string]*Network
	Images     map[string]string // ref -> image ID, what `docker image inspect` finds
	Registry   map[string]string // ref -> image ID that `docker pull` gets; absent: the pull fails
	// Broken images start containers that never become ready: unhealthy with
	// a health check, exited (status 1) without one.
	Broken map[string]bool

	Files map[string]*File     // by absolute path
	Dirs  map[string]time.Time // directory -> modification time
	// Denied directories exist (or would) but the login user may not use them.
	Denied map[string]bool

	// Forward maps an address as the host would dial it ("127.0.0.1:8080")
	// to a local address that answers for it, for ready probes. It answers
	// only while a running container publishes that port, and one whose
	// image is Unready does not answer.
	Forward map[string]string
	Unready map[string]bool

	ids int
}

// Container is one modelled container.
type Container struct {
	ID       string
	Name     string
	Image    string // the ref it was run from
	ImageID  string
	Labels   map[string]string
	Status   string // running, exited, created
	ExitCode int
	Health   string // "", healthy, unhealthy, starting
	Networks []string
	Mounts   []Mount
	Ports    []Port
	Args     []string // the docker run argv that made it
}

// Mount is one mount of a container.
type Mount struct {
	Type        string // volume or bind
	Name        string
	Source      string
	Destination string
	RW          bool
}

// Port is one published port.
type Port struct {
	HostIP, HostPort, ContainerPort, Proto string
}

// Volume is one modelled volume.
type Volume struct {
	Labels map[string]string
	Size   string // what `docker system df -v` says it holds
}

// Network is one modelled network.
type Network struct {
	ID     string
	Driver string
	Labels map[string]string
}

// File is one modelled file.
type File struct {
	Data    []byte
	ModTime time.Time
}

// NewHost is an empty host with Docker, image ref already present as id.
func NewHost(images map[string]string) *Host {
	return &Host{
		Containers: map[string]*Container{},
		Volumes:    map[string]*Volume{},
		Networks:   map[string]*Network{},
		Images:     maps.Clone(images),
		Registry:   map[string]string{},
		Broken:     map[string]bool{},
		Files:      map[string]*File{},
		Dirs:       map[string]time.Time{"/": {}},
		Denied:     map[string]bool{},
		Forward:    map[string]string{},
		Unready:    map[string]bool{},
	}
}

func (h *Host) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Host) user() string {
	if h.User == "" {
		return "root"
	}
	return h.User
}

func (h *Host) newID() string {
	h.ids++
	return fmt.Sprintf("%064x", h.ids)
}

// Do runs f with the host locked, for tests that change it while a run is
// under way (another run taking the lock, say).
func (h *Host) Do(f func(h *Host)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

// Names lists the containers' names, sorted.
func (h *Host) Names() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.Containers))
}

// ReadFile returns a file's content and whether it exists.
func (h *Host) ReadFile(p string) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.Files[p]
	if !ok {
		return nil, false
	}
	return slices.Clone(f.Data), true
}

// IsDir reports whether a directory exists.
func (h *Host) IsDir(p string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.Dirs[p]
	return ok
}

// SetLock makes dir/lock a lock held by holder ("" for none: a run that
// crashed while taking it) with its last heartbeat at beat.
func (h *Host) SetLock(dir, holder string, beat time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mkdirAll(dir, beat)
	h.Dirs[dir+"/lock"] = beat
	if holder != "" {
		h.Files[dir+"/lock/info"] = &File{Data: []byte(holder + "\n"), ModTime: beat}
	}
}

// mkdirAll creates p and its parents; it reports false when a parent is denied.
func (h *Host) mkdirAll(p string, t time.Time) bool {
	if _, ok := h.Dirs[p]; ok {
		return !h.Denied[p]
	}
	if parent := path.Dir(p); parent != p && !h.mkdirAll(parent, t) {
		return false
	}
	h.Dirs[p] = t
	return true
}

// removeAll removes p and everything under it.
func (h *Host) removeAll(p string) {
	for q := range h.Dirs {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(h.Dirs, q)
		}
	}
	for q := range h.Files {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(h.Files, q)
		}
	}
}

// empty reports whether directory p holds nothing.
func (h *Host) empty(p string) bool {
	for q := range h.Dirs {
		if path.Dir(q) == p && q != p {
			return false
		}
	}
	for q := range h.Files {
		if path.Dir(q) == p {
			return false
		}
	}
	return true
}
