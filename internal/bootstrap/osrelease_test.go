package bootstrap

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		fixture string
		want    Installer
		// unsupported: the error must name the OS and say what to do.
		unsupported string
	}{
		{fixture: "debian-12", want: Installer{OS: "Debian GNU/Linux 12 (bookworm)", Manager: "apt", Package: "docker.io"}},
		{fixture: "ubuntu-24.04", want: Installer{OS: "Ubuntu 24.04.1 LTS", Manager: "apt", Package: "docker.io"}},
		{fixture: "amzn-2023", want: Installer{OS: "Amazon Linux 2023.6.20241121", Manager: "dnf", Package: "docker"}},
		{fixture: "amzn-2", want: Installer{OS: "Amazon Linux 2", Manager: "yum", Package: "docker"}},
		{fixture: "fedora-40", want: Installer{OS: "Fedora Linux 40 (Cloud Edition)", Manager: "dnf", Package: "moby-engine"}},
		{fixture: "rhel-9", unsupported: "docker-ce"},
		{fixture: "alpine-3.20", unsupported: "install Docker Engine by hand"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join("testdata", "os-release", tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Detect(string(text))
			if tt.unsupported == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Detect = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Fatalf("Detect = %+v, %v; want an UnsupportedError", got, err)
			}
			name := ParseOSRelease(string(text))["PRETTY_NAME"]
			if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), tt.unsupported) {
				t.Errorf("error %q does not name %q and %q", err, name, tt.unsupported)
			}
		})
	}
}

func TestDetectWithoutOSRelease(t *testing.T) {
	_, err := Detect("")
	if err == nil || !strings.Contains(err.Error(), "unknown system") {
		t.Fatalf("Detect(\"\") = %v, want an error naming an unknown system", err)
	}
}

func TestParseOSRelease(t *testing.T) {
	got := ParseOSRelease("# comment\nID=debian\nNAME=\"Debian \\\"GNU\\\"/Linux\"\nVERSION_ID='12'\n\nbroken line\n")
	want := map[string]string{"ID": "debian", "NAME": `Debian "GNU"/Linux`, "VERSION_ID": "12"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
