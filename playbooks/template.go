package playbooks

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

// BuiltinVars lists the vars that are always defined (empty unless set),
// because berth's own flags feed them: --domain sets domain.
func BuiltinVars() []string { return []string{"domain"} }

func isBuiltinVar(name string) bool { return slices.Contains(BuiltinVars(), name) }

// missingKeyRe extracts the var name from text/template's missingkey=error message.
var missingKeyRe = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

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
	var b strings.Builder
	if err := t.Execute(&b, d.vars); err != nil {
		if m := missingKeyRe.FindStringSubmatch(err.Error()); m != nil {
			d.errorf(n, "%s: undefined var %q in template (defined: %s)", path, m[1], strings.Join(sortedKeys(d.vars), ", "))
		} else {
			d.errorf(n, "%s: template: %s", path, trimTemplateErr(err))
		}
		return s
	}
	return b.String()
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
