package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/suggest"
	"github.com/berth-sh/berth/playbooks"
)

// unknownCommand is the root action: it only runs when the first word is not
// a command (or there is none, which shows the help).
func unknownCommand(c *cli.Context) error {
	if !c.Args().Present() {
		return cli.ShowAppHelp(c)
	}
	word := c.Args().First()
	if word == "help" { // berth help [COMMAND]
		if c.NArg() == 1 {
			return cli.ShowAppHelp(c)
		}
		word = c.Args().Get(1)
		if cmd := findCommand(c.App.Commands, word); cmd != nil {
			return cli.ShowCommandHelp(c, cmd.Name)
		}
	}
	return usageError("unknown command %q%s", word, didYouMean(word, commandNames(c.App.Commands), "berth --help"))
}

// strictArgs makes every command that takes no words refuse them, naming the
// first: flags after a word are not read, so ignoring it would silently
// ignore them too. Commands marked Args (urfave's "supports arguments")
// read their own words.
func strictArgs(cmd *cli.Command, path string) {
	path += " " + cmd.Name
	for _, sub := range cmd.Subcommands {
		strictArgs(sub, path)
	}
	if cmd.Args || cmd.Action == nil {
		return
	}
	action := cmd.Action
	cmd.Action = func(c *cli.Context) error {
		if c.Args().Present() {
			word := c.Args().First()
			hint := fmt.Sprintf("%s takes no arguments; put flags before any word (see %s --help)", path, path)
			if s := suggest.Closest(word, commandNames(cmd.Subcommands)); s != "" {
				hint = fmt.Sprintf("did you mean %s %s?", path, s)
			}
			return usageError("%s: unexpected argument %q: %s", strings.TrimPrefix(path, "berth "), word, hint)
		}
		return action(c)
	}
}

func commandNames(cmds []*cli.Command) []string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	return names
}

func didYouMean(word string, known []string, fallback string) string {
	if s := suggest.Closest(word, known); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", s)
	}
	return fmt.Sprintf(" (see %s)", fallback)
}

// undefinedFlagRe matches the flag package's error for an unknown flag.
var undefinedFlagRe = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)

// flagUsageError turns a flag parse error of cmd into a usage error with a
// hint: the nearest flag, or --var when the word is one of the playbook's vars
// (--http-port for http_port).
func (a *App) flagUsageError(cmd *cli.Command, err error) error {
	return a.flagError("berth "+cmd.Name, cmd.Flags, hasFlag(cmd, "var"), err)
}

// flagError is flagUsageError for the command at path with flags; takesVar
// says whether --var is one of them.
func (a *App) flagError(path string, cmdFlags []cli.Flag, takesVar bool, err error) error {
	help := path + " --help"
	m := undefinedFlagRe.FindStringSubmatch(err.Error())
	if m == nil {
		return usageError("%v (see %s)", err, help)
	}
	name := m[1]
	if v := a.matchingVar(takesVar, name); v != "" {
		return usageError("unknown flag %s (did you mean --var %s=...? it is a playbook var)", dashes(name), v)
	}
	var flags []string
	for _, f := range cmdFlags {
		flags = append(flags, f.Names()...)
	}
	if s := suggest.Closest(name, flags); s != "" {
		return usageError("unknown flag %s (did you mean %s?)", dashes(name), dashes(s))
	}
	return usageError("unknown flag %s (see %s)", dashes(name), help)
}

// matchingVar returns the playbook var that flag name spells, if the command
// takes --var. The playbook is the one named on the command line, else the default.
func (a *App) matchingVar(takesVar bool, name string) string {
	if !takesVar {
		return ""
	}
	want := strings.ReplaceAll(name, "-", "_")
	for _, v := range declaredVars(playbookArg(a.args)) {
		if v == want {
			return v
		}
	}
	return ""
}

// playbookArg finds --playbook in raw args, which flag parsing failed to read.
func playbookArg(args []string) string {
	for i, arg := range args {
		for _, name := range []string{"--playbook", "-playbook", "-p", "--p"} {
			if v, ok := strings.CutPrefix(arg, name+"="); ok {
				return v
			}
			if arg == name && i+1 < len(args) {
				return args[i+1]
			}
		}
	}
	return defaultPlaybook
}

// declaredVars lists the vars a playbook declares (and the built-in ones),
// sorted; none when it does not load.
func declaredVars(ref string) []string {
	pb, err := playbooks.Load(ref, nil)
	if err != nil {
		return nil
	}
	vars := make([]string, 0, len(pb.Vars))
	for k := range pb.Vars {
		vars = append(vars, k)
	}
	sort.Strings(vars)
	return vars
}
