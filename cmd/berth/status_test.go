package main

import (
	"io"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
)

// TestRenderStatusAligns: a name longer than any fixed padding still leaves
// every column aligned under its header.
func TestRenderStatusAligns(t *testing.T) {
	long := "a-container-name-well-over-thirty-characters"
	pb := &playbooks.Playbook{Containers: []playbooks.Container{{Name: "db"}, {Name: long}}}
	st := &deploy.State{Docker: &docker.Observed{Containers: map[string]*docker.ContainerState{
		"db": {State: "running", Health: "healthy", Image: "img:1"},
	}}}
	var out strings.Builder
	ui.NewText(&out, io.Discard, false).Handle(statusEvent("", st, pb, deploy.Options{}))
	text := out.String()
	lines := strings.Split(text, "\n")
	col := strings.Index(lines[0], "STATE")
	for _, l := range lines[1:3] {
		if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
			t.Fatalf("STATE column not at %d:\n%s", col, text)
		}
	}
}
