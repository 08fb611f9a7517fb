package bootstrap

import (
	"reflect"
	"testing"
)

func TestProbeReady(t *testing.T) {
	const readyOut = "### os-release\nID=debian\n### uid\n1000\n### user\ndeploy\n### docker\nrunning 24.0.5\n### enabled\nenabled\n### group\nmember\n### state\nroot:docker 2770\n"
	tests := []struct {
		name      string
		change    func(*probe)
		wantReady bool
	}{
		{"ready", func(*probe) {}, true},
		{"root without systemd", func(p *probe) { p.group, p.enabled = "root", "n/a" }, true},
		{"no docker", func(p *probe) { p.docker = "missing" }, false},
		{"daemon down", func(p *probe) { p.docker = "down" }, false},
		{"socket denied", func(p *probe) { p.docker = "denied" }, false},
		{"not enabled at boot", func(p *probe) { p.enabled = "disabled" }, false},
		{"not in the docker group", func(p *probe) { p.group = "no" }, false},
		{"no state directory", func(p *probe) { p.state = "missing" }, false},
		{"state directory too open", func(p *probe) { p.state = "root:docker 2777" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parseProbe(readyOut)
			tt.change(&p)
			version, ready := p.ready()
			if ready != tt.wantReady {
				t.Fatalf("ready = %v, want %v (%+v)", ready, tt.wantReady, p)
			}
			if ready && version != "24.0.5" {
				t.Errorf("version %q", version)
			}
		})
	}
}

func TestParseProbe(t *testing.T) {
	got := parseProbe("### os-release\nID=debian\nVERSION_ID=\"12\"\n### uid\n0\n### user\nadmin\n### docker\nmissing\n### enabled\nn/a\n### group\nno\n### state\nmissing\n")
	want := probe{osRelease: "ID=debian\nVERSION_ID=\"12\"\n", root: true, user: "admin", docker: "missing", enabled: "n/a", group: "no", state: "missing"}
	if got != want {
		t.Errorf("parseProbe = %+v, want %+v", got, want)
	}
}

func TestParseInstall(t *testing.T) {
	changes, version := parseInstall("changed installed docker.io with apt\nchanged made /var/lib/berth\n### version\n20.10.24\n")
	if want := []string{"installed docker.io with apt", "made /var/lib/berth"}; !reflect.DeepEqual(changes, want) || version != "20.10.24" {
		t.Errorf("parseInstall = %q, %q", changes, version)
	}
}
