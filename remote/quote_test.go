package remote

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// hostileArgs are words that would do damage if they reached a shell unquoted.
var hostileArgs = []string{
	"$(reboot)", "`reboot`", "${PATH}", "$HOME", "$0", "$@",
	"'", `"`, "it's", `"quoted"`, `'single'`, `a'b"c`, `\`, `a\'b`, `\\n`,
	"a\nb", "\n", "\r", "\t", "tab\there", " ", "  two  spaces  ",
	";", "|", "&", "&&", "<", ">", ">>", "*", "?", "~", "~root", "#", "#comment", "a;b|c&d<e>f*g?h~i#j",
	"!", "!!", "{a,b}", "[abc]", "(x)", "a=b", "=", "%s", "%", "^",
	"héllo wörld", "日本語", "\x01\x7f", "\xff\xfe",
	"", "-n", "-e", "--", "--help", "-",
}

// shRoundTrip runs args, quoted by Quote, through a real /bin/sh and returns
// the argv the shell saw. A leading marker keeps printf from seeing no args.
func shRoundTrip(t testing.TB, args []string) []string {
	t.Helper()
	q, err := Quote(append([]string{"marker"}, args...))
	if err != nil {
		t.Fatalf("Quote(%q): %v", args, err)
	}
	// A timeout turns a hung shell into a failure that names the input.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/bin/sh", "-c", `printf '%s\0' `+q).Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", q, err)
	}
	got := strings.Split(string(out), "\x00")
	if len(got) < 2 || got[0] != "marker" || got[len(got)-1] != "" {
		t.Fatalf("sh -c %q printed %q", q, out)
	}
	return got[1 : len(got)-1]
}

func TestQuoteRoundTripSh(t *testing.T) {
	for _, a := range hostileArgs {
		t.Run(strings.ToValidUTF8(a, "?"), func(t *testing.T) {
			got := shRoundTrip(t, []string{a})
			if len(got) != 1 || got[0] != a {
				t.Fatalf("sent %q, shell saw %q", a, got)
			}
		})
	}
	t.Run("all at once", func(t *testing.T) {
		got := shRoundTrip(t, hostileArgs)
		if strings.Join(got, "\x00") != strings.Join(hostileArgs, "\x00") {
			t.Fatalf("sent %q\nshell saw %q", hostileArgs, got)
		}
	})
}

func TestQuoteWord(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"/usr/bin/docker", "/usr/bin/docker"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"a=b", "'a=b'"},
		{"$(x)", "'$(x)'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := QuoteWord(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("QuoteWord(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestQuoteRejectsNUL(t *testing.T) {
	for _, args := range [][]string{{"a\x00b"}, {"ok", "\x00"}, {"x\x00"}} {
		if q, err := Quote(args); !errors.Is(err, ErrNUL) {
			t.Errorf("Quote(%q) = %q, %v; want ErrNUL", args, q, err)
		}
	}
}

func FuzzQuote(f *testing.F) {
	for _, a := range hostileArgs {
		f.Add(a, "x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		args := []string{a, b}
		if strings.IndexByte(a+b, 0) >= 0 {
			if _, err := Quote(args); !errors.Is(err, ErrNUL) {
				t.Fatalf("Quote(%q) accepted a NUL byte", args)
			}
			return
		}
		got := shRoundTrip(t, args)
		if len(got) != 2 || got[0] != a || got[1] != b {
			t.Fatalf("sent %q, shell saw %q", args, got)
		}
	})
}
