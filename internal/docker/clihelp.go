package docker

import "strings"

// TrimCLIHelp keeps what the docker CLI said went wrong and drops the help it
// appends ("Run 'docker run --help' for more information", "See 'docker
// run --help'.", a Usage: block), which in berth's
// output would read as if the user had typed a docker command wrong.
func TrimCLIHelp(out string) string {
	var keep []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "See 'docker") || strings.HasPrefix(t, "Run 'docker") || strings.HasPrefix(t, "Usage:") {
			break
		}
		keep = append(keep, line)
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}
