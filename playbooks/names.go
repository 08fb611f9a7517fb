package playbooks

import (
	"fmt"
	"strings"
)

// Names berth derives from a playbook live here, so every package agrees on
// them: the stack a deploy runs as, and the name a replaced container is kept
// under.

// backupSuffix marks a container kept (stopped) while its successor starts;
// playbook container names may not end with it.
const backupSuffix = ".berth-old"

// BackupName is the name container is kept under until its successor is ready.
func BackupName(container string) string { return container + backupSuffix }

// BackupOf reports whether name is a backup and, if so, of which container.
func BackupOf(name string) (string, bool) { return strings.CutSuffix(name, backupSuffix) }

// Stack is the stack pb deploys as: override (the --stack flag) when set, else
// the playbook's name. The stack labels every object and names a directory on
// the host, so it obeys Docker's name rules: ".." or "a/b" never reach a path.
func Stack(override string, pb *Playbook) (string, error) {
	if override == "" {
		return pb.Name, nil
	}
	if err := ValidStack(override); err != nil {
		return "", err
	}
	return override, nil
}

// ValidStack checks a stack name given on the command line.
func ValidStack(name string) error {
	if len(name) > maxNameLen || !nameRe.MatchString(name) {
		return fmt.Errorf("invalid stack name %q: use at most %d letters, digits, '_', '.', '-', starting with a letter or digit", name, maxNameLen)
	}
	return nil
}
