package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// argRewrite says how schedule turns its own command line into the deploy's.
type argRewrite struct {
	flags     []cli.Flag
	base      string // directory relative paths were typed in
	home      string // for ~/ in a value the shell did not expand
	localOnly bool   // --state-dir is then a path on this machine
}

// deployArgs are schedule's raw arguments minus the schedule-only flags, with
// every local path made absolute: a timer does not run where it was typed.
func (r argRewrite) deployArgs(raw []string) []string {
	type flagInfo struct {
		name   string // the flag's main name
		isBool bool
	}
	known := map[string]flagInfo{}
	for _, f := range r.flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			known[n] = flagInfo{f.Names()[0], isBool}
		}
	}
	i := 0
	for i < len(raw) && raw[i] != "schedule" {
		i++
	}
	var out []string
	for i++; i < len(raw); i++ {
		arg := raw[i]
		if arg == "--" || !strings.HasPrefix(arg, "-") {
			out = append(out, arg)
			continue
		}
		spelled, value, hasValue := strings.Cut(arg, "=")
		f, ok := known[strings.TrimLeft(spelled, "-")]
		if !ok {
			out = append(out, arg)
			continue
		}
		if !f.isBool && !hasValue && i+1 < len(raw) {
			i++
			value, hasValue = raw[i], true
		}
		if scheduleOnly(f.name) {
			continue
		}
		if !hasValue {
			out = append(out, arg)
			continue
		}
		if r.isPath(f.name, value) {
			value = absPath(value, r.base, r.home)
		}
		if f.isBool {
			out = append(out, spelled+"="+value)
		} else {
			out = append(out, spelled, value)
		}
	}
	return out
}

// isPath says whether a flag's value names a file or directory on this machine.
func (r argRewrite) isPath(flag, value string) bool {
	switch flag {
	case "config", "identity", "known-hosts", "to", "age-identity", "push-archive":
		return true
	case "ssh-config":
		return value != "none"
	case "playbook":
		// As playbooks.Load tells a file from a built-in name.
		return strings.Contains(value, "/") || strings.HasSuffix(value, ".yaml") || strings.HasSuffix(value, ".yml")
	case "state-dir":
		return r.localOnly
	}
	return false
}
