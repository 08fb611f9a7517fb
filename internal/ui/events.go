// Package ui renders what berth does. The engine reports typed events to a
// Handler; Text renders them as human lines (progress to stderr, results to
// stdout, each per-host line naming its host), JSON as one object per line,
// Live adds a terminal status line, Recorder keeps them for tests.
// docs/EVENTS.md documents every event and field.
package ui

import (
	"encoding/json"
	"time"
)

// Event is one typed event; EventType is its "type" in the JSON stream.
type Event interface {
	EventType() string
}

// Handler receives events from many hosts at once.
type Handler interface {
	Handle(Event)
}

// Duration is a time.Duration that goes into JSON as whole milliseconds.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).Milliseconds()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var ms int64
	if err := json.Unmarshal(b, &ms); err != nil {
		return err
	}
	*d = Duration(time.Duration(ms) * time.Millisecond)
	return nil
}

// Progress is something starting or finishing on a host (or for the run).
type Progress struct {
	Host    string `json:"host,omitempty"`
	Message string `json:"message"`
}

// Warning needs a human's attention but did not stop the work.
type Warning struct {
	Host    string `json:"host,omitempty"`
	Message string `json:"message"`
}

// Plan is a host's plan, before anything is applied (or all a plan does).
type Plan struct {
	Host      string          `json:"host"`
	Stack     string          `json:"stack"`
	Actions   []PlanAction    `json:"actions"`
	Leftovers []string        `json:"leftovers,omitempty"`
	Foreign   []ForeignObject `json:"foreign,omitempty"`
	Strangers []string        `json:"strangers,omitempty"`
	Warnings  []string        `json:"warnings,omitempty"`
	Changes   int             `json:"changes"`
	InSync    bool            `json:"in_sync"`
}

// PlanAction is one step of a plan: kind create, recreate, start, keep,
// adopt or remove; object volume, network or container.
type PlanAction struct {
	Kind    string   `json:"kind"`
	Object  string   `json:"object"`
	Name    string   `json:"name"`
	Reasons []string `json:"reasons,omitempty"`
}

// ForeignObject has a name the playbook uses but is not the stack's; Owner
// is the stack its label names, "" when it has no berth label.
type ForeignObject struct {
	Object string `json:"object"`
	Name   string `json:"name"`
	Owner  string `json:"owner,omitempty"`
}

// Action is a plan's step starting to be applied.
type Action struct {
	Host   string `json:"host"`
	Kind   string `json:"kind"`
	Object string `json:"object"`
	Name   string `json:"name"`
}

// Wait is a wait for a container that started or ended: Docker's health
// check (phase health, until healthy or running) or the ready probe (phase
// ready, until URL answers).
type Wait struct {
	Host      string   `json:"host"`
	Container string   `json:"container"`
	Phase     string   `json:"phase"`  // WaitHealth or WaitProbe
	Status    string   `json:"status"` // WaitStarted, WaitReady or WaitFailed
	Until     string   `json:"until,omitempty"`
	URL       string   `json:"url,omitempty"`
	Timeout   Duration `json:"timeout_ms"`
	Elapsed   Duration `json:"elapsed_ms"`
}

// Wait phases and statuses.
const (
	WaitHealth  = "health"
	WaitProbe   = "ready"
	WaitStarted = "waiting"
	WaitReady   = "ready"
	WaitFailed  = "failed"
)

// Lock is another run's deploy lock met on a host: waited for, or broken as
// stale (its holder's heartbeat older than Stale).
type Lock struct {
	Host   string   `json:"host"`
	Status string   `json:"status"` // LockWaiting or LockBroken
	Holder string   `json:"holder"` // "" when the lock named none
	Age    Duration `json:"age_ms,omitempty"`
	Stale  Duration `json:"stale_ms,omitempty"`
}

// Lock statuses.
const (
	LockWaiting = "waiting"
	LockBroken  = "broken"
)

// DNS is the record step of a run: the change planned (Status planned, with
// or without Changed), being applied (updating), applied (updated), or not
// made because no host serves (skipped).
type DNS struct {
	Name      string   `json:"name"`
	Status    string   `json:"status"`
	Record    string   `json:"record,omitempty"` // the planned record's name, normalised
	Type      string   `json:"record_type,omitempty"`
	Before    []string `json:"before,omitempty"`
	After     []string `json:"after,omitempty"`
	TTL       int      `json:"ttl,omitempty"`
	BeforeTTL int      `json:"before_ttl,omitempty"`
	Changed   bool     `json:"changed"`
}

// DNS statuses.
const (
	DNSPlanned  = "planned"
	DNSUpdating = "updating"
	DNSUpdated  = "updated"
	DNSSkipped  = "skipped"
)

// Status is one host's observed stack: every object the playbook declares
// (absent ones too) and the containers labelled with the stack besides.
type Status struct {
	Host       string            `json:"host"`
	Containers []ContainerStatus `json:"containers"`
	Volumes    []VolumeStatus    `json:"volumes"`
	Networks   []NetworkStatus   `json:"networks"`
	Foreign    []ForeignObject   `json:"foreign,omitempty"`
	LockHeld   bool              `json:"lock_held"`
	LockHolder string            `json:"lock_holder,omitempty"`
	LockAge    Duration          `json:"lock_age_ms,omitempty"`
}

// ContainerStatus is one container as observed; State "absent" when it is not there.
type ContainerStatus struct {
	Name    string   `json:"name"`
	State   string   `json:"state"`
	Health  string   `json:"health,omitempty"`
	Ports   []string `json:"ports,omitempty"`
	Image   string   `json:"image,omitempty"`
	ImageID string   `json:"image_id,omitempty"`
}

// VolumeStatus is a volume and the directory holding its data ("absent" when missing).
type VolumeStatus struct {
	Name       string `json:"name"`
	Mountpoint string `json:"mountpoint"`
}

// NetworkStatus is a network and its driver ("absent" when missing).
type NetworkStatus struct {
	Name   string `json:"name"`
	Driver string `json:"driver"`
}

// Summary is one host's outcome in a deploy, plan or destroy. Host is the
// canonical id; Name the target's own name when it has one besides.
type Summary struct {
	Host        string   `json:"host"`
	Name        string   `json:"name,omitempty"`
	Result      string   `json:"result"` // SummaryOK, SummaryChanged, SummaryDrift, SummaryFailed or SummarySkipped
	Error       string   `json:"error,omitempty"`
	Changes     int      `json:"changes"`
	Connections int      `json:"connections"`
	RoundTrips  int      `json:"round_trips"`
	Duration    Duration `json:"duration_ms"`
	Skipped     bool     `json:"skipped"`
	Pushed      int64    `json:"pushed_bytes,omitempty"`
}

// Summary results.
const (
	SummaryOK      = "ok"
	SummaryChanged = "changed"
	SummaryDrift   = "drift"
	SummaryFailed  = "failed"
	SummarySkipped = "skipped"
)

// RunSummary closes a run: how many hosts and what they cost. After Summary
// events it closes their table; InSync says nothing needed a change anywhere.
type RunSummary struct {
	Hosts       int      `json:"hosts"`
	OK          int      `json:"ok"`
	Failed      int      `json:"failed"`
	Skipped     int      `json:"skipped"`
	Connections int      `json:"connections"`
	RoundTrips  int      `json:"round_trips"`
	Duration    Duration `json:"duration_ms"` // the slowest host's
	InSync      bool     `json:"in_sync"`
}

// Bootstrap is what bootstrap did to a host (Changes empty: it was ready).
type Bootstrap struct {
	Host    string   `json:"host"`
	OS      string   `json:"os"`
	Docker  string   `json:"docker"`
	Changes []string `json:"changes"`
}

// Backup is one backup taken.
type Backup struct {
	Host     string   `json:"host"`
	Dir      string   `json:"dir"`
	Volumes  int      `json:"volumes"`
	Bytes    int64    `json:"bytes"`
	Secrets  bool     `json:"secrets"`
	Method   string   `json:"method"`
	Downtime Duration `json:"downtime_ms"`
	Stopped  []string `json:"stopped"`
}

// Pruned is an old backup removed by --keep.
type Pruned struct {
	Host   string `json:"host"`
	Backup string `json:"backup"`
}

// Restore is one restore done: the volumes written and the stack deployed.
type Restore struct {
	Host     string    `json:"host"`
	From     string    `json:"from"`
	Taken    time.Time `json:"taken"`
	TakenOn  string    `json:"taken_on"`
	Volumes  []string  `json:"volumes"`
	Stopped  []string  `json:"stopped"`
	Downtime Duration  `json:"downtime_ms"`
}

// Move is one stack moved from a source host to this one (the event's host).
type Move struct {
	Host            string   `json:"host"`
	From            string   `json:"from"`
	Volumes         []string `json:"volumes"`
	Bytes           int64    `json:"bytes"`
	Downtime        Duration `json:"downtime_ms"`
	DNS             string   `json:"dns,omitempty"`
	DNSChanged      bool     `json:"dns_changed"`
	SourceStopped   []string `json:"source_stopped"`
	SourceDestroyed bool     `json:"source_destroyed"`
	SourceVolumes   bool     `json:"source_volumes_deleted"`
}

// Unlock is what unlock removed on a host.
type Unlock struct {
	Host         string   `json:"host"`
	Lock         string   `json:"lock"`
	Removed      bool     `json:"removed"`
	Holder       string   `json:"holder,omitempty"`
	Age          Duration `json:"age_ms"`
	RemovedBreak bool     `json:"removed_break"`
}

func (Progress) EventType() string   { return "progress" }
func (Warning) EventType() string    { return "warning" }
func (Plan) EventType() string       { return "plan" }
func (Action) EventType() string     { return "action" }
func (Wait) EventType() string       { return "wait" }
func (Lock) EventType() string       { return "lock" }
func (DNS) EventType() string        { return "dns" }
func (Status) EventType() string     { return "status" }
func (Summary) EventType() string    { return "summary" }
func (RunSummary) EventType() string { return "run_summary" }
func (Bootstrap) EventType() string  { return "bootstrap" }
func (Backup) EventType() string     { return "backup" }
func (Pruned) EventType() string     { return "pruned" }
func (Restore) EventType() string    { return "restore" }
func (Unlock) EventType() string     { return "unlock" }
func (Move) EventType() string       { return "move" }

// Transfer is a local image pushed to a host (deploy --push): started, going
// (bytes so far, rate, time left) and done (what was sent of the image).
type Transfer struct {
	Host       string   `json:"host"`
	Image      string   `json:"image"`
	Status     string   `json:"status"` // TransferStarted, TransferProgress or TransferDone
	Bytes      int64    `json:"bytes"`
	Elapsed    Duration `json:"elapsed_ms"`
	Left       Duration `json:"left_ms,omitempty"`
	Layers     int      `json:"layers"`
	LayersSent int      `json:"layers_sent,omitempty"`
	WholeImage bool     `json:"whole_image_retry,omitempty"`
}

// Transfer statuses.
const (
	TransferStarted  = "pushing"
	TransferProgress = "progress"
	TransferDone     = "pushed"
)

func (Transfer) EventType() string { return "transfer" }
