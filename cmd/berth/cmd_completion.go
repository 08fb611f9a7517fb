package main

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/playbooks"
)

// The completion scripts are static: each asks `berth __complete WORDS...`
// for the candidates, so they follow the binary's commands, flags and
// playbooks without being regenerated.
var (
	//go:embed completion/berth.bash
	bashCompletion string
	//go:embed completion/berth.zsh
	zshCompletion string
	//go:embed completion/berth.fish
	fishCompletion string
)

func (a *App) completionCommand() *cli.Command {
	scripts := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		Args:      true,
		ArgsUsage: "bash|zsh|fish",
		Description: `Completes commands, flags, built-in playbook names and, after --var, the
variables the chosen playbook declares.

   bash:  source <(berth completion bash)       (or save it in /etc/bash_completion.d/berth)
   zsh:   source <(berth completion zsh)        (after compinit)
   fish:  berth completion fish > ~/.config/fish/completions/berth.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("completion: want one shell: bash, zsh or fish")
			}
			script, ok := scripts[c.Args().First()]
			if !ok {
				return usageError("completion: unknown shell %q: want bash, zsh or fish", c.Args().First())
			}
			_, err := fmt.Fprint(a.stdout, script)
			return err
		},
	}
}

// completeCommand is what the scripts call: the words typed after "berth",
// the last one being completed (maybe empty); it prints one candidate a line.
func (a *App) completeCommand() *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		Args:            true,
		ArgsUsage:       "WORDS...",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			for _, cand := range complete(c.App, c.Args().Slice()) {
				fmt.Fprintln(a.stdout, cand)
			}
			return nil
		},
	}
}

// complete returns the candidates for the last of words, by prefix.
func complete(app *cli.App, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, before := words[len(words)-1], words[:len(words)-1]
	cmds, flags := app.Commands, app.Flags
	var cmd *cli.Command
	var positional []string
	for i := 0; i < len(before); i++ {
		w := before[i]
		if w == "--" {
			return nil // run's command: not ours to complete
		}
		if strings.HasPrefix(w, "-") {
			if f := findFlag(flags, w); f != nil && takesValue(f) && !strings.Contains(w, "=") {
				i++ // skip the flag's value
			}
			continue
		}
		if sub := findCommand(cmds, w); sub != nil && len(positional) == 0 {
			cmd, cmds, flags = sub, sub.Subcommands, sub.Flags
			continue
		}
		positional = append(positional, w)
	}
	var cands []string
	switch {
	case len(before) > 0 && strings.HasPrefix(before[len(before)-1], "-") && valueFlag(flags, before[len(before)-1]):
		cands = flagValueCandidates(strings.TrimLeft(before[len(before)-1], "-"), before)
	case strings.HasPrefix(cur, "-") || (cmd != nil && len(cmd.Subcommands) == 0 && !cmd.Args):
		for _, f := range flags {
			for _, n := range f.Names() {
				cands = append(cands, dashes(n))
			}
		}
	case cmd != nil && cmd.Name == "completion":
		cands = []string{"bash", "zsh", "fish"}
	case cmd != nil && cmd.Name == "show" && len(positional) == 0:
		cands = builtinPlaybooks()
	case len(positional) == 0 && (cmd == nil || len(cmd.Subcommands) > 0):
		cands = commandNames(cmds)
	}
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, cur) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// flagValueCandidates completes the value of flag name.
func flagValueCandidates(name string, words []string) []string {
	switch name {
	case "playbook", "p":
		return builtinPlaybooks()
	case "var":
		var cands []string
		for _, v := range declaredVars(playbookArg(words)) {
			cands = append(cands, v+"=")
		}
		return cands
	case "host-key-policy":
		return []string{"strict", "accept-new", "insecure-ignore-host-key"}
	}
	return nil
}

func builtinPlaybooks() []string {
	var names []string
	for _, info := range playbooks.List() {
		names = append(names, info.Name)
	}
	return names
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if !c.Hidden && slices.Contains(c.Names(), name) {
			return c
		}
	}
	return nil
}

func findFlag(flags []cli.Flag, word string) cli.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(word, "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func valueFlag(flags []cli.Flag, word string) bool {
	f := findFlag(flags, word)
	return f != nil && takesValue(f) && !strings.Contains(word, "=")
}

// takesValue tells flags that read the next word (--port 22) from switches.
func takesValue(f cli.Flag) bool {
	dv, ok := f.(cli.DocGenerationFlag)
	return ok && dv.TakesValue()
}

func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}
