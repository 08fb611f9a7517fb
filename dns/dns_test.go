package dns

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "Blog.Example.COM", want: "blog.example.com."},
		{in: "blog.example.com.", want: "blog.example.com."},
		{in: "*.example.com", want: "*.example.com."},
		{in: `\052.example.com.`, want: "*.example.com."},
		{in: "_acme.example.com", want: "_acme.example.com."},
		{in: "", wantErr: true},
		{in: ".", wantErr: true},
		{in: "localhost", wantErr: true},
		{in: "a..example.com", wantErr: true},
		{in: "-a.example.com", wantErr: true},
		{in: "a.*.example.com", wantErr: true},
		{in: "bad name.example.com", wantErr: true},
		{in: "blog.example.com;rm", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := NormalizeName(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("NormalizeName(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNormalizeIPv4(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr bool
	}{
		{name: "sorted numerically and deduplicated", in: []string{"10.0.0.10", "9.9.9.9", "10.0.0.9", "9.9.9.9"}, want: []string{"9.9.9.9", "10.0.0.9", "10.0.0.10"}},
		{name: "one", in: []string{"1.2.3.4"}, want: []string{"1.2.3.4"}},
		{name: "none", in: nil, wantErr: true},
		{name: "ipv6", in: []string{"::1"}, wantErr: true},
		{name: "mapped ipv6", in: []string{"::ffff:1.2.3.4"}, wantErr: true},
		{name: "hostname", in: []string{"example.com"}, wantErr: true},
		{name: "garbage", in: []string{"1.2.3"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeIPv4(tt.in)
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("NormalizeIPv4(%v) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCheckHostname(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{in: "web1"},
		{in: "Web-1.Example.com."},
		{in: "db_1.internal"},
		{in: "10.0.0.5"},
		{in: "", wantErr: true},
		{in: ".", wantErr: true},
		{in: "a..b", wantErr: true},
		{in: "-a.b", wantErr: true},
		{in: "a-.b", wantErr: true},
		{in: strings.Repeat("a", 64) + ".b", wantErr: true},
		{in: strings.Repeat("a.", 127) + "ab", wantErr: true},
		{in: "*.example.com", wantErr: true},
		{in: "a b", wantErr: true},
		{in: "a;b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if err := CheckHostname(tt.in); (err != nil) != tt.wantErr {
				t.Errorf("CheckHostname(%q) = %v, want error %v", tt.in, err, tt.wantErr)
			}
		})
	}
}
