package plan

import (
	"fmt"
	"io"
	"strings"
)

// symbols mark each line of the diff, like a patch: + new, ~ replaced, > started,
// & adopted, = kept, - removed.
func symbol(k Kind) string {
	switch k {
	case Create:
		return "+"
	case Recreate:
		return "~"
	case Start:
		return ">"
	case Remove:
		return "-"
	case Adopt:
		return "&"
	}
	return "="
}

// Write prints the plan as a diff, one line per object, then leftovers,
// foreign objects, warnings and a one-line summary.
func (p *Plan) Write(w io.Writer) error {
	var b strings.Builder
	for _, a := range p.Actions {
		fmt.Fprintf(&b, "%s %s %s", symbol(a.Kind), a.Object, a.Name)
		switch {
		case len(a.Reasons) == 0:
		case a.Kind == Recreate || a.Kind == Start || a.Kind == Adopt:
			fmt.Fprintf(&b, " (%s: %s)", a.Kind, strings.Join(a.Reasons, ", "))
		default:
			fmt.Fprintf(&b, " (%s)", strings.Join(a.Reasons, ", "))
		}
		b.WriteByte('\n')
	}
	for _, l := range p.Leftovers {
		fmt.Fprintf(&b, "! container %s (backup left by an interrupted deploy)\n", l)
	}
	for _, f := range p.Foreign {
		fmt.Fprintf(&b, "! foreign %s: not this stack's, left alone\n", f)
	}
	for _, name := range p.Strangers {
		fmt.Fprintf(&b, "! container %s of stack %s: not in this playbook, which runs nothing here; left alone\n", name, p.Stack)
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(&b, "! %s\n", warn)
	}
	b.WriteString("Plan: ")
	if n := p.Count(Adopt); n > 0 {
		fmt.Fprintf(&b, "%d to adopt, ", n)
	}
	fmt.Fprintf(&b, "%d to create, %d to recreate, %d to start, %d to remove, %d unchanged.\n",
		p.Count(Create), p.Count(Recreate), p.Count(Start), p.Count(Remove), p.Count(Keep))
	_, err := io.WriteString(w, b.String())
	return err
}
