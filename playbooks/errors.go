package playbooks

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is one problem in a playbook, located where the user can fix it.
type Error struct {
	File string
	Line int // 0 when the problem has no single position
	Col  int
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

// Errors collects every problem found, so one run shows them all.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// yamlLineRe matches yaml.v3 syntax errors, which carry a line but no file.
var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 error into an Error naming the file.
func syntaxError(file string, data []byte, err error) *Error {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Msg: m[2]}
	}
	line, col := unlinedPosition(data)
	return &Error{File: file, Line: line, Col: col, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// unlinedPosition locates a yaml.v3 error that came without a line: yaml.v3
// omits the line when it is the first one, and for reader errors (invalid
// UTF-8, characters YAML forbids), which it locates only by byte offset. The
// first such character is where the reader stopped; otherwise it is line 1.
func unlinedPosition(data []byte) (line, col int) {
	line, col = 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 || !yamlPrintable(r) {
			return line, col
		}
		col++
		if r == '\n' {
			line, col = line+1, 1
		}
		data = data[size:]
	}
	return 1, 0
}

// yamlPrintable is YAML 1.2's c-printable set, the characters a stream may hold.
func yamlPrintable(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0x7e || r == 0x85 ||
		r >= 0xa0 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff
}
