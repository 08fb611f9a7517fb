package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/berth-sh/berth/internal/inventory"
	"github.com/berth-sh/berth/internal/suggest"
	"github.com/berth-sh/berth/playbooks"
)

// defaultConfig is read from the working directory when --config is not given.
const defaultConfig = "berth.yaml"

// fileConfig is berth.yaml: any flag of the command by its name (dashes or
// underscores), plus vars and hosts with per-host vars. Flags win over it.
type fileConfig struct {
	path  string
	flags map[string]any
	keys  map[string]*yaml.Node // each flag setting's key as written, for messages
	vars  map[string]string
	hosts []configHost
}

type configHost struct {
	Host string            `yaml:"host"`
	Vars map[string]string `yaml:"vars"`
}

func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "settings `FILE`: flags, vars and per-host vars (default ./berth.yaml if it exists; flags win)", EnvVars: []string{"BERTH_CONFIG"}}
}

// loadConfig reads --config, or ./berth.yaml when present; nil when neither.
func loadConfig(c *cli.Context) (*fileConfig, error) {
	path := c.String("config")
	if path == "" {
		if _, err := os.Stat(defaultConfig); err != nil {
			return nil, nil
		}
		path = defaultConfig
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("read config: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, withCode(exitUsage, playbooks.SyntaxError(path, data, err))
	}
	cfg := &fileConfig{path: path, flags: map[string]any{}, keys: map[string]*yaml.Node{}}
	if len(doc.Content) == 0 {
		return cfg, nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, cfg.errorAt(root, "expected a mapping of settings, got a %s", nodeKind(root))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, node := root.Content[i], root.Content[i+1]
		name := strings.ReplaceAll(key.Value, "_", "-")
		if _, dup := cfg.keys[name]; dup || (name == "vars" && cfg.vars != nil) || (name == "hosts" && cfg.hosts != nil) {
			return nil, cfg.errorAt(key, "%s is set twice", key.Value)
		}
		var err error
		switch name {
		case "vars":
			err = node.Decode(&cfg.vars)
		case "hosts":
			err = node.Decode(&cfg.hosts)
		default:
			var v any
			err = node.Decode(&v)
			cfg.flags[name] = v
			cfg.keys[name] = key
		}
		if err != nil {
			return nil, cfg.errorAt(node, "%s: %s", key.Value, decodeLineRe.ReplaceAllString(err.Error(), ""))
		}
	}
	return cfg, nil
}

// decodeLineRe is yaml.v3's own prefix of decode errors; errorAt places them.
var decodeLineRe = regexp.MustCompile(`^yaml: unmarshal errors:\n\s*line \d+: `)

// errorAt is a usage error at n's place in the config file, formatted like
// a playbook's errors (file:line:col: message).
func (cfg *fileConfig) errorAt(n *yaml.Node, format string, args ...any) error {
	return withCode(exitUsage, &playbooks.Error{File: cfg.path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

func nodeKind(n *yaml.Node) string {
	if n.Kind == yaml.SequenceNode {
		return "list"
	}
	return "value"
}

// applyConfig reads the config once per run, keeps it for vars and hosts,
// and sets every flag it names that the command line did not.
func (a *App) applyConfig(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil || cfg == nil {
		return err
	}
	a.cfg = cfg
	known := map[string]bool{}
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			known[n] = true
		}
	}
	names := make([]string, 0, len(cfg.flags))
	for n := range cfg.flags {
		names = append(names, n)
	}
	sort.Strings(names)
	everywhere := allFlagNames(c.App.Commands)
	var unknown []string
	for _, name := range names {
		if !known[name] {
			if !everywhere[name] {
				unknown = append(unknown, name)
			}
			continue // a setting for other commands
		}
		if c.IsSet(name) {
			continue
		}
		values, err := flagValues(cfg.flags[name])
		if err != nil {
			hint := ""
			if name == "var" {
				hint = " (did you mean vars:?)"
			}
			return cfg.errorAt(cfg.keys[name], "%s: %v%s", cfg.keys[name].Value, err, hint)
		}
		for _, v := range values {
			if err := c.Set(name, v); err != nil {
				return cfg.errorAt(cfg.keys[name], "%s: invalid value %q: %v", cfg.keys[name].Value, v, err)
			}
		}
	}
	if len(unknown) > 0 {
		// After the known settings, so a playbook: in the file counts.
		return cfg.unknownSetting(unknown, everywhere, declaredVars(c.String("playbook")))
	}
	return nil
}

// unknownSetting reports the first unknown key in the file, where it is,
// with the setting it likely meant, or vars: when it is a playbook var.
func (cfg *fileConfig) unknownSetting(unknown []string, flags map[string]bool, vars []string) error {
	slices.SortFunc(unknown, func(a, b string) int { return cfg.keys[a].Line - cfg.keys[b].Line })
	key := cfg.keys[unknown[0]]
	hint := ""
	if v := strings.ReplaceAll(key.Value, "-", "_"); slices.Contains(vars, v) {
		hint = fmt.Sprintf(" (%s is a playbook var: put it under vars:)", v)
	} else {
		settings := []string{"vars", "hosts"}
		for n := range flags {
			settings = append(settings, n)
		}
		if s := suggest.Closest(strings.ReplaceAll(key.Value, "_", "-"), settings); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", s)
		}
	}
	return cfg.errorAt(key, "unknown setting %q%s", key.Value, hint)
}

func flagValues(v any) ([]string, error) {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, err := flagValues(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	case map[string]any:
		return nil, errors.New("want a value or a list, not a map")
	case nil:
		return nil, nil
	}
	return []string{fmt.Sprint(v)}, nil
}

// allFlagNames is every flag name of every command, to tell a typo in the
// config from a setting meant for another command.
func allFlagNames(cmds []*cli.Command) map[string]bool {
	m := map[string]bool{}
	for _, cmd := range cmds {
		for _, f := range cmd.Flags {
			for _, n := range f.Names() {
				m[n] = true
			}
		}
		for n := range allFlagNames(cmd.Subcommands) {
			m[n] = true
		}
	}
	return m
}

// configTargets returns the config's hosts, each with its own vars.
func (a *App) configTargets() ([]inventory.Target, error) {
	if a.cfg == nil {
		return nil, nil
	}
	var ts []inventory.Target
	for i, h := range a.cfg.hosts {
		t, err := inventory.ParseHost(h.Host)
		if err != nil {
			return nil, usageError("%s: hosts[%d]: %v", a.cfg.path, i, err)
		}
		t.Vars = h.Vars
		ts = append(ts, t)
	}
	return ts, nil
}
