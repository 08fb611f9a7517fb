package plan

import (
	"fmt"
	"slices"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
)

// Options change how a plan treats what it finds.
type Options struct {
	// Adopt takes over objects with the playbook's names that carry no berth
	// label (never one labelled by another stack); see the Adopt kind.
	Adopt bool
	// Secrets maps each secret's name to the keyed digest of its value.
	Secrets map[string]string
}

// Compute plans a deploy of pb as stack onto a host observed as obs (nil: an
// empty host). It is pure: same inputs, same plan. Only what changed is
// touched; a recreated container does not drag its dependents along. An
// object is the stack's when its berth.stack label says so, never because of
// its name: others are recorded as Foreign (see Plan.Err). opts.Secrets maps
// each secret's name to the keyed digest of the value this deploy would use
// (docker.SecretDigest), so a rotated secret recreates every container that
// uses it.
func Compute(stack string, pb *playbooks.Playbook, obs *docker.Observed, opts Options) *Plan {
	obs = orEmpty(obs)
	p := &Plan{Stack: stack}

	for i := range pb.Volumes {
		v := &pb.Volumes[i]
		got, present := obs.Volumes[v.Name]
		act := Action{Object: Volume, Name: v.Name, Volume: v}
		switch {
		case v.External && !present:
			p.Warnings = append(p.Warnings, fmt.Sprintf("external volume %s does not exist on the host", v.Name))
			continue
		case v.External:
			act.Kind, act.Reasons = Keep, []string{"external"}
		case !present:
			act.Kind = Create
		default:
			var ok bool
			if act.Kind, act.Reasons, ok = p.claim(act, got.Labels, mountedBy(obs, stack, v.Name), opts); !ok {
				continue
			}
		}
		p.Actions = append(p.Actions, act)
	}
	for i := range pb.Networks {
		n := &pb.Networks[i]
		got, present := obs.Networks[n.Name]
		act := Action{Object: Network, Name: n.Name, Network: n}
		switch {
		case n.External && !present:
			p.Warnings = append(p.Warnings, fmt.Sprintf("external network %s does not exist on the host", n.Name))
			continue
		case n.External:
			act.Kind, act.Reasons = Keep, []string{"external"}
		case !present:
			act.Kind = Create
		default:
			var ok bool
			if act.Kind, act.Reasons, ok = p.claim(act, got.Labels, joinedBy(obs, stack, n.Name), opts); !ok {
				continue
			}
			if act.Kind == Keep && got.Driver != "" && n.Driver != "" && got.Driver != n.Driver {
				// Recreating a network means disconnecting every container: never implicit.
				act.Reasons = append(act.Reasons, fmt.Sprintf("driver is %s, playbook says %s; remove the network to change it", got.Driver, n.Driver))
			}
		}
		p.Actions = append(p.Actions, act)
	}

	order, _ := playbooks.Order(pb.Containers)
	for _, i := range order {
		c := &pb.Containers[i]
		got := obs.Containers[c.Name]
		act := Action{Kind: Create, Object: Container, Name: c.Name, Container: c, Current: got}
		switch owner := ownerOf(got); {
		case got == nil:
		case owner == stack:
			act.Kind, act.Reasons = containerAction(c, got, obs, opts.Secrets)
		case owner == "" && opts.Adopt:
			act.Kind, act.Reasons = Adopt, []string{"no berth label; replaced by a labelled container"}
		default:
			p.Foreign = append(p.Foreign, Foreign{Object: Container, Name: c.Name, Owner: owner})
			continue
		}
		p.Actions = append(p.Actions, act)
	}

	desired := make(map[string]bool, len(pb.Containers))
	ownsAny := false // the stack runs (or has set aside) one of the playbook's containers
	for _, c := range pb.Containers {
		desired[c.Name] = true
		for _, name := range []string{c.Name, playbooks.BackupName(c.Name)} {
			ownsAny = ownsAny || ownerOf(obs.Containers[name]) == stack
		}
	}
	var orphans []Action
	for _, name := range sortedNames(obs.Containers) {
		if desired[name] {
			continue
		}
		owner := docker.Owner(obs.Containers[name].Labels)
		of, isBackup := playbooks.BackupOf(name)
		switch {
		case owner == stack && isBackup:
			p.Leftovers = append(p.Leftovers, name)
		case owner == stack:
			orphans = append(orphans, Action{Kind: Remove, Object: Container, Name: name, Reasons: []string{"orphan"}})
		case !isBackup || !desired[of]:
			// Seen only because it carries a name berth asked about: not ours.
		case owner == "" && opts.Adopt:
			// An adoption that was interrupted left the unlabelled original aside.
			p.Leftovers = append(p.Leftovers, name)
		default:
			// A swap would remove whatever holds the backup name.
			p.Foreign = append(p.Foreign, Foreign{Object: Container, Name: name, Owner: owner})
		}
	}
	if len(orphans) > 0 && !ownsAny {
		// Removing every container the stack runs while none of the playbook's
		// is there: more likely another playbook with the same stack name
		// than one whose every container was renamed. Stop instead.
		for _, o := range orphans {
			p.Strangers = append(p.Strangers, o.Name)
		}
		return p
	}
	p.Actions = append(p.Actions, orphans...)
	return p
}

// claim decides whose an existing volume or network is: the stack's when its
// label says so, or when it has no label and the stack's containers already
// use it (adopted earlier, or used before berth labelled what it made); an
// unlabelled one is adopted with opts.Adopt; anything else is recorded as
// foreign and ok is false.
func (p *Plan) claim(act Action, labels map[string]string, usedByStack bool, opts Options) (Kind, []string, bool) {
	switch owner := docker.Owner(labels); {
	case owner == p.Stack:
		return Keep, nil, true
	case owner == "" && usedByStack:
		return Keep, []string{"adopted earlier: no berth label, used by the stack's containers"}, true
	case owner == "" && opts.Adopt:
		return Adopt, []string{"no berth label; kept as it is and used by the stack"}, true
	default:
		p.Foreign = append(p.Foreign, Foreign{Object: act.Object, Name: act.Name, Owner: owner})
		return "", nil, false
	}
}

// mountedBy reports whether a container of stack mounts volume.
func mountedBy(obs *docker.Observed, stack, volume string) bool {
	for _, c := range obs.Containers {
		if docker.Owner(c.Labels) != stack {
			continue
		}
		for _, m := range c.Mounts {
			if m.Type == "volume" && m.Name == volume {
				return true
			}
		}
	}
	return false
}

// joinedBy reports whether a container of stack is on network.
func joinedBy(obs *docker.Observed, stack, network string) bool {
	for _, c := range obs.Containers {
		if docker.Owner(c.Labels) == stack && slices.Contains(c.Networks, network) {
			return true
		}
	}
	return false
}

func ownerOf(c *docker.ContainerState) string {
	if c == nil {
		return ""
	}
	return docker.Owner(c.Labels)
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
