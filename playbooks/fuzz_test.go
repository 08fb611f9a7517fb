package playbooks

import (
	"errors"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the playbook parser: it must never panic
// or hang, and every error it returns must be an Errors whose entries name
// the file and, when the input had a line to point at, the line.
func FuzzParse(f *testing.F) {
	f.Add([]byte(base))
	if src, err := Source("wordpress"); err == nil {
		f.Add(src)
	}
	f.Add([]byte("name: x\nvars: {a: '{{ .b }}'}\ncontainers: [{name: c, image: '{{ .a }}'}]\n"))
	f.Add([]byte("name: x\ncontainers:\n  - name: c\n    image: \"{{ range 3 }}x{{ end }}\"\n"))
	f.Add([]byte("name: [\n"))
	f.Add([]byte("\tname: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pb, err := Parse("fuzz.yaml", data, nil)
		if err == nil {
			if pb == nil {
				t.Fatal("nil playbook and nil error")
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error is not a non-empty Errors: %T %v", err, err)
		}
		for _, e := range errs {
			if e.File != "fuzz.yaml" {
				t.Errorf("error without the file name: %v", e)
			}
			if e.Line == 0 && e.Msg != "empty playbook" && len(data) > 0 {
				t.Errorf("error without a line: %v", e)
			}
		}
	})
}
