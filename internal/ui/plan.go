package ui

import (
	"fmt"
	"io"
	"strings"
)

// symbol marks each line of the diff, like a patch: + new, ~ replaced,
// > started, & adopted, = kept, - removed.
func symbol(kind string) string {
	switch kind {
	case "create":
		return "+"
	case "recreate":
		return "~"
	case "start":
		return ">"
	case "remove":
		return "-"
	case "adopt":
		return "&"
	}
	return "="
}

// WritePlan prints a plan as a diff, one line per object, then leftovers,
// foreign objects, warnings and a one-line summary.
func WritePlan(w io.Writer, p Plan) error {
	var b strings.Builder
	count := map[string]int{}
	for _, a := range p.Actions {
		count[a.Kind]++
		fmt.Fprintf(&b, "%s %s %s", symbol(a.Kind), a.Object, a.Name)
		switch {
		case len(a.Reasons) == 0:
		case a.Kind == "recreate" || a.Kind == "start" || a.Kind == "adopt":
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
		fmt.Fprintf(&b, "! foreign %s: not this stack's, left alone\n", f.String())
	}
	for _, name := range p.Strangers {
		fmt.Fprintf(&b, "! container %s of stack %s: not in this playbook, which runs nothing here; left alone\n", name, p.Stack)
	}
	for _, warn := range p.Warnings {
		fmt.Fprintf(&b, "! %s\n", warn)
	}
	b.WriteString("Plan: ")
	if n := count["adopt"]; n > 0 {
		fmt.Fprintf(&b, "%d to adopt, ", n)
	}
	fmt.Fprintf(&b, "%d to create, %d to recreate, %d to start, %d to remove, %d unchanged.\n",
		count["create"], count["recreate"], count["start"], count["remove"], count["keep"])
	_, err := io.WriteString(w, b.String())
	return err
}

// String is a foreign object as people read it: kind, name and owner.
func (f ForeignObject) String() string {
	if f.Owner == "" {
		return fmt.Sprintf("%s %s (no berth label)", f.Object, f.Name)
	}
	return fmt.Sprintf("%s %s (stack %s)", f.Object, f.Name, f.Owner)
}
