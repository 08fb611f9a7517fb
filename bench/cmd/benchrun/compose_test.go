package main

import (
	"os"
	"strings"
	"testing"
)

func TestDropHealth(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "block between siblings",
			in:   "  db:\n    image: x\n    healthcheck:\n      test: [CMD, a]\n\n      retries: 3\n    restart: always\n  web:\n",
			want: "  db:\n    image: x\n    restart: always\n  web:\n",
		},
		{
			name: "depends_on waits for start only",
			in:   "    depends_on:\n      db:\n        condition: service_healthy\n",
			want: "    depends_on:\n      db:\n        condition: service_started\n",
		},
		{
			name: "block at the end",
			in:   "    healthcheck:\n      interval: 1s\nvolumes:\n",
			want: "volumes:\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dropHealth(tt.in); got != tt.want {
				t.Errorf("dropHealth:\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// The shipped compose file loses every health check and keeps both services.
func TestDropHealthComposeFile(t *testing.T) {
	src, err := os.ReadFile("../../compose/docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	got := dropHealth(string(src))
	for _, gone := range []string{"    healthcheck:", "condition: service_healthy", "/healthz"} {
		if strings.Contains(got, gone) {
			t.Errorf("variant still has %q", gone)
		}
	}
	for _, kept := range []string{"  db:\n", "  web:\n", "condition: service_started", "restart: unless-stopped", "name: ${PREFIX}net"} {
		if !strings.Contains(got, kept) {
			t.Errorf("variant lost %q", kept)
		}
	}
}

func TestComposeChanges(t *testing.T) {
	out := "Creating network \"p-net\" with driver \"bridge\"\nCreating volume \"p-db-data\" with default driver\nCreating p-db ... \nCreating p-db ... done\np-web is up-to-date\nRecreating p-web ... \n"
	if got := len(composeChangeRE.FindAll([]byte(out), -1)); got != 5 {
		t.Errorf("changes = %d, want 5", got)
	}
	if got := len(composeChangeRE.FindAll([]byte("p-db is up-to-date\np-web is up-to-date\n"), -1)); got != 0 {
		t.Errorf("no-op output counted %d changes", got)
	}
}
