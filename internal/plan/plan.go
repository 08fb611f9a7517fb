// Package plan compares a playbook with what a host runs and decides, as a
// pure function, what to do: create, recreate, start, keep or remove.
package plan

import "github.com/berth-sh/berth/playbooks"

// Kind is what happens to an object.
type Kind string

const (
	Create   Kind = "create"
	Recreate Kind = "recreate"
	Start    Kind = "start"
	Keep     Kind = "keep"
	Remove   Kind = "remove"
)

// Object is the kind of Docker object an action is about.
type Object string

const (
	Volume    Object = "volume"
	Network   Object = "network"
	Container Object = "container"
)

// Action is one step, in the order it must run.
type Action struct {
	Kind    Kind
	Object  Object
	Name    string
	Reasons []string // why, for humans: "image changed (a -> b)", "orphan"
	// Container is the desired container for a playbook container's action
	// (create, recreate, start, keep); nil for removals and other objects.
	Container *playbooks.Container
}

// Plan is the ordered list of actions for one stack on one host.
type Plan struct {
	Stack   string
	Actions []Action
	// Leftovers are backup containers (NAME.berth-old) an interrupted deploy
	// left behind; the deploy decides whether to restore or remove them.
	Leftovers []string
	// Warnings need a human but no action berth can take (e.g. a missing external volume).
	Warnings []string
}

// Changes counts the actions that change the host (everything but Keep).
func (p *Plan) Changes() int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind != Keep {
			n++
		}
	}
	return n
}

// InSync reports whether the host already matches: no changes and no leftovers to clean.
func (p *Plan) InSync() bool { return p.Changes() == 0 && len(p.Leftovers) == 0 }

// Count returns how many actions are of kind k.
func (p *Plan) Count(k Kind) int {
	n := 0
	for _, a := range p.Actions {
		if a.Kind == k {
			n++
		}
	}
	return n
}
