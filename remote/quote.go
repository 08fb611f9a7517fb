package remote

import (
	"errors"
	"strings"
)

// ErrNUL is returned for an argument containing a NUL byte: no shell can carry it.
var ErrNUL = errors.New("argument contains a NUL byte")

// Quote turns an argv into shell text for a POSIX shell. It is the only place
// in berth where data becomes shell text. Words made only of allowlisted
// characters pass as they are; anything else is single-quoted, with embedded
// single quotes written as quote, backslash-quote, quote.
func Quote(args []string) (string, error) {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		q, err := QuoteWord(a)
		if err != nil {
			return "", err
		}
		b.WriteString(q)
	}
	return b.String(), nil
}

// QuoteWord quotes one argument.
func QuoteWord(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", ErrNUL
	}
	if s == "" {
		return "''", nil
	}
	if isSafe(s) {
		return s, nil
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", nil
}

// isSafe reports whether every byte of s is one that no POSIX shell treats
// specially in any position of a word. '=' is left out: as the first word,
// A=b is an assignment, not a command.
func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '/' || c == ':' || c == ',' || c == '+' || c == '@' || c == '%':
		default:
			return false
		}
	}
	return true
}
