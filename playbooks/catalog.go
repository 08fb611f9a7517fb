package playbooks

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Info describes a built-in playbook for `berth playbooks`.
type Info struct {
	Name        string
	Description string
}

// List returns the built-in playbooks sorted by name.
func List() []Info {
	entries, _ := fs.Glob(builtinFS, "builtin/*.yaml")
	var out []Info
	for _, e := range entries {
		name := strings.TrimSuffix(path.Base(e), ".yaml")
		data, _ := builtinFS.ReadFile(e)
		// Only the description is read here: a full Parse would need the vars.
		var head struct {
			Description string `yaml:"description"`
		}
		_ = yaml.Unmarshal(data, &head)
		out = append(out, Info{Name: name, Description: strings.TrimSpace(head.Description)})
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Source returns a built-in playbook's YAML as shipped, comments included.
func Source(name string) ([]byte, error) {
	if !nameRe.MatchString(name) {
		return nil, fmt.Errorf("load built-in playbook: invalid name %q", name)
	}
	data, err := builtinFS.ReadFile("builtin/" + name + ".yaml")
	if err != nil {
		var names []string
		for _, i := range List() {
			names = append(names, i.Name)
		}
		return nil, fmt.Errorf("load built-in playbook: no playbook named %q (built-in: %s; a path needs a / or .yaml)",
			name, strings.Join(names, ", "))
	}
	return data, nil
}
