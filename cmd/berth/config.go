package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"

	"github.com/berth-sh/berth/internal/inventory"
)

// defaultConfig is read from the working directory when --config is not given.
const defaultConfig = "berth.yaml"

// fileConfig is berth.yaml: any flag of the command by its name (dashes or
// underscores), plus vars and hosts with per-host vars. Flags win over it.
type fileConfig struct {
	path  string
	flags map[string]any
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
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, usageError("parse config %s: %v", path, err)
	}
	cfg := &fileConfig{path: path, flags: map[string]any{}}
	for key, node := range raw {
		name := strings.ReplaceAll(key, "_", "-")
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
		}
		if err != nil {
			return nil, usageError("%s:%d: %s: %v", path, node.Line, key, err)
		}
	}
	return cfg, nil
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
	for _, name := range names {
		if !known[name] {
			if !everywhere[name] {
				return usageError("%s: unknown setting %q", cfg.path, name)
			}
			continue // a setting for other commands
		}
		if c.IsSet(name) {
			continue
		}
		values, err := flagValues(cfg.flags[name])
		if err != nil {
			return usageError("%s: %s: %v", cfg.path, name, err)
		}
		for _, v := range values {
			if err := c.Set(name, v); err != nil {
				return usageError("%s: %s: %v", cfg.path, name, err)
			}
		}
	}
	return nil
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
