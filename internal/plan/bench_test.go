package plan

import (
	"fmt"
	"testing"
	"time"

	"github.com/berth-sh/berth/playbooks"
)

// bigPlaybook is a 50-container stack: each container depends on the previous
// one and carries the env, ports and volumes of a realistic service.
func bigPlaybook() *playbooks.Playbook {
	pb := &playbooks.Playbook{Name: "big", Networks: []playbooks.Network{{Name: "net", Driver: "bridge"}}}
	for i := range 50 {
		vol := fmt.Sprintf("data-%d", i)
		pb.Volumes = append(pb.Volumes, playbooks.Volume{Name: vol})
		c := playbooks.Container{
			Name: fmt.Sprintf("svc-%d", i), Image: fmt.Sprintf("registry.example.com/svc-%d:1.2.3", i),
			Networks: []string{"net"}, Ports: []string{fmt.Sprintf("%d:8080", 10000+i)},
			Volumes: []string{vol + ":/data"}, Restart: "unless-stopped",
			Env:       map[string]string{"LOG_LEVEL": "info", "PORT": "8080", "NAME": fmt.Sprint(i), "REGION": "eu-west-1"},
			SecretEnv: map[string]string{"API_KEY": "api_key"},
			Health:    &playbooks.Health{Cmd: []string{"/healthz"}, Interval: 5 * time.Second, Retries: 30},
		}
		if i > 0 {
			c.DependsOn = []string{fmt.Sprintf("svc-%d", i-1)}
		}
		pb.Containers = append(pb.Containers, c)
	}
	return pb
}

func BenchmarkCompute(b *testing.B) {
	for _, tc := range []struct {
		name string
		pb   *playbooks.Playbook
	}{{"wordpress", wordpress(b)}, {"50-containers", bigPlaybook()}} {
		obs := deployed(b, tc.pb.Name, tc.pb)
		b.Run(tc.name+"/in-sync", func(b *testing.B) {
			for b.Loop() {
				if p := Compute(tc.pb.Name, tc.pb, obs, Options{Secrets: testDigests}); !p.InSync() {
					b.Fatal("not in sync")
				}
			}
		})
		b.Run(tc.name+"/empty-host", func(b *testing.B) {
			for b.Loop() {
				Compute(tc.pb.Name, tc.pb, nil, Options{Secrets: testDigests})
			}
		})
	}
}
