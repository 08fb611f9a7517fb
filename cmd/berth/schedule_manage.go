package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// installedUnit is what --list shows of a schedule berth wrote.
type installedUnit struct {
	name, when, dir string
}

// readUnit returns the settings of a unit file berth wrote, or ok=false
// when the file is not one of berth's.
func readUnit(path string) (settings map[string]string, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	if !sc.Scan() || sc.Text() != unitMarker {
		return nil, false, sc.Err()
	}
	settings = map[string]string{}
	for sc.Scan() {
		if k, v, found := strings.Cut(sc.Text(), "="); found && !strings.HasPrefix(k, "#") {
			settings[k] = v
		}
	}
	return settings, true, sc.Err()
}

// listUnits finds the schedules berth wrote in dir.
func listUnits(dir string) ([]installedUnit, error) {
	timers, err := filepath.Glob(filepath.Join(dir, "*.timer"))
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []installedUnit
	for _, t := range timers {
		name := strings.TrimSuffix(filepath.Base(t), ".timer")
		timer, ok, err := readUnit(t)
		if err != nil || !ok {
			continue // not berth's, or gone meanwhile
		}
		service, ok, err := readUnit(filepath.Join(dir, name+".service"))
		if err != nil || !ok {
			continue
		}
		u := installedUnit{name: name, when: timer["OnCalendar"], dir: unescapeSpecifiers(service["WorkingDirectory"])}
		if u.when == "" {
			u.when = "every " + timer["OnUnitActiveSec"]
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func unescapeSpecifiers(s string) string { return strings.ReplaceAll(s, "%%", "%") }

func (a *App) printUnits(dir string) error {
	units, err := listUnits(dir)
	if err != nil {
		return err
	}
	if len(units) == 0 {
		fmt.Fprintf(a.stderr, "no schedules written by berth in %s\n", dir)
		return nil
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSCHEDULE\tWORKDIR")
	for _, u := range units {
		fmt.Fprintf(w, "%s\t%s\t%s\n", u.name, u.when, u.dir)
	}
	return w.Flush()
}

// removeUnits deletes the service and timer berth wrote for name, and the
// enablement link systemctl enable made beside them. The environment file
// holds the user's secrets and is kept: berth deletes nothing it was not asked to.
func (a *App) removeUnits(dir, name string, userUnit bool) error {
	if err := validUnitName(name); err != nil {
		return err
	}
	var envFile string
	for _, ext := range []string{".service", ".timer"} {
		settings, ok, err := readUnit(filepath.Join(dir, name+ext))
		if errors.Is(err, fs.ErrNotExist) {
			return usageError("schedule --remove %s: no %s%s in %s (see berth schedule --list)", name, name, ext, dir)
		}
		if err != nil {
			return fmt.Errorf("remove schedule: %w", err)
		}
		if !ok {
			return usageError("schedule --remove %s: %s was not written by berth; not touching it", name, filepath.Join(dir, name+ext))
		}
		if f := settings["EnvironmentFile"]; f != "" {
			envFile = unescapeSpecifiers(f)
		}
	}
	for _, p := range []string{
		filepath.Join(dir, "timers.target.wants", name+".timer"),
		filepath.Join(dir, name+".timer"),
		filepath.Join(dir, name+".service"),
	} {
		err := os.Remove(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("remove schedule: %w", err)
		}
		fmt.Fprintln(a.stderr, "removed", p)
	}
	if envFile != "" {
		fmt.Fprintf(a.stderr, "kept %s (its secrets may serve other schedules); delete it yourself if not\n", envFile)
	}
	fmt.Fprintf(a.stderr, "stop the loaded timer with: %s stop %s.timer && %s daemon-reload\n", systemctl(userUnit), name, systemctl(userUnit))
	return nil
}

func systemctl(userUnit bool) string {
	if userUnit {
		return "systemctl --user"
	}
	return "systemctl"
}

// validUnitName keeps a name to the characters systemd allows in a unit
// name, so it can be neither a path nor a template.
func validUnitName(name string) error {
	if name == "" || len(name) > 200 || name[0] == '.' || name[0] == '-' {
		return usageError("schedule: unit name %q: want letters, digits and :_.- only", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(":_.-", r)
		if !ok {
			return usageError("schedule: unit name %q: want letters, digits and :_.- only", name)
		}
	}
	return nil
}
