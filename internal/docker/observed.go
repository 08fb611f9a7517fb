package docker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-sh/berth/playbooks"
)

// Errors ObserveScript reports instead of state; each names the fix.
var (
	ErrDockerNotFound    = errors.New("docker is not installed on the host: run berth bootstrap on it (or deploy --bootstrap) to install Docker from the distribution's packages")
	ErrDockerPermission  = errors.New("permission denied on the Docker socket: add the SSH user to the docker group (sudo usermod -aG docker USER, then log in again) or use --sudo")
	ErrDockerUnavailable = errors.New("the Docker daemon is not answering: start it (sudo systemctl start docker, or berth bootstrap)")
)

// Observed is the state of one stack on one host.
type Observed struct {
	Containers map[string]*ContainerState // by name, without docker's leading "/"
	Volumes    map[string]*VolumeState
	Networks   map[string]*NetworkState
	// Images maps refs to image IDs: every tag and digest docker reports, as
	// printed and normalised (see NormalizeRef); ImageID looks a ref up.
	Images map[string]string
	// Layers maps the ID of each image seen to its RootFS diff IDs, base
	// first: what a push can leave out.
	Layers map[string][]string
	// Sections holds the raw body of every section, including ones other
	// parts of berth add to the script (e.g. lock, secrets).
	Sections map[string][]byte
	// Err is set when the host could not be observed (ErrDockerNotFound, ...).
	Err error
}

// ContainerState is one container as docker inspect reports it.
type ContainerState struct {
	Name      string
	ID        string
	Image     string // the ref it was created from (Config.Image)
	ImageID   string
	State     string // created, running, paused, restarting, exited, dead
	Running   bool
	ExitCode  int
	StartedAt string
	Health    string // "", starting, healthy, unhealthy
	Labels    map[string]string
	Networks  []string // sorted
	Mounts    []Mount
	Ports     []playbooks.Port
}

// Mount is one of a container's mounts.
type Mount struct {
	Type        string // volume or bind
	Name        string // the volume name; "" for a bind mount
	Source      string // host path (a volume's mountpoint)
	Destination string
	RW          bool
}

// VolumeState is one volume as docker inspect reports it.
type VolumeState struct {
	Name       string
	Mountpoint string
	Driver     string
	Labels     map[string]string
}

// NetworkState is one network as docker inspect reports it.
type NetworkState struct {
	Name   string
	ID     string
	Driver string
	Labels map[string]string
}

// Owner is the stack an object's labels say it belongs to; "" when it carries
// no berth label (made by hand, by another tool, or by berth before labels).
// Ownership is decided by this label only, never by an object's name.
func Owner(labels map[string]string) string { return labels[LabelStack] }

// ImageID returns the ID of the local image ref names, or "".
func (o *Observed) ImageID(ref string) string {
	if id, ok := o.Images[ref]; ok {
		return id
	}
	return o.Images[NormalizeRef(ref)]
}

// SetImage records that ref now names the image id, as a push that tagged it
// there leaves the host, so a plan made afterwards sees it without another
// round trip.
func (o *Observed) SetImage(ref, id string, layers []string) {
	if o.Images == nil {
		o.Images = map[string]string{}
	}
	if o.Layers == nil {
		o.Layers = map[string][]string{}
	}
	o.Images[ref] = id
	o.Images[NormalizeRef(ref)] = id
	o.Images[id] = id
	o.Layers[id] = layers
}

type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

type inspectContainer struct {
	ID    string `json:"Id"`
	Name  string
	Image string
	State struct {
		Status    string
		Running   bool
		ExitCode  int
		StartedAt string
		Health    *struct{ Status string }
	}
	Config struct {
		Image  string
		Labels map[string]string
	}
	HostConfig struct {
		PortBindings map[string][]portBinding
	}
	NetworkSettings struct {
		Networks map[string]json.RawMessage
		Ports    map[string][]portBinding
	}
	Mounts []Mount
}

type inspectImage struct {
	ID          string `json:"Id"`
	RepoTags    []string
	RepoDigests []string
	RootFS      struct{ Layers []string }
}

// ParseObserved reads ObserveScript's output. Unknown sections are kept raw in
// Sections. When the script reported an error, the returned Observed has Err
// set and the same error is returned, so a caller cannot plan against a host
// it failed to see.
func ParseObserved(out []byte) (*Observed, error) {
	o := &Observed{
		Containers: map[string]*ContainerState{},
		Volumes:    map[string]*VolumeState{},
		Networks:   map[string]*NetworkState{},
		Images:     map[string]string{},
		Layers:     map[string][]string{},
		Sections:   map[string][]byte{},
	}
	for name, body := range splitSections(out) {
		o.Sections[name] = body
	}
	if body, ok := o.Sections["error"]; ok {
		o.Err = sectionError(body)
		return o, o.Err
	}
	if _, ok := o.Sections["containers"]; !ok {
		return o, fmt.Errorf("parse observed state: no containers section in output %q", truncate(out))
	}
	var cs []inspectContainer
	if err := unmarshalSection(o.Sections, "containers", &cs); err != nil {
		return o, err
	}
	for _, c := range cs {
		st := containerState(c)
		if _, dup := o.Containers[st.Name]; !dup { // one both named and labelled appears twice
			o.Containers[st.Name] = st
		}
	}
	var vs []VolumeState
	if err := unmarshalSection(o.Sections, "volumes", &vs); err != nil {
		return o, err
	}
	for i := range vs {
		o.Volumes[vs[i].Name] = &vs[i]
	}
	var ns []NetworkState
	if err := unmarshalSection(o.Sections, "networks", &ns); err != nil {
		return o, err
	}
	for i := range ns {
		o.Networks[ns[i].Name] = &ns[i]
	}
	var is []inspectImage
	if err := unmarshalSection(o.Sections, "images", &is); err != nil {
		return o, err
	}
	for _, img := range is {
		o.Images[img.ID] = img.ID
		o.Layers[img.ID] = img.RootFS.Layers
		for _, ref := range slices.Concat(img.RepoTags, img.RepoDigests) {
			o.Images[ref] = img.ID
			o.Images[NormalizeRef(ref)] = img.ID
			// docker prints "mysql:latest" for what a playbook may call "mysql".
			if short, ok := strings.CutSuffix(ref, ":latest"); ok {
				o.Images[short] = img.ID
			}
		}
	}
	return o, nil
}

// splitSections cuts output at "### NAME" lines. Text before the first header
// (a login banner, say) is ignored. JSON escapes newlines inside strings, so
// a body line can never start with "### ".
func splitSections(out []byte) map[string][]byte {
	sections := map[string][]byte{}
	name, start := "", -1
	flush := func(end int) {
		if start >= 0 {
			sections[name] = bytes.TrimSpace(out[start:end])
		}
	}
	for pos := 0; pos < len(out); {
		end := bytes.IndexByte(out[pos:], '\n')
		next := len(out)
		if end >= 0 {
			next = pos + end + 1
		}
		line := bytes.TrimRight(out[pos:next], "\r\n")
		if h, ok := bytes.CutPrefix(line, []byte("### ")); ok {
			flush(pos)
			name, start = string(bytes.TrimSpace(h)), next
		}
		pos = next
	}
	flush(len(out))
	return sections
}

func sectionError(body []byte) error {
	code, detail, _ := strings.Cut(string(body), "\n")
	detail = strings.TrimSpace(detail)
	switch strings.TrimSpace(code) {
	case "docker-not-found":
		return ErrDockerNotFound
	case "docker-permission":
		return ErrDockerPermission
	case "docker-unavailable":
		return fmt.Errorf("%w: %s", ErrDockerUnavailable, detail)
	}
	return fmt.Errorf("observe host: %s", strings.TrimSpace(string(body)))
}

func unmarshalSection(sections map[string][]byte, name string, v any) error {
	body := sections[name]
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("parse %s section%s: %w", name, jsonOffset(err), err)
	}
	return nil
}

// jsonOffset says where in a section a JSON error is, when the decoder knows.
func jsonOffset(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf(" at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf(" at byte %d", typ.Offset)
	}
	return ""
}

func containerState(c inspectContainer) *ContainerState {
	st := &ContainerState{
		Name:      strings.TrimPrefix(c.Name, "/"),
		ID:        c.ID,
		Image:     c.Config.Image,
		ImageID:   c.Image,
		State:     c.State.Status,
		Running:   c.State.Running,
		ExitCode:  c.State.ExitCode,
		StartedAt: c.State.StartedAt,
		Labels:    c.Config.Labels,
		Mounts:    c.Mounts,
	}
	if c.State.Health != nil {
		st.Health = c.State.Health.Status
	}
	for n := range c.NetworkSettings.Networks {
		st.Networks = append(st.Networks, n)
	}
	slices.Sort(st.Networks)
	// A stopped container has no live bindings; its configured ones still say what it publishes.
	bindings := c.NetworkSettings.Ports
	if len(bindings) == 0 {
		bindings = c.HostConfig.PortBindings
	}
	for cport, bs := range bindings {
		num, proto, _ := strings.Cut(cport, "/")
		cp, _ := strconv.Atoi(num)
		for _, b := range bs {
			hp, _ := strconv.Atoi(b.HostPort)
			ip := b.HostIP
			if ip == "0.0.0.0" || ip == "::" {
				ip = ""
			}
			st.Ports = append(st.Ports, playbooks.Port{HostIP: ip, HostPort: hp, ContainerPort: cp, Proto: proto})
		}
	}
	slices.SortFunc(st.Ports, func(a, b playbooks.Port) int { return strings.Compare(a.String(), b.String()) })
	st.Ports = slices.Compact(st.Ports)
	return st
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
