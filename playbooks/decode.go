package playbooks

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/berth-sh/berth/internal/suggest"
)

// position is a node's place in the file, kept so validation, which runs after
// decoding, can still point at the offending line.
type position struct{ line, col int }

// decoder turns yaml.v3 nodes into the schema structs strictly: unknown keys,
// duplicate keys and wrong types are errors, each at its node. encoding/yaml's
// KnownFields would stop at the first error and loses positions of values, so
// the walk is done here.
type decoder struct {
	file string
	errs Errors
	// vars is the template data; nil turns templating off (used for vars: itself).
	vars map[string]string
	// pos maps a field path such as containers[1].ports[0] to its value node;
	// a map key's own node is stored under path + "#".
	pos map[string]position
	// templateBudget is how many bytes templates may still produce.
	templateBudget int
}

func newDecoder(file string, vars map[string]string) *decoder {
	return &decoder{file: file, vars: vars, pos: map[string]position{}, templateBudget: MaxTemplateOutput}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	e := &Error{File: d.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// rawKey reports whether values under key are taken literally: var defaults
// would otherwise template themselves, and secret names are identifiers, not text.
func rawKey(key string) bool {
	return key == "vars" || key == "secrets" || key == "secret_env"
}

var durationType = reflect.TypeOf(time.Duration(0))

// decode fills v from n. path names the value in messages and in d.pos.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, tmpl bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.pos[path] = position{n.Line, n.Column}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "health:" with nothing after it: keep the zero value
	}
	if v.Type() == durationType {
		d.decodeDuration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path, tmpl)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, v, path, tmpl)
	case reflect.Map:
		d.decodeMap(n, v, path, tmpl)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, "%s: expected a list, got %s", path, describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), tmpl)
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, "%s: expected a string, got %s", path, describe(n))
			return
		}
		v.SetString(d.template(n, path, n.Value, tmpl))
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || err != nil {
			d.errorf(n, "%s: expected true or false, got %s", path, describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		i, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			d.errorf(n, "%s: expected an integer, got %s", path, describe(n))
			return
		}
		v.SetInt(int64(i))
	default:
		// The schema only uses the kinds above; reaching this is a bug in types.go.
		d.errorf(n, "%s: unsupported field type %s", path, v.Type())
	}
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: expected a duration such as 5s, got %s", path, describe(n))
		return
	}
	if n.Tag == "!!int" {
		d.errorf(n, "%s: duration %s needs a unit, e.g. %ss", path, n.Value, n.Value)
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil || dur < 0 {
		d.errorf(n, "%s: invalid duration %q (use e.g. 5s, 2m)", path, n.Value)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, tmpl bool) {
	kind := strings.ToLower(v.Type().Name())
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping (%s), got %s", orRoot(path), kind, describe(n))
		return
	}
	fields := map[string]int{}
	var names []string
	for i := 0; i < v.NumField(); i++ {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = i
			names = append(names, name)
		}
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.checkKey(k, seen, path) {
			continue
		}
		idx, ok := fields[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown key %q in %s", k.Value, kind)
			if s := suggest.Closest(k.Value, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorf(k, "%s", msg)
			continue
		}
		d.decode(val, v.Field(idx), join(path, k.Value), tmpl && !rawKey(k.Value))
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, tmpl bool) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, got %s", path, describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.checkKey(k, seen, path) {
			continue
		}
		p := join(path, k.Value)
		d.pos[p+"#"] = position{k.Line, k.Column}
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, p, tmpl)
		m.SetMapIndex(reflect.ValueOf(k.Value), e)
	}
	v.Set(m)
}

// checkKey rejects non-string and duplicate keys; yaml.v3 accepts both in a node tree.
func (d *decoder) checkKey(k *yaml.Node, seen map[string]*yaml.Node, path string) bool {
	if k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.Tag != "!!int") {
		d.errorf(k, "%s: keys must be strings, got %s", orRoot(path), describe(k))
		return false
	}
	if prev, dup := seen[k.Value]; dup {
		d.errorf(k, "duplicate key %q (first at line %d)", k.Value, prev.Line)
		return false
	}
	seen[k.Value] = k
	return true
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "playbook"
	}
	return path
}

// describe names a node's type for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "an unsupported node"
}
