package inventory

import "testing"

func TestParseHost(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantSSH string
		wantErr bool
	}{
		{in: "example.com", want: Target{Name: "example.com", Addr: "example.com"}, wantSSH: "example.com"},
		{in: "ubuntu@1.2.3.4", want: Target{Name: "1.2.3.4", User: "ubuntu", Addr: "1.2.3.4"}, wantSSH: "ubuntu@1.2.3.4"},
		{in: "ec2-user@host.example.com:2222", want: Target{Name: "host.example.com", User: "ec2-user", Addr: "host.example.com", Port: 2222}, wantSSH: "ec2-user@host.example.com:2222"},
		{in: "[::1]:2222", want: Target{Name: "::1", Addr: "::1", Port: 2222}, wantSSH: "[::1]:2222"},
		{in: "root@[2001:db8::1]", want: Target{Name: "2001:db8::1", User: "root", Addr: "2001:db8::1"}, wantSSH: "root@2001:db8::1"},
		{in: "me@::1", want: Target{Name: "::1", User: "me", Addr: "::1"}, wantSSH: "me@::1"},
		{in: "db_1.internal", want: Target{Name: "db_1.internal", Addr: "db_1.internal"}, wantSSH: "db_1.internal"},
		{in: "host:65535", want: Target{Name: "host", Addr: "host", Port: 65535}, wantSSH: "host:65535"},
		{in: "", wantErr: true},
		{in: " host", wantErr: true},
		{in: "host ", wantErr: true},
		{in: "us er@host", wantErr: true},
		{in: "host\tname", wantErr: true},
		{in: "@host", wantErr: true},
		{in: "user@", wantErr: true},
		{in: "a@b@c", wantErr: true},
		{in: "host:", wantErr: true},
		{in: "host:0", wantErr: true},
		{in: "host:65536", wantErr: true},
		{in: "host:22x", wantErr: true},
		{in: "host:+22", wantErr: true},
		{in: "host:022", wantErr: true},
		{in: "host;rm -rf /", wantErr: true},
		{in: "host$(id)", wantErr: true},
		{in: "`id`@host", wantErr: true},
		{in: "host|cat", wantErr: true},
		{in: "host&", wantErr: true},
		{in: "-oProxyCommand=x", wantErr: true},
		{in: "-user@host", wantErr: true},
		{in: "[::1", wantErr: true},
		{in: "[::1]x", wantErr: true},
		{in: "[::1]:", wantErr: true},
		{in: "[1.2.3.4]:22", wantErr: true},
		{in: "[not-ip]:22", wantErr: true},
		{in: "1:2:3", wantErr: true},
		{in: "a..b", wantErr: true},
		{in: "-a.b", wantErr: true},
		{in: "host\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseHost(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseHost(%q) = %+v, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHost(%q): %v", tt.in, err)
			}
			if got.Name != tt.want.Name || got.User != tt.want.User || got.Addr != tt.want.Addr || got.Port != tt.want.Port {
				t.Errorf("ParseHost(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.SSHTarget(); s != tt.wantSSH {
				t.Errorf("SSHTarget() = %q, want %q", s, tt.wantSSH)
			}
			// The SSH form must parse back to the same target.
			back, err := ParseHost(got.SSHTarget())
			if err != nil || back.Addr != got.Addr || back.Port != got.Port || back.User != got.User {
				t.Errorf("round trip of %q: %+v, %v", got.SSHTarget(), back, err)
			}
		})
	}
}

func TestTargetString(t *testing.T) {
	tests := []struct {
		name string
		t    Target
		want string
	}{
		{"host only", Target{Name: "1.2.3.4", Addr: "1.2.3.4"}, "1.2.3.4"},
		{"named ec2", Target{Name: "blog", ID: "i-1", User: "ubuntu", Addr: "1.2.3.4", Port: 22}, "blog (ubuntu@1.2.3.4:22)"},
		{"ipv6 port", Target{Addr: "::1", Port: 2222}, "[::1]:2222"},
		{"local", Target{Name: "local"}, "local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.t.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseTagFilters(t *testing.T) {
	tests := []struct {
		in      []string
		want    []TagFilter
		wantErr bool
	}{
		{in: []string{"Name=blog", "env=prod"}, want: []TagFilter{{"Name", "blog"}, {"env", "prod"}}},
		{in: []string{"k=a=b"}, want: []TagFilter{{"k", "a=b"}}},
		{in: []string{"k="}, want: []TagFilter{{"k", ""}}},
		{in: []string{"Name=web-*"}, want: []TagFilter{{"Name", "web-*"}}},
		{in: []string{"Name"}, wantErr: true},
		{in: []string{"=blog"}, wantErr: true},
		{in: []string{" Name=blog"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(fmtSlice(tt.in), func(t *testing.T) {
			got, err := ParseTagFilters(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %v, want error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func fmtSlice(s []string) string {
	out := ""
	for _, v := range s {
		out += "[" + v + "]"
	}
	return out
}
