package deploy

import (
	"testing"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/playbooks"
)

func TestStateServing(t *testing.T) {
	pb := &playbooks.Playbook{Name: "blog", Containers: []playbooks.Container{{Name: "db"}, {Name: "web"}}}
	ok := func(health string) *docker.ContainerState {
		return &docker.ContainerState{State: "running", Health: health, Labels: map[string]string{docker.LabelStack: "blog"}}
	}
	tests := []struct {
		name string
		web  *docker.ContainerState
		want bool
	}{
		{"healthy", ok("healthy"), true},
		{"no health check", ok(""), true},
		{"missing", nil, false},
		{"exited", &docker.ContainerState{State: "exited", Labels: map[string]string{docker.LabelStack: "blog"}}, false},
		{"unhealthy", ok("unhealthy"), false},
		{"starting", ok("starting"), false},
		{"another stack's", &docker.ContainerState{State: "running", Labels: map[string]string{docker.LabelStack: "other"}}, false},
		{"unlabelled", &docker.ContainerState{State: "running"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := map[string]*docker.ContainerState{"db": ok("healthy")}
			if tt.web != nil {
				cs["web"] = tt.web
			}
			st := &State{Docker: &docker.Observed{Containers: cs}}
			if got := st.Serving(pb, Options{}); got != tt.want {
				t.Fatalf("Serving = %v, want %v", got, tt.want)
			}
		})
	}
}
