package plan

import (
	"slices"
	"strings"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
)

// Destroy plans `berth destroy`: containers first (dependents before what they
// depend on, each with its backup), then the stack's other labelled containers,
// then networks, then volumes, only when volumes is set. External objects and,
// without volumes, all data are kept and shown as kept.
func Destroy(stack string, pb *playbooks.Playbook, obs *docker.Observed, volumes bool) *Plan {
	obs = orEmpty(obs)
	p := &Plan{Stack: stack}
	done := map[string]bool{}
	remove := func(name, reason string) {
		if _, present := obs.Containers[name]; present && !done[name] {
			done[name] = true
			if reason == "" {
				p.add(Remove, Container, name, nil)
			} else {
				p.add(Remove, Container, name, nil, reason)
			}
		}
	}

	order, _ := playbooks.Order(pb.Containers)
	slices.Reverse(order)
	for _, i := range order {
		name := pb.Containers[i].Name
		remove(name, "")
		remove(docker.BackupName(name), "backup")
	}
	for _, name := range sortedNames(obs.Containers) {
		if obs.Containers[name].Labels[docker.LabelStack] != stack {
			continue
		}
		if strings.HasSuffix(name, playbooks.BackupSuffix) {
			remove(name, "backup")
		} else {
			remove(name, "orphan")
		}
	}

	for _, n := range slices.Backward(pb.Networks) {
		if _, present := obs.Networks[n.Name]; !present {
			continue
		}
		if n.External {
			p.add(Keep, Network, n.Name, nil, "external")
		} else {
			p.add(Remove, Network, n.Name, nil)
		}
	}
	for _, v := range slices.Backward(pb.Volumes) {
		if _, present := obs.Volumes[v.Name]; !present {
			continue
		}
		switch {
		case v.External:
			p.add(Keep, Volume, v.Name, nil, "external")
		case volumes:
			p.add(Remove, Volume, v.Name, nil, "data deleted")
		default:
			p.add(Keep, Volume, v.Name, nil, "data kept; --volumes removes it")
		}
	}
	return p
}
