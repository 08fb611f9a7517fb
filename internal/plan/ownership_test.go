package plan

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/docker"
)

// Ownership is by the berth.stack label only: these plans are computed for
// stack "wordpress" against hosts where objects with the playbook's names
// belong to someone else, or to no one.
func TestComputeOwnership(t *testing.T) {
	const stack = "wordpress"
	unlabel := func(labels map[string]string) { delete(labels, docker.LabelStack) }
	tests := []struct {
		name        string
		host        func(obs *docker.Observed)
		adopt       bool
		wantForeign []Foreign
		wantKinds   map[string]Kind // action kind by object name
		wantLeft    []string
	}{
		{
			name:        "volume of another stack",
			host:        func(obs *docker.Observed) { obs.Volumes["mysql-volume"].Labels[docker.LabelStack] = "sect" },
			wantForeign: []Foreign{{Volume, "mysql-volume", "sect"}},
		},
		{
			name:        "another stack's volume is never adopted",
			host:        func(obs *docker.Observed) { obs.Volumes["mysql-volume"].Labels[docker.LabelStack] = "sect" },
			adopt:       true,
			wantForeign: []Foreign{{Volume, "mysql-volume", "sect"}},
		},
		{
			name: "unlabelled volume no container uses",
			host: func(obs *docker.Observed) {
				unlabel(obs.Volumes["wp-content"].Labels)
			},
			wantForeign: []Foreign{{Volume, "wp-content", ""}},
		},
		{
			name:      "unlabelled volume adopted",
			host:      func(obs *docker.Observed) { unlabel(obs.Volumes["wp-content"].Labels) },
			adopt:     true,
			wantKinds: map[string]Kind{"wp-content": Adopt, "wordpress": Keep},
		},
		{
			name: "unlabelled volume the stack's container mounts was adopted before",
			host: func(obs *docker.Observed) {
				unlabel(obs.Volumes["wp-content"].Labels)
				obs.Containers["wordpress"].Mounts = []docker.Mount{{Type: "volume", Name: "wp-content"}}
			},
			wantKinds: map[string]Kind{"wp-content": Keep},
		},
		{
			name: "unlabelled volume mounted by another stack's container stays foreign",
			host: func(obs *docker.Observed) {
				unlabel(obs.Volumes["wp-content"].Labels)
				obs.Containers["x"] = &docker.ContainerState{Name: "x", Labels: map[string]string{docker.LabelStack: "sect"},
					Mounts: []docker.Mount{{Type: "volume", Name: "wp-content"}}}
			},
			wantForeign: []Foreign{{Volume, "wp-content", ""}},
		},
		{
			name: "unlabelled network joined by the stack's container",
			host: func(obs *docker.Observed) {
				unlabel(obs.Networks["wp-net"].Labels)
				obs.Containers["wordpress"].Networks = []string{"wp-net"}
			},
			wantKinds: map[string]Kind{"wp-net": Keep},
		},
		{
			name:        "network of another stack",
			host:        func(obs *docker.Observed) { obs.Networks["wp-net"].Labels[docker.LabelStack] = "sect" },
			adopt:       true,
			wantForeign: []Foreign{{Network, "wp-net", "sect"}},
		},
		{
			name:        "unlabelled container",
			host:        func(obs *docker.Observed) { obs.Containers["wordpress"].Labels = nil },
			wantForeign: []Foreign{{Container, "wordpress", ""}},
		},
		{
			name:      "unlabelled container adopted",
			host:      func(obs *docker.Observed) { obs.Containers["wordpress"].Labels = nil },
			adopt:     true,
			wantKinds: map[string]Kind{"wordpress": Adopt, "mysql-server": Keep},
		},
		{
			name:        "container of another stack, even with the same spec",
			host:        func(obs *docker.Observed) { obs.Containers["mysql-server"].Labels[docker.LabelStack] = "sect" },
			adopt:       true,
			wantForeign: []Foreign{{Container, "mysql-server", "sect"}},
		},
		{
			name: "orphans by label only",
			host: func(obs *docker.Observed) {
				obs.Containers["mine"] = &docker.ContainerState{Name: "mine", Labels: map[string]string{docker.LabelStack: stack}}
				obs.Containers["theirs"] = &docker.ContainerState{Name: "theirs", Labels: map[string]string{docker.LabelStack: "wordpress2"}}
				obs.Containers["nobodys"] = &docker.ContainerState{Name: "nobodys"}
			},
			wantKinds: map[string]Kind{"mine": Remove},
		},
		{
			name: "backup name held by another stack",
			host: func(obs *docker.Observed) {
				obs.Containers["wordpress.berth-old"] = &docker.ContainerState{Labels: map[string]string{docker.LabelStack: "sect"}}
			},
			adopt:       true,
			wantForeign: []Foreign{{Container, "wordpress.berth-old", "sect"}},
		},
		{
			name:        "unlabelled backup name",
			host:        func(obs *docker.Observed) { obs.Containers["wordpress.berth-old"] = &docker.ContainerState{} },
			wantForeign: []Foreign{{Container, "wordpress.berth-old", ""}},
		},
		{
			name:     "unlabelled backup of an interrupted adoption",
			host:     func(obs *docker.Observed) { obs.Containers["wordpress.berth-old"] = &docker.ContainerState{} },
			adopt:    true,
			wantLeft: []string{"wordpress.berth-old"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := deployed(t, stack, wordpress(t))
			tt.host(obs)
			p := Compute(stack, wordpress(t), obs, Options{Adopt: tt.adopt, Secrets: testDigests})
			if !slices.Equal(p.Foreign, tt.wantForeign) {
				t.Errorf("foreign %v, want %v", p.Foreign, tt.wantForeign)
			}
			for _, a := range p.Actions {
				if want, ok := tt.wantKinds[a.Name]; ok && a.Kind != want {
					t.Errorf("%s %s: %s, want %s", a.Object, a.Name, a.Kind, want)
				}
				if _, ok := tt.wantKinds[a.Name]; !ok && a.Kind != Keep {
					t.Errorf("unexpected %s %s %s", a.Kind, a.Object, a.Name)
				}
				for _, f := range p.Foreign {
					if f.Name == a.Name {
						t.Errorf("foreign %s has an action: %s", f.Name, a.Kind)
					}
				}
			}
			if !slices.Equal(p.Leftovers, tt.wantLeft) {
				t.Errorf("leftovers %v, want %v", p.Leftovers, tt.wantLeft)
			}
			var fe *ForeignError
			if gotErr := errors.As(p.Err(), &fe); gotErr != (len(tt.wantForeign) > 0) {
				t.Errorf("Err() = %v", p.Err())
			}
			if len(tt.wantForeign) > 0 && p.InSync() {
				t.Error("a plan with foreign objects says in sync")
			}
		})
	}
}

func TestForeignGolden(t *testing.T) {
	pb := wordpress(t)
	// Another stack deployed the same playbook: to stack "other", all is foreign.
	other := Compute("other", pb, deployed(t, "sect", pb), Options{Secrets: testDigests})
	golden(t, "foreign-other-stack", text(other))
	if !strings.Contains(other.Err().Error(), "stack other does not own volume mysql-volume (stack sect)") {
		t.Errorf("error %q", other.Err())
	}
	if strings.Contains(other.Err().Error(), "--adopt") {
		t.Error("the error offers --adopt for objects of another stack")
	}

	obs := deployed(t, "wordpress", pb)
	obs.Containers["wordpress"].Labels = nil
	delete(obs.Volumes["wp-content"].Labels, docker.LabelStack)
	refused := Compute("wordpress", pb, obs, Options{Secrets: testDigests})
	if err := refused.Err(); err == nil || !strings.Contains(err.Error(), "container wordpress (no berth label)") || !strings.Contains(err.Error(), "--adopt") {
		t.Errorf("error %v", err)
	}
	golden(t, "adopt", text(Compute("wordpress", pb, obs, Options{Adopt: true, Secrets: testDigests})))
}

func TestDestroyOwnership(t *testing.T) {
	pb := wordpress(t)
	// Destroying stack "other" with the playbook stack "sect" deployed removes nothing.
	p := Destroy("other", pb, deployed(t, "sect", pb), true)
	golden(t, "destroy-foreign", text(p))
	if p.Changes() != 0 || len(p.Foreign) != 5 {
		t.Errorf("destroy of another stack's objects: %d changes, foreign %v", p.Changes(), p.Foreign)
	}

	// An unlabelled volume the stack adopted is kept even with --volumes.
	obs := deployed(t, "sect", pb)
	delete(obs.Volumes["mysql-volume"].Labels, docker.LabelStack)
	obs.Containers["mysql-server"].Mounts = []docker.Mount{{Type: "volume", Name: "mysql-volume"}}
	p = Destroy("sect", pb, obs, true)
	for _, a := range p.Actions {
		if a.Name == "mysql-volume" {
			t.Errorf("adopted volume: %s", a.Kind)
		}
	}
	if !slices.Contains(p.Foreign, Foreign{Volume, "mysql-volume", ""}) || p.Count(Remove) != 4 {
		t.Errorf("destroy --volumes with an unlabelled volume:\n%s", text(p))
	}
}

func TestComputeStrangers(t *testing.T) {
	const stack = "app"
	labelled := func(names ...string) *docker.Observed {
		obs := &docker.Observed{Containers: map[string]*docker.ContainerState{}}
		for _, n := range names {
			obs.Containers[n] = &docker.ContainerState{Name: n, Labels: map[string]string{docker.LabelStack: stack}}
		}
		return obs
	}
	pb := wordpress(t)
	tests := []struct {
		name          string
		obs           *docker.Observed
		wantStrangers []string
		wantRemoved   int
	}{
		{"only another playbook's containers", labelled("a1", "a2"), []string{"a1", "a2"}, 0},
		{"one of ours runs: the rest are orphans", labelled("a1", "wordpress"), nil, 1},
		{"one of ours set aside: the rest are orphans", labelled("a1", "wordpress.berth-old"), nil, 1},
		{"nothing of the stack", labelled(), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(stack, pb, tt.obs, Options{Adopt: true, Secrets: testDigests})
			if !slices.Equal(p.Strangers, tt.wantStrangers) || p.Count(Remove) != tt.wantRemoved {
				t.Errorf("strangers %v, %d removed:\n%s", p.Strangers, p.Count(Remove), text(p))
			}
			var se *StrangersError
			if errors.As(p.Err(), &se) != (tt.wantStrangers != nil) {
				t.Errorf("Err() = %v", p.Err())
			}
			for _, name := range tt.wantStrangers {
				if !strings.Contains(se.Error(), name) || !strings.Contains(text(p), "! container "+name+" of stack app") {
					t.Errorf("%s is not named in the error (%v) or the plan:\n%s", name, se, text(p))
				}
			}
		})
	}
}
