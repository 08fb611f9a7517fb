package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/berth-sh/berth/remote"
)

// unitMarker heads every file schedule writes: --list and --remove touch only
// files that carry it.
const unitMarker = "# Written by berth schedule (berth schedule --list; berth schedule --remove NAME)."

// systemdPath is the PATH systemd gives a service that sets none; --check
// reconstructs it.
const systemdPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// onFailureScript runs the scheduled argv ($3...) and, when it fails, the
// user's hook ($2) through sh with the exit code, a one-line summary (the
// last line berth wrote to stderr) and the schedule name ($1) in its
// environment (berth's error list puts the cause of a failure last). stderr is kept in a file for the summary and replayed after
// the run. SIGTERM (systemd's TimeoutStartSec, or a stop) reaches berth
// too, which releases its locks and exits 130; the trap keeps this shell
// alive so the hook still runs for such a run.
const onFailureScript = `log=$(mktemp) || exit 1; trap 'rm -f "$log"' EXIT; trap : TERM INT; name=$1; hook=$2; shift 2; "$@" 2>"$log"; code=$?; cat "$log" >&2; if [ "$code" -ne 0 ]; then BERTH_SCHEDULE="$name" BERTH_EXIT_CODE="$code" BERTH_SUMMARY="$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 | sed 's/^[[:space:]*]*//')" /bin/sh -c "$hook"; fi; exit "$code"`

// withOnFailure wraps argv so hook runs when it fails.
func withOnFailure(name, hook string, argv []string) []string {
	return append([]string{"/bin/sh", "-c", onFailureScript, "berth-schedule", name, hook}, argv...)
}

// timing is when a schedule runs: every period, or on a calendar.
type timing struct {
	every    time.Duration
	calendar string // systemd OnCalendar expression
	daily    bool   // the calendar came from --at, which cron can express too
	hour     int
	minute   int
}

func (w timing) String() string {
	if w.every > 0 {
		return "every " + systemdDuration(w.every)
	}
	return "on " + w.calendar
}

// unitSpec is everything a schedule writes into its units, resolved once.
type unitSpec struct {
	name     string
	when     timing
	dir      string   // WorkingDirectory
	argv     []string // ExecStart
	env      []envVar // Environment=
	envFile  string   // EnvironmentFile=, "" for none
	user     string   // User= of a system unit
	userUnit bool     // a unit of the user's own systemd instance (no User=)
	timeout  time.Duration
}

// systemdUnits renders a oneshot service running spec.argv and its timer.
func systemdUnits(s unitSpec) (service, timer string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n[Unit]\nDescription=berth scheduled deploy (%s)\n", unitMarker, s.name)
	if !s.userUnit {
		// A user instance has no network-online.target to wait for.
		b.WriteString("Wants=network-online.target\nAfter=network-online.target\n")
	}
	b.WriteString("\n[Service]\nType=oneshot\n")
	if !s.userUnit {
		fmt.Fprintf(&b, "User=%s\n", systemdEscape(s.user))
	}
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", systemdEscape(s.dir))
	for _, e := range s.env {
		fmt.Fprintf(&b, "Environment=%s\n", systemdQuote(e.name+"="+e.value, false))
	}
	if s.envFile != "" {
		fmt.Fprintf(&b, "EnvironmentFile=%s\n", systemdEscape(s.envFile))
	}
	fmt.Fprintf(&b, "TimeoutStartSec=%s\n", systemdDuration(s.timeout))
	quoted := make([]string, len(s.argv))
	for i, a := range s.argv {
		quoted[i] = systemdQuote(a, true)
	}
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(quoted, " "))
	service = b.String()

	b.Reset()
	fmt.Fprintf(&b, "%s\n[Unit]\nDescription=Run %s.service %s\n\n[Timer]\n", unitMarker, s.name, s.when)
	if s.when.every > 0 {
		d := systemdDuration(s.when.every)
		fmt.Fprintf(&b, "OnBootSec=%s\nOnUnitActiveSec=%s\n", d, d)
	} else {
		// Persistent: a run missed while the machine was off happens at boot.
		fmt.Fprintf(&b, "OnCalendar=%s\nPersistent=true\n", s.when.calendar)
	}
	b.WriteString("RandomizedDelaySec=30s\n\n[Install]\nWantedBy=timers.target\n")
	return service, b.String()
}

// systemdEscape escapes the % specifiers systemd expands in a plain setting.
func systemdEscape(s string) string { return strings.ReplaceAll(s, "%", "%%") }

// systemdQuote quotes one word of ExecStart (exec) or Environment=: systemd
// expands % specifiers everywhere and $ variables in ExecStart, so both are
// doubled, and splits words on whitespace.
func systemdQuote(s string, exec bool) string {
	s = systemdEscape(s)
	if exec {
		s = strings.ReplaceAll(s, "$", "$$")
	}
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

// cronSpec is the five time fields; cron only runs at steps that divide the
// hour or the day, so other periods are refused rather than drifting.
func cronSpec(w timing) (string, error) {
	every := w.every
	switch {
	case w.daily:
		return fmt.Sprintf("%d %d * * *", w.minute, w.hour), nil
	case w.calendar != "":
		return "", fmt.Errorf("cron cannot run on the calendar %q: use --at HH:MM or --every, or systemd", w.calendar)
	case every == 24*time.Hour:
		return "0 0 * * *", nil
	case every == time.Hour:
		return "0 * * * *", nil
	case every%time.Hour == 0 && every < 24*time.Hour && 24%int(every/time.Hour) == 0:
		return fmt.Sprintf("0 */%d * * *", every/time.Hour), nil
	case every%time.Minute == 0 && every < time.Hour && 60%int(every/time.Minute) == 0:
		return fmt.Sprintf("*/%d * * * *", every/time.Minute), nil
	}
	return "", fmt.Errorf("cron cannot run every %s: use a period that divides an hour or a day (e.g. 15m, 1h, 6h, 24h), or systemd", every)
}

// cronCommand is the shell command of a crontab entry (what cron hands to
// /bin/sh): cd, the env file, the captured variables, then argv.
func cronCommand(s unitSpec) (string, error) {
	words := [][]string{{"cd", s.dir}}
	if s.envFile != "" {
		words = append(words, []string{"set", "-a"}, []string{".", s.envFile}, []string{"set", "+a"})
	}
	run := []string{"exec"}
	if len(s.env) > 0 {
		run = append(run, "env")
		for _, e := range s.env {
			run = append(run, e.name+"="+e.value)
		}
	}
	words = append(words, append(run, s.argv...))
	parts := make([]string, len(words))
	for i, w := range words {
		for _, a := range w {
			// A newline would end the crontab entry and start another.
			if err := noControl(a); err != nil {
				return "", fmt.Errorf("cron: %w", err)
			}
		}
		q, err := remote.Quote(w)
		if err != nil {
			return "", err
		}
		parts[i] = q
	}
	return strings.Join(parts, " && "), nil
}

// cronLine renders a crontab entry; cron turns an unescaped % into a newline.
func cronLine(s unitSpec) (string, error) {
	spec, err := cronSpec(s.when)
	if err != nil {
		return "", err
	}
	cmd, err := cronCommand(s)
	if err != nil {
		return "", err
	}
	return spec + " " + strings.ReplaceAll(cmd, "%", `\%`), nil
}

// noControl refuses newlines and other control characters, which end a
// crontab entry or a unit file line.
func noControl(s string) error {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%q contains a control character (%U)", s, r)
		}
	}
	return nil
}
