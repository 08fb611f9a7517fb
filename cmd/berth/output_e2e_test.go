package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestOutputGolden: what deploy, plan, status and destroy print, for people
// and as JSON, on one host through sshd, from an empty host to a deployed
// stack and back. Only what varies run to run is normalised: the stack's
// prefix, ports, the login user, durations, times and image ids.
func TestOutputGolden(t *testing.T) {
	e := newStackEnv(t)
	steps := []struct {
		name string
		args []string
		code int
	}{
		{"plan", e.args("plan"), exitDrift},
		{"plan-json", e.args("plan", "--json"), exitDrift},
		{"deploy", e.args("deploy"), exitOK},
		{"deploy-in-sync", e.args("deploy"), exitOK},
		{"deploy-in-sync-json", e.args("deploy", "--json"), exitOK},
		{"status", e.args("status"), exitOK},
		{"status-json", e.args("status", "--json"), exitOK},
		{"destroy", e.args("destroy"), exitOK},
		{"deploy-json", e.args("deploy", "--json"), exitOK},
		{"destroy-json", e.args("destroy", "--json"), exitOK},
	}
	for _, st := range steps {
		out, errOut, code := berth(t, st.args...)
		if code != st.code {
			t.Fatalf("%s: exit %d, want %d", st.name, code, st.code)
		}
		got := "--- stdout\n" + out + "--- stderr\n" + errOut
		golden(t, "output-"+st.name+".txt", normalize(got, e))
	}
}

var (
	durationText = regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs|s)\b|\b\d+m\d+(\.\d+)?s\b`)
	durationJSON = regexp.MustCompile(`"(duration_ms|elapsed_ms|age_ms|lock_age_ms)":\d+`)
	timeJSON     = regexp.MustCompile(`"time":"[^"]+"`)
	imageID      = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	columnGap    = regexp.MustCompile(`  +`)
)

// normalize replaces what differs between runs with fixed words. Column
// widths follow the replaced values, so runs of spaces become two.
func normalize(s string, e *stackEnv) string {
	_, sshPort, _ := strings.Cut(e.sshd.Addr, ":")
	s = strings.NewReplacer(e.prefix, "PREFIX-", e.sshd.User+"@", "USER@", ":"+sshPort, ":SSHPORT",
		":"+e.port, ":WEBPORT", e.stateDir, "STATEDIR").Replace(s)
	// Wait limits stay: they come from the playbook, not from the run.
	s = durationText.ReplaceAllStringFunc(s, func(d string) string {
		if strings.HasSuffix(d, "35s") || d == "30s" {
			return d
		}
		return "DURATION"
	})
	s = durationJSON.ReplaceAllString(s, `"$1":0`)
	s = timeJSON.ReplaceAllString(s, `"time":"TIME"`)
	s = imageID.ReplaceAllString(s, "sha256:IMAGEID")
	return columnGap.ReplaceAllString(s, "  ")
}
