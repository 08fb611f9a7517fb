package docker

import (
	"sort"
	"strings"
)

// EnvFile renders m in docker's --env-file format, one KEY=value line per
// entry in key order, so the same values always give the same file.
func EnvFile(m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + "\n")
	}
	return []byte(b.String())
}
