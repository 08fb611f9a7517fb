package playbooks

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"gopkg.in/yaml.v3"
)

// BuiltinVars lists the vars that are always defined (empty unless set),
// because berth's own flags feed them: --domain sets domain.
func BuiltinVars() []string { return []string{"domain"} }

func isBuiltinVar(name string) bool { return slices.Contains(BuiltinVars(), name) }

// missingKeyRe extracts the var name from text/template's missingkey=error message.
var missingKeyRe = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

// MaxTemplateOutput bounds what a playbook's templates may produce in total:
// real values are a few bytes each, and a template like {{ printf "%999999d" 0 }}
// repeated would otherwise grow without limit.
const MaxTemplateOutput = 1 << 20

// errTemplateOutput stops a rendering that went past the decoder's budget.
var errTemplateOutput = fmt.Errorf("template output exceeds %d bytes, berth's limit for a playbook", MaxTemplateOutput)

// template expands s with the playbook's vars. Scalars without "{{" skip the
// template engine: most values are literal and parsing costs.
func (d *decoder) template(n *yaml.Node, path, s string, tmpl bool) string {
	if !tmpl || d.vars == nil || !strings.Contains(s, "{{") {
		return s
	}
	t, err := template.New(path).Option("missingkey=error").Parse(s)
	if err != nil {
		d.errorf(n, "%s: bad template: %s", path, trimTemplateErr(err))
		return s
	}
	if err := bounded(t); err != nil {
		d.errorf(n, "%s: bad template: %v", path, err)
		return s
	}
	b := &limitedBuilder{left: &d.templateBudget}
	if err := t.Execute(b, d.vars); err != nil {
		switch m := missingKeyRe.FindStringSubmatch(err.Error()); {
		case errors.Is(err, errTemplateOutput):
			d.errorf(n, "%s: %v", path, errTemplateOutput)
		case m != nil:
			d.errorf(n, "%s: undefined var %q in template (defined: %s)", path, m[1], strings.Join(sortedKeys(d.vars), ", "))
		default:
			d.errorf(n, "%s: template: %s", path, trimTemplateErr(err))
		}
		return s
	}
	return b.String()
}

// bounded refuses the constructs whose running time does not follow from the
// template's size: range (over a number it loops as often as the number says,
// and nested ranges multiply) and template calls (which can recurse). What is
// left runs in time linear in the template, and its output is capped.
func bounded(t *template.Template) error {
	if len(t.Templates()) > 1 {
		return errors.New("define and block are not supported in playbook templates")
	}
	var walk func(parse.Node) error
	walk = func(n parse.Node) error {
		switch n := n.(type) {
		case *parse.RangeNode:
			return errors.New("range is not supported in playbook templates")
		case *parse.TemplateNode:
			return errors.New("template is not supported in playbook templates")
		case *parse.ListNode:
			if n == nil {
				return nil
			}
			for _, c := range n.Nodes {
				if err := walk(c); err != nil {
					return err
				}
			}
		case *parse.IfNode:
			return errors.Join(walk(n.List), walk(n.ElseList))
		case *parse.WithNode:
			return errors.Join(walk(n.List), walk(n.ElseList))
		}
		return nil
	}
	return walk(t.Root)
}

// limitedBuilder collects output until the shared budget left runs out.
type limitedBuilder struct {
	strings.Builder
	left *int
}

func (b *limitedBuilder) Write(p []byte) (int, error) {
	if len(p) > *b.left {
		*b.left = 0
		return 0, errTemplateOutput
	}
	*b.left -= len(p)
	return b.Builder.Write(p)
}

// trimTemplateErr drops text/template's "template: NAME:1:2: " prefix: the
// error is already located by the node.
func trimTemplateErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "template: ") {
		return msg[i+2:]
	}
	return msg
}

// effectiveVars merges defaults, built-ins and overrides; overriding a var the
// playbook does not declare is an error, as it is almost always a typo.
func effectiveVars(file string, defaults, overrides map[string]string) (map[string]string, Errors) {
	vars := map[string]string{}
	for _, b := range BuiltinVars() {
		vars[b] = ""
	}
	for k, v := range defaults {
		vars[k] = v
	}
	var errs Errors
	for _, k := range sortedKeys(overrides) {
		if _, declared := defaults[k]; !declared && !isBuiltinVar(k) {
			errs = append(errs, &Error{File: file, Msg: fmt.Sprintf(
				"--var %s: the playbook declares no var %q (declared: %s)", k, k, declaredList(defaults))})
			continue
		}
		vars[k] = overrides[k]
	}
	return vars, errs
}

func declaredList(defaults map[string]string) string {
	if len(defaults) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(defaults), ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
