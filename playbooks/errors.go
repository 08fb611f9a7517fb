package playbooks

import (
	"fmt"
	"regexp"
	"slices"
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
var yamlLineRe = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parserProblems start yaml.v3's parser (not scanner) errors. yaml.v3 prints
// their 0-based mark as the line, and no line at all for the first line; its
// scanner errors are already 1-based.
var parserProblems = []string{"did not find expected", "found duplicate", "found undefined tag", "found incompatible"}

// tabProblem is the scanner error whose line is where the scalar before the
// tab started, not the tab's line.
const tabProblem = "found a tab character"

// SyntaxError turns a yaml.v3 error about data into an Error naming the file,
// at the line the problem is on. berth.yaml's errors use it too.
func SyntaxError(file string, data []byte, err error) *Error {
	m := yamlLineRe.FindStringSubmatch(err.Error())
	if m == nil {
		line, col := unlinedPosition(data)
		return &Error{File: file, Line: line, Col: col, Msg: err.Error()}
	}
	line, _ := strconv.Atoi(m[1]) // 0 when the message has no line
	msg := m[2]
	switch {
	case slices.ContainsFunc(parserProblems, func(p string) bool { return strings.HasPrefix(msg, p) }):
		line++
	case strings.HasPrefix(msg, tabProblem):
		line = tabLine(data, line)
	case m[1] == "":
		line, col := unlinedPosition(data)
		return &Error{File: file, Line: line, Col: col, Msg: msg}
	}
	return &Error{File: file, Line: line, Msg: msg}
}

// tabLine finds the first line from line on whose indentation holds a tab.
func tabLine(data []byte, line int) int {
	lines := strings.Split(string(data), "\n")
	for i := max(line-1, 0); i < len(lines); i++ {
		indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
		if strings.Contains(indent, "\t") {
			return i + 1
		}
	}
	return line
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
