package deploy

import (
	"testing"

	"github.com/berth-sh/berth/playbooks"
)

func TestPublishesReadyPort(t *testing.T) {
	ports := []playbooks.Port{{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, {HostPort: 80, ContainerPort: 80}}
	tests := []struct {
		name  string
		ready *playbooks.Ready
		ports []playbooks.Port
		want  bool
	}{
		{"explicit port published", &playbooks.Ready{HTTP: "http://127.0.0.1:8080/"}, ports, true},
		{"default http port published", &playbooks.Ready{HTTP: "http://127.0.0.1/"}, ports, true},
		{"port not published (the failed version moved it)", &playbooks.Ready{HTTP: "http://127.0.0.1:9090/"}, ports, false},
		{"https default not published", &playbooks.Ready{HTTP: "https://127.0.0.1/"}, ports, false},
		{"no probe", nil, ports, false},
		{"nothing published", &playbooks.Ready{HTTP: "http://127.0.0.1:8080/"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := publishesReadyPort(&playbooks.Container{Ready: tt.ready}, tt.ports); got != tt.want {
				t.Errorf("publishesReadyPort = %v, want %v", got, tt.want)
			}
		})
	}
}
