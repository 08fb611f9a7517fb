package plan

import (
	"slices"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
)

// Destroy plans `berth destroy`: containers first (dependents before what they
// depend on, each with its backup), then the stack's other labelled containers,
// then networks, then volumes, only when volumes is set. External objects and,
// without volumes, all data are kept and shown as kept. Only what carries the
// stack's label is removed: an object the playbook names but another stack
// owns, or that has no berth label, is listed in Foreign and left alone.
func Destroy(stack string, pb *playbooks.Playbook, obs *docker.Observed, volumes bool) *Plan {
	obs = orEmpty(obs)
	p := &Plan{Stack: stack}
	done := map[string]bool{}
	remove := func(name string, reasons ...string) {
		c, present := obs.Containers[name]
		if !present || done[name] {
			return
		}
		done[name] = true
		if owner := docker.Owner(c.Labels); owner != stack {
			p.Foreign = append(p.Foreign, Foreign{Object: Container, Name: name, Owner: owner})
			return
		}
		p.Actions = append(p.Actions, Action{Kind: Remove, Object: Container, Name: name, Reasons: reasons})
	}

	order, _ := playbooks.Order(pb.Containers)
	slices.Reverse(order)
	for _, i := range order {
		name := pb.Containers[i].Name
		remove(name)
		remove(playbooks.BackupName(name), "backup")
	}
	for _, name := range sortedNames(obs.Containers) {
		if docker.Owner(obs.Containers[name].Labels) != stack {
			continue
		}
		if _, isBackup := playbooks.BackupOf(name); isBackup {
			remove(name, "backup")
		} else {
			remove(name, "orphan")
		}
	}

	for _, n := range slices.Backward(pb.Networks) {
		got, present := obs.Networks[n.Name]
		switch {
		case !present:
		case n.External:
			p.Actions = append(p.Actions, Action{Kind: Keep, Object: Network, Name: n.Name, Reasons: []string{"external"}})
		case docker.Owner(got.Labels) != stack:
			p.Foreign = append(p.Foreign, Foreign{Object: Network, Name: n.Name, Owner: docker.Owner(got.Labels)})
		default:
			p.Actions = append(p.Actions, Action{Kind: Remove, Object: Network, Name: n.Name})
		}
	}
	for _, v := range slices.Backward(pb.Volumes) {
		got, present := obs.Volumes[v.Name]
		act := Action{Object: Volume, Name: v.Name}
		switch {
		case !present:
			continue
		case v.External:
			act.Kind, act.Reasons = Keep, []string{"external"}
		case docker.Owner(got.Labels) != stack:
			// Even one the stack adopted: berth deletes only data it created.
			p.Foreign = append(p.Foreign, Foreign{Object: Volume, Name: v.Name, Owner: docker.Owner(got.Labels)})
			continue
		case volumes:
			act.Kind, act.Reasons = Remove, []string{"data deleted"}
		default:
			act.Kind, act.Reasons = Keep, []string{"data kept; --volumes removes it"}
		}
		p.Actions = append(p.Actions, act)
	}
	return p
}
