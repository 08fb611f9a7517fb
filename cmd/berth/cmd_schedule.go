package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/remote"
)

func scheduleFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "every", Usage: "run the deploy this often, e.g. 15m, 1h, 24h", Required: true, Category: "Schedule"},
		&cli.BoolFlag{Name: "print", Usage: "print the units (or crontab line) instead of writing them", Category: "Schedule"},
		&cli.BoolFlag{Name: "cron", Usage: "a crontab line instead of systemd units", Category: "Schedule"},
		&cli.StringFlag{Name: "unit-name", Usage: "systemd unit `NAME` (default berth-STACK)", Category: "Schedule"},
		&cli.StringFlag{Name: "unit-dir", Value: "/etc/systemd/system", Usage: "where to write the units", Category: "Schedule"},
		&cli.StringFlag{Name: "berth-path", Usage: "berth binary to run (default: this one)", Category: "Schedule"},
		&cli.StringFlag{Name: "workdir", Usage: "directory to run in, for relative paths (default: the current one)", Category: "Schedule"},
	}
}

// scheduleOnly says whether a flag shapes the schedule, not the deploy it runs.
func scheduleOnly(name string) bool {
	switch name {
	case "every", "print", "cron", "unit-name", "unit-dir", "berth-path", "workdir":
		return true
	}
	return false
}

func (a *App) scheduleCommand() *cli.Command {
	return &cli.Command{
		Name:      "schedule",
		Usage:     "run this deploy unattended: write a systemd service + timer (or print a crontab line)",
		ArgsUsage: "--every DURATION [deploy flags]",
		Description: `Takes the same flags as deploy and schedules exactly that invocation, with
--quiet added, so a run with nothing to change prints nothing. The systemd
units go to --unit-dir (enable them with systemctl enable --now NAME.timer);
--print shows them instead; --cron prints a crontab line.

Example:
   berth schedule --every 1h --ec2-tag Name=blog --domain blog.example.com --pull`,
		Flags: concat(targetFlags(), playbookFlags(), deployFlags(), dnsFlags(), outputFlags(), scheduleFlags()),
		Action: func(c *cli.Context) error {
			every := c.Duration("every")
			if every < time.Minute {
				return usageError("schedule --every %s: want at least 1m", every)
			}
			bin, dir, err := scheduleBinaryAndDir(c)
			if err != nil {
				return err
			}
			argv := append([]string{bin, "deploy"}, deployArgs(a.args)...)
			if !c.Bool("quiet") && !c.Bool("json") {
				argv = append(argv, "--quiet")
			}
			if c.Bool("cron") {
				line, err := cronLine(every, dir, argv)
				if err != nil {
					return usageError("%v", err)
				}
				fmt.Fprintln(a.stdout, line)
				return nil
			}
			name := c.String("unit-name")
			if name == "" {
				name = "berth-" + stackName(c, nil)
			}
			service, timer := systemdUnits(name, every, dir, argv)
			if c.Bool("print") {
				fmt.Fprintf(a.stdout, "# %s.service\n%s\n# %s.timer\n%s", name, service, name, timer)
				return nil
			}
			for file, content := range map[string]string{name + ".service": service, name + ".timer": timer} {
				path := filepath.Join(c.String("unit-dir"), file)
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					return fmt.Errorf("write unit: %w", err)
				}
				fmt.Fprintln(a.stderr, "wrote", path)
			}
			fmt.Fprintf(a.stderr, "enable it with: systemctl daemon-reload && systemctl enable --now %s.timer\n", name)
			return nil
		},
	}
}

func scheduleBinaryAndDir(c *cli.Context) (string, string, error) {
	bin := c.String("berth-path")
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", "", fmt.Errorf("find berth binary: %w (pass --berth-path)", err)
		}
		bin = exe
	}
	dir := c.String("workdir")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", "", fmt.Errorf("find working directory: %w (pass --workdir)", err)
		}
		dir = wd
	}
	return bin, dir, nil
}

// deployArgs are schedule's raw arguments minus the schedule-only flags.
func deployArgs(raw []string) []string {
	i := 0
	for i < len(raw) && raw[i] != "schedule" {
		i++
	}
	var out []string
	for i++; i < len(raw); i++ {
		arg := raw[i]
		name := strings.TrimLeft(arg, "-")
		name, _, hasValue := strings.Cut(name, "=")
		if strings.HasPrefix(arg, "-") && scheduleOnly(name) {
			takesValue := name != "print" && name != "cron"
			if takesValue && !hasValue {
				i++ // skip the separate value
			}
			continue
		}
		out = append(out, arg)
	}
	return out
}

// systemdUnits renders a oneshot service running argv and a timer for it.
func systemdUnits(name string, every time.Duration, dir string, argv []string) (service, timer string) {
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = systemdQuote(a)
	}
	service = fmt.Sprintf(`[Unit]
Description=berth scheduled deploy (%s)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory=%s
ExecStart=%s
`, name, systemdQuote(dir), strings.Join(quoted, " "))
	timer = fmt.Sprintf(`[Unit]
Description=Run %s.service every %s

[Timer]
OnBootSec=%s
OnUnitActiveSec=%s
RandomizedDelaySec=30s

[Install]
WantedBy=timers.target
`, name, systemdDuration(every), systemdDuration(every), systemdDuration(every))
	return service, timer
}

// systemdQuote quotes one ExecStart word: systemd expands % specifiers and
// $ variables itself, so both are doubled, and splits words on whitespace.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	s = strings.ReplaceAll(s, "$", "$$")
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

func systemdDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dmin", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// cronLine renders a crontab entry; cron only runs at steps that divide the
// hour or the day, so other periods are refused rather than drifting.
func cronLine(every time.Duration, dir string, argv []string) (string, error) {
	var spec string
	switch {
	case every == 24*time.Hour:
		spec = "0 0 * * *"
	case every%time.Hour == 0 && 24%int(every/time.Hour) == 0:
		spec = fmt.Sprintf("0 */%d * * *", every/time.Hour)
		if every == time.Hour {
			spec = "0 * * * *"
		}
	case every%time.Minute == 0 && every < time.Hour && 60%int(every/time.Minute) == 0:
		spec = fmt.Sprintf("*/%d * * * *", every/time.Minute)
	default:
		return "", fmt.Errorf("cron cannot run every %s: use a period that divides an hour or a day (e.g. 15m, 1h, 6h, 24h), or systemd", every)
	}
	cd, err := remote.Quote([]string{"cd", dir})
	if err != nil {
		return "", err
	}
	run, err := remote.Quote(argv)
	if err != nil {
		return "", err
	}
	// cron turns an unescaped % into a newline.
	line := spec + " " + cd + " && " + run
	return strings.ReplaceAll(line, "%", `\%`), nil
}
