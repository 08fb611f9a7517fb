package deploy

import "fmt"

// DefaultStateDir holds, per stack, the deploy lock and the stored secrets on
// a host. It is one place for the whole host, whoever logs in: root, a user
// with --sudo, or a member of the docker group (root-equivalent anyway) all
// see the same lock and the same secrets. Directories are root:docker 2770,
// files 0660. Before, state lived in the login user's $HOME/.berth; a deploy
// moves secrets found there.
const DefaultStateDir = "/var/lib/berth"

// stateRoot is the state directory a run uses on its hosts.
func stateRoot(flag string) string {
	if flag != "" {
		return flag
	}
	return DefaultStateDir
}

// StateDirError says the stack's state directory cannot be created or used by
// the user berth logs in as, and how to fix that.
type StateDirError struct {
	Host, Dir, Root, User string
	Missing               bool // the root does not exist and User cannot create it
}

func (e *StateDirError) Error() string {
	if e.Missing {
		return fmt.Sprintf("%s: berth's state directory %s does not exist and %s cannot create it: "+
			"run this deploy once as root or with --sudo (or run berth bootstrap), "+
			"or create it on the host: sudo install -d -m 2770 -g docker %s", e.Host, e.Root, e.User, e.Root)
	}
	return fmt.Sprintf("%s: berth's state directory %s is not writable by %s: "+
		"it must belong to the docker group, which %s must be in: "+
		"sudo chgrp -R docker %s && sudo chmod -R g+rwX %s && sudo find %s -type d -exec chmod g+s {} +",
		e.Host, e.Dir, e.User, e.User, e.Root, e.Root, e.Root)
}

// checkStateDir turns an unusable state directory into a StateDirError. An
// absent one is fine for a run that only reads.
func checkStateDir(host, root string, st *State) error {
	switch st.DirState {
	case dirPresent, dirCreated, dirAbsent:
		return nil
	case dirMissing:
		return &StateDirError{Host: host, Dir: st.Dir, Root: root, User: st.LoginUser, Missing: true}
	case dirDenied:
		return &StateDirError{Host: host, Dir: st.Dir, Root: root, User: st.LoginUser}
	}
	return fmt.Errorf("%s: the host reported an unknown state for %s: %q", host, st.Dir, st.DirState)
}
