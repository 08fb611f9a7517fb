package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
)

// Compute plans a deploy of pb as stack onto a host observed as obs (nil: an
// empty host). secrets maps each secret's name to the keyed digest of the
// value this deploy would use (docker.SecretDigest), so a rotated secret
// recreates every container that uses it. It is pure: same inputs, same
// plan. Only what changed is touched; a recreated container does not drag
// its dependents along.
func Compute(stack string, pb *playbooks.Playbook, obs *docker.Observed, secrets map[string]string) *Plan {
	obs = orEmpty(obs)
	p := &Plan{Stack: stack}

	for _, v := range pb.Volumes {
		_, present := obs.Volumes[v.Name]
		switch {
		case v.External && !present:
			p.Warnings = append(p.Warnings, fmt.Sprintf("external volume %s does not exist on the host", v.Name))
		case v.External:
			p.add(Keep, Volume, v.Name, nil, "external")
		case present:
			p.add(Keep, Volume, v.Name, nil)
		default:
			p.add(Create, Volume, v.Name, nil)
		}
	}
	for _, n := range pb.Networks {
		got, present := obs.Networks[n.Name]
		switch {
		case n.External && !present:
			p.Warnings = append(p.Warnings, fmt.Sprintf("external network %s does not exist on the host", n.Name))
		case n.External:
			p.add(Keep, Network, n.Name, nil, "external")
		case present && got.Driver != "" && n.Driver != "" && got.Driver != n.Driver:
			// Recreating a network means disconnecting every container: never implicit.
			p.add(Keep, Network, n.Name, nil, fmt.Sprintf("driver is %s, playbook says %s; remove the network to change it", got.Driver, n.Driver))
		case present:
			p.add(Keep, Network, n.Name, nil)
		default:
			p.add(Create, Network, n.Name, nil)
		}
	}

	order, _ := playbooks.Order(pb.Containers)
	for _, i := range order {
		c := &pb.Containers[i]
		kind, reasons := containerAction(c, obs.Containers[c.Name], obs, secrets)
		p.add(kind, Container, c.Name, c, reasons...)
	}

	desired := make(map[string]bool, len(pb.Containers))
	for _, c := range pb.Containers {
		desired[c.Name] = true
	}
	for _, name := range sortedNames(obs.Containers) {
		c := obs.Containers[name]
		if c.Labels[docker.LabelStack] != stack || desired[name] {
			continue
		}
		if strings.HasSuffix(name, playbooks.BackupSuffix) {
			p.Leftovers = append(p.Leftovers, name)
			continue
		}
		p.add(Remove, Container, name, nil, "orphan")
	}
	return p
}

// containerAction decides one playbook container's fate.
func containerAction(c *playbooks.Container, got *docker.ContainerState, obs *docker.Observed, secrets map[string]string) (Kind, []string) {
	if got == nil {
		return Create, nil
	}
	want, err := docker.NewSpec(*c, secrets)
	if err != nil {
		return Recreate, []string{err.Error()}
	}
	js, err := want.Encode()
	if err != nil {
		return Recreate, []string{err.Error()}
	}
	hash := got.Labels[docker.LabelHash]
	switch {
	case hash == "":
		return Recreate, []string{"not created by berth (no " + docker.LabelHash + " label)"}
	case hash != docker.HashBytes(js):
		old, err := docker.DecodeSpec(got.Labels[docker.LabelSpec])
		if err != nil {
			return Recreate, []string{"spec changed (stored spec unreadable)"}
		}
		if r := specReasons(old, want); len(r) > 0 {
			return Recreate, r
		}
		return Recreate, []string{"spec changed"}
	}
	// Same spec: a newer image under the same tag (pulled or rebuilt) still means a new container.
	if id := obs.ImageID(c.Image); id != "" && got.ImageID != "" && id != got.ImageID {
		return Recreate, []string{fmt.Sprintf("image updated (%s -> %s)", shortID(got.ImageID), shortID(id))}
	}
	if !got.Running {
		return Start, []string{fmt.Sprintf("not running (%s)", got.State)}
	}
	return Keep, nil
}

func (p *Plan) add(k Kind, o Object, name string, c *playbooks.Container, reasons ...string) {
	p.Actions = append(p.Actions, Action{Kind: k, Object: o, Name: name, Reasons: reasons, Container: c})
}

func orEmpty(obs *docker.Observed) *docker.Observed {
	if obs != nil {
		return obs
	}
	return &docker.Observed{}
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
