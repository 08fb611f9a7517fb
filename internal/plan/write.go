package plan

import (
	"io"

	"github.com/berth-sh/berth/internal/ui"
)

// Event is the plan as data, for the event stream: what each action does to
// which object and why.
func (p *Plan) Event(host string) ui.Plan {
	e := ui.Plan{Host: host, Stack: p.Stack, Actions: make([]ui.PlanAction, len(p.Actions)),
		Leftovers: p.Leftovers, Strangers: p.Strangers, Warnings: p.Warnings, Changes: p.Changes(), InSync: p.InSync()}
	for i, a := range p.Actions {
		e.Actions[i] = ui.PlanAction{Kind: string(a.Kind), Object: string(a.Object), Name: a.Name, Reasons: a.Reasons}
	}
	for _, f := range p.Foreign {
		e.Foreign = append(e.Foreign, f.Event())
	}
	return e
}

// Write prints the plan as a diff (see ui.WritePlan).
func (p *Plan) Write(w io.Writer) error { return ui.WritePlan(w, p.Event("")) }
