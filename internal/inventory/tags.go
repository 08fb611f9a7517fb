package inventory

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// VarTagPrefix marks EC2 tags that carry per-host playbook vars:
// berth:var:domain=blog.example.com sets the var domain on that host.
const VarTagPrefix = "berth:var:"

// TagFilter is one Key=Value tag condition.
type TagFilter struct {
	Key, Value string
}

// ParseTagFilters parses --ec2-tag values of the form Key=Value. The value may
// be empty ("Key=") and may contain "=", and EC2's * and ? wildcards.
func ParseTagFilters(tags []string) ([]TagFilter, error) {
	out := make([]TagFilter, 0, len(tags))
	for _, s := range tags {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("parse tag filter %q: want Key=Value", s)
		}
		if strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("parse tag filter %q: empty key", s)
		}
		if k != strings.TrimSpace(k) {
			return nil, fmt.Errorf("parse tag filter %q: key has leading or trailing spaces", s)
		}
		out = append(out, TagFilter{Key: k, Value: v})
	}
	return out, nil
}

// ec2Filters makes one EC2 filter per tag, which EC2 ANDs.
func ec2Filters(tags []TagFilter, states []string) []types.Filter {
	fs := make([]types.Filter, 0, len(tags)+1)
	for _, t := range tags {
		fs = append(fs, types.Filter{Name: aws.String("tag:" + t.Key), Values: []string{t.Value}})
	}
	return append(fs, types.Filter{Name: aws.String("instance-state-name"), Values: states})
}

func describeFilters(fs []types.Filter) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, aws.ToString(f.Name)+"="+strings.Join(f.Values, ","))
	}
	return strings.Join(parts, " AND ")
}
