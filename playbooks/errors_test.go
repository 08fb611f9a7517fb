package playbooks

import (
	"errors"
	"testing"
)

// TestSyntaxErrorLines: a YAML syntax error names the line the problem is on
// (yaml.v3 alone says the line before for several of them).
func TestSyntaxErrorLines(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
	}{
		{"unclosed [", "name: a\nvars:\n  x: \"1\"\n  y: \"2\"\n  z: [1, 2\n", 5},
		{"unclosed {", "name: a\nvars:\n  x: \"1\"\n  z: {a: 1\n", 4},
		{"tab in indentation", "name: a\nvars:\n  x: one\n\ty: two\n", 4},
		{"stray list item", "name: a\nvars:\n  x: \"1\"\n- y\n", 4},
		{"stray }", "name: a\nvars:\n  x: \"1\"\nd: }\n", 4},
		{"problem on line 1", "]\n", 1},
		{"mapping in a scalar", "name: a\nvars: 1\n  x: 2\n", 3},
		{"unclosed quote", "name: a\nvars:\n  x: 'abc\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("demo.yaml", []byte(tt.src), nil)
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("error %v, want one syntax error", err)
			}
			if es[0].Line != tt.line {
				t.Errorf("%v: line %d, want %d", es[0], es[0].Line, tt.line)
			}
		})
	}
}
