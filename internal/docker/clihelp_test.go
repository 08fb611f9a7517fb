package docker

import "testing"

func TestTrimCLIHelp(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"run error with hint", "docker: Error response from daemon: driver failed programming external connectivity: port is already allocated.\nSee 'docker run --help'.\n",
			"docker: Error response from daemon: driver failed programming external connectivity: port is already allocated."},
		{"usage block", "\"docker rename\" requires exactly 2 arguments.\nSee 'docker rename --help'.\n\nUsage:  docker rename CONTAINER NEW_NAME\n\nRename a container\n",
			"\"docker rename\" requires exactly 2 arguments."},
		{"docker 20.10 run error", "docker: Error response from daemon: driver failed programming external connectivity on endpoint web (6d05): Error starting userland proxy: listen tcp4 127.0.0.1:45331: bind: address already in use\n\nRun 'docker run --help' for more information\n",
			"docker: Error response from daemon: driver failed programming external connectivity on endpoint web (6d05): Error starting userland proxy: listen tcp4 127.0.0.1:45331: bind: address already in use"},
		{"usage without hint", "unknown flag: --bogus\nUsage:  docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n", "unknown flag: --bogus"},
		{"plain error kept whole", "Error: No such container: web\n", "Error: No such container: web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TrimCLIHelp(tt.in); got != tt.want {
				t.Errorf("TrimCLIHelp = %q, want %q", got, tt.want)
			}
		})
	}
}
