package inventory

import (
	"strings"
	"testing"
)

// FuzzParseHost checks that any --host value either parses into a target
// that survives a round trip through its SSH form and cannot be read as an
// ssh option, or is refused with an error that names the input.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"example.com", "ubuntu@1.2.3.4:2222", "[::1]:22", "me@::1", "a@b@c", "host:022", "-oProxyCommand=x", "[fe80::1%eth0]:22"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseHost(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "parse host") {
				t.Fatalf("ParseHost(%q) error does not say what failed: %v", s, err)
			}
			return
		}
		dest := tg.SSHTarget()
		if strings.HasPrefix(dest, "-") || strings.ContainsAny(dest, " \t\n\r;|&$`'\"\\<>(){}*?!#~") {
			t.Fatalf("ParseHost(%q) accepted %q, which ssh or a shell could misread", s, dest)
		}
		again, err := ParseHost(dest)
		if err != nil {
			t.Fatalf("ParseHost(%q) gave %q, which does not parse: %v", s, dest, err)
		}
		if again.User != tg.User || again.Addr != tg.Addr || again.Port != tg.Port {
			t.Fatalf("round trip of %q: %+v then %+v", s, tg, again)
		}
	})
}
