package ui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// allEvents lists one value of every event type, for the documentation check.
func allEvents() []Event {
	return []Event{Progress{}, Warning{}, Plan{}, Action{}, Wait{}, Lock{}, DNS{}, Status{},
		Summary{}, RunSummary{}, Bootstrap{}, Backup{}, Restore{}, Unlock{}, Pruned{}, Transfer{}, Move{}}
}

// TestEventsDocumented: docs/EVENTS.md names every event type and every
// field the JSON stream carries, and nothing else.
func TestEventsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/EVENTS.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := docFields(string(doc))
	inCode := map[string][]string{}
	for _, e := range allEvents() {
		inCode[e.EventType()] = jsonFields(reflect.TypeOf(e), "")
	}
	for typ, fields := range inCode {
		got, ok := documented[typ]
		if !ok {
			t.Errorf("event %q is not in docs/EVENTS.md", typ)
			continue
		}
		for _, f := range fields {
			if !slices.Contains(got, f) {
				t.Errorf("event %q: field %q is not in docs/EVENTS.md", typ, f)
			}
		}
		for _, f := range got {
			if !slices.Contains(fields, f) {
				t.Errorf("event %q: docs/EVENTS.md has field %q, which the code does not", typ, f)
			}
		}
	}
	for typ := range documented {
		if _, ok := inCode[typ]; !ok {
			t.Errorf("docs/EVENTS.md documents event %q, which the code does not have", typ)
		}
	}
}

var (
	docHeading = regexp.MustCompile("^## `([a-z_]+)`")
	docField   = regexp.MustCompile("^\\| `([a-z_.\\[\\]]+)`")
)

// docFields reads, per "## `type`" section, the fields its table names.
func docFields(doc string) map[string][]string {
	m := map[string][]string{}
	typ := ""
	for _, line := range strings.Split(doc, "\n") {
		if h := docHeading.FindStringSubmatch(line); h != nil {
			typ = h[1]
			m[typ] = nil
			continue
		}
		if strings.HasPrefix(line, "## ") {
			typ = ""
		}
		if f := docField.FindStringSubmatch(line); f != nil && typ != "" {
			m[typ] = append(m[typ], f[1])
		}
	}
	return m
}

// jsonFields lists the JSON names of t's fields, nested ones as
// parent[].child or parent.child.
func jsonFields(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, prefix+name)
		ft := f.Type
		sep := "."
		if ft.Kind() == reflect.Slice {
			ft, sep = ft.Elem(), "[]."
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Time{}) {
			out = append(out, jsonFields(ft, prefix+name+sep)...)
		}
	}
	return out
}

// TestEventsListsEveryType: allEvents, which the documentation check walks,
// has every type of the package that is an event.
func TestEventsListsEveryType(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, e := range allEvents() {
		listed[reflect.TypeOf(e).Name()] = true
	}
	for _, f := range pkgs["ui"].Files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "EventType" || fn.Recv == nil {
				continue
			}
			if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok && !listed[id.Name] {
				t.Errorf("%s is an event but not in allEvents()", id.Name)
			}
		}
	}
}
