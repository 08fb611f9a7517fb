package playbooks

import (
	"cmp"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults filled in when a playbook leaves a field out.
const (
	DefaultNetworkDriver  = "bridge"
	DefaultDNSType        = "A"
	DefaultDNSTTL         = 60
	DefaultReadyTimeout   = 120 * time.Second
	DefaultHealthInterval = 5 * time.Second
	DefaultHealthRetries  = 30
)

// Load reads a playbook by reference: a path (it contains "/" or ends in
// .yaml/.yml) or the name of a built-in playbook.
func Load(ref string, overrides map[string]string) (*Playbook, error) {
	if strings.Contains(ref, "/") || strings.HasSuffix(ref, ".yaml") || strings.HasSuffix(ref, ".yml") {
		data, err := os.ReadFile(ref)
		if err != nil {
			return nil, fmt.Errorf("read playbook: %w", err)
		}
		return Parse(ref, data, overrides)
	}
	data, err := Source(ref)
	if err != nil {
		return nil, err
	}
	return Parse("builtin/"+ref+".yaml", data, overrides)
}

// Parse decodes, templates, defaults and validates a playbook. filename is only
// used in messages. On failure the error is an Errors listing every problem as
// file:line:col: message.
func Parse(filename string, data []byte, overrides map[string]string) (*Playbook, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{SyntaxError(filename, data, err)}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil, Errors{{File: filename, Msg: "empty playbook"}}
	}
	doc := root.Content[0]

	// Vars come first: every other string is a template over them.
	defaults := map[string]string{}
	pre := newDecoder(filename, nil)
	if doc.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(doc.Content); i += 2 {
			if doc.Content[i].Value == "vars" {
				pre.decode(doc.Content[i+1], reflect.ValueOf(&defaults).Elem(), "vars", false)
			}
		}
	}
	vars, errs := effectiveVars(filename, defaults, overrides)

	d := newDecoder(filename, vars)
	var pb Playbook
	d.decode(doc, reflect.ValueOf(&pb).Elem(), "", true)
	errs = append(errs, d.errs...)
	if len(errs) > 0 {
		// Validating a half-decoded playbook would only add echoes of these errors.
		return nil, sortErrors(errs)
	}
	pb.Vars = vars
	applyDefaults(&pb)
	if errs := validate(filename, &pb, d.pos); len(errs) > 0 {
		return nil, sortErrors(errs)
	}
	return &pb, nil
}

func applyDefaults(pb *Playbook) {
	for i := range pb.Networks {
		if pb.Networks[i].Driver == "" {
			pb.Networks[i].Driver = DefaultNetworkDriver
		}
	}
	for i := range pb.Containers {
		c := &pb.Containers[i]
		if h := c.Health; h != nil {
			if h.Interval == 0 {
				h.Interval = DefaultHealthInterval
			}
			if h.Retries == 0 {
				h.Retries = DefaultHealthRetries
			}
		}
		if r := c.Ready; r != nil && r.Timeout == 0 {
			r.Timeout = DefaultReadyTimeout
		}
	}
	if dns := pb.DNS; dns != nil {
		if dns.Type == "" {
			dns.Type = DefaultDNSType
		}
		if dns.TTL == 0 {
			dns.TTL = DefaultDNSTTL
		}
	}
}

// sortErrors orders errors by position so they read top to bottom; errors
// without a position (from --var) come first, as they concern the command line.
func sortErrors(errs Errors) Errors {
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return errs
}
