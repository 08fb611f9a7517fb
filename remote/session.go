package remote

import (
	"strconv"
	"strings"
)

// sessionCommand is the only text berth ever gives sshd as a command, and so
// the only text the user's login shell (sh, bash, fish, tcsh, ...) parses. It
// is a constant that every shell reads the same way: one line, one
// single-quoted word holding no quote, backslash or '!', handed to /bin/sh.
// That sh reads the real command from the session's stdin: a line with a
// count k, then k lines, joined with newlines and run by eval. read takes
// stdin one byte at a time from a pipe, so whatever follows the header stays
// on stdin for the command itself. The command is argv quoted by Quote, so
// user data is only ever parsed by /bin/sh, as a quoted word.
const sessionCommand = `exec /bin/sh -c 'N=$(echo;echo .);N=${N%.};IFS= read -r k||exit 125;c=;while [ "$k" -gt 0 ];do IFS= read -r l||exit 125;c=$c$l$N;k=$((k-1));done;eval "$c"'`

// sessionHeader is what sessionCommand reads from stdin before the
// command's own input: argv quoted, run with exec so the command replaces the
// shell and a kill reaches it.
func sessionHeader(args []string) ([]byte, error) {
	line, err := Quote(args)
	if err != nil {
		return nil, err
	}
	lines := strings.Split("exec "+line, "\n")
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(lines)))
	b.WriteByte('\n')
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}
