// Package plan compares a playbook with what a host runs and decides, as a
// pure function, what to do: create, recreate, start, keep or remove.
package plan

import (
	"fmt"
	"github.com/berth-sh/berth/internal/ui"
	"strings"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
)

// Kind is what happens to an object.
type Kind string

const (
	Create   Kind = "create"
	Recreate Kind = "recreate"
	Start    Kind = "start"
	Keep     Kind = "keep"
	Remove   Kind = "remove"
	// Adopt takes over an object with the playbook's name that carries no
	// berth label (only with --adopt). Docker cannot relabel a volume or a
	// network: adopting one keeps it as it is and uses it, and the stack's
	// containers that then use it are what marks it as the stack's on later
	// runs. Adopting a container replaces it with a labelled one.
	Adopt Kind = "adopt"
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
	// The desired object, for an action on an object the playbook declares
	// (create, recreate, start, keep, adopt); nil for removals. Only the one
	// matching Object is set.
	Container *playbooks.Container
	Volume    *playbooks.Volume
	Network   *playbooks.Network
	// Current is the container a recreate or adopt replaces, as observed:
	// what a rollback brings back.
	Current *docker.ContainerState
}

// Foreign is an object with a name the playbook uses that the stack does not
// own: its berth.stack label names another stack, or it has none. berth
// never changes, removes or silently adopts one.
type Foreign struct {
	Object Object
	Name   string
	Owner  string // the stack its label names; "" when it has no berth label
}

func (f Foreign) String() string { return f.Event().String() }

// Event is f as the events report it.
func (f Foreign) Event() ui.ForeignObject {
	return ui.ForeignObject{Object: string(f.Object), Name: f.Name, Owner: f.Owner}
}

// ForeignError stops a deploy before it changes anything: objects it would
// use or replace belong to someone else.
type ForeignError struct {
	Stack   string
	Objects []Foreign
}

func (e *ForeignError) Error() string {
	names := make([]string, len(e.Objects))
	adoptable := false
	for i, f := range e.Objects {
		names[i] = f.String()
		adoptable = adoptable || f.Owner == ""
	}
	msg := fmt.Sprintf("stack %s does not own %s; nothing was changed", e.Stack, strings.Join(names, ", "))
	if adoptable {
		msg += " (--adopt takes over objects with no berth label; one of another stack is never taken)"
	}
	return msg
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
	// Foreign objects carry a name the playbook uses but are not the stack's:
	// a deploy stops on them (see Err), a destroy leaves them alone.
	Foreign []Foreign
	// Strangers are containers of the stack that the playbook does not
	// declare, on a host where none of the playbook's containers run: those
	// of another playbook deployed under the same stack name, most likely.
	// A deploy stops on them rather than remove them as orphans.
	Strangers []string
}

// Err is a *ForeignError when the plan met objects the stack does not own,
// or a *StrangersError when the stack runs only another playbook's containers.
func (p *Plan) Err() error {
	switch {
	case len(p.Foreign) > 0:
		return &ForeignError{Stack: p.Stack, Objects: p.Foreign}
	case len(p.Strangers) > 0:
		return &StrangersError{Stack: p.Stack, Containers: p.Strangers}
	}
	return nil
}

// StrangersError stops a deploy that would remove, as orphans, every
// container its stack runs while none of the playbook's own runs there.
type StrangersError struct {
	Stack      string
	Containers []string
}

func (e *StrangersError) Error() string {
	return fmt.Sprintf("stack %s runs %s, which this playbook does not declare, and none of the containers it does: "+
		"another playbook deployed as stack %s? Nothing was changed; give this playbook its own --stack, "+
		"or remove those containers first (berth destroy with the playbook that made them)",
		e.Stack, strings.Join(e.Containers, ", "), e.Stack)
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

// InSync reports whether the host already matches: no changes, no leftovers
// to clean and nothing in the way (see Err).
func (p *Plan) InSync() bool {
	return p.Changes() == 0 && len(p.Leftovers) == 0 && p.Err() == nil
}

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
