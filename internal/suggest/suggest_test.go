package suggest

import "testing"

func TestClosest(t *testing.T) {
	known := []string{"deploy", "destroy", "plan", "status", "vars", "image"}
	tests := []struct{ word, want string }{
		{"deplyo", "deploy"}, // a swapped pair is one edit
		{"imgae", "image"},
		{"var", "vars"},
		{"destory", "destroy"},
		{"xyz", ""}, // nothing close
		{"plna", "plan"},
		{"p", ""}, // too short to guess from
	}
	for _, tt := range tests {
		t.Run(tt.word, func(t *testing.T) {
			if got := Closest(tt.word, known); got != tt.want {
				t.Errorf("Closest(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}
