package docker

import (
	"strings"
	"testing"
)

// FuzzParseObserved feeds arbitrary host output to ParseObserved, which reads
// whatever a remote shell printed: it must never panic, must always return
// an Observed, and must report every failure as an error (never plan against
// half-read state silently).
func FuzzParseObserved(f *testing.F) {
	f.Add([]byte(fixture))
	f.Add([]byte("### error\ndocker-unavailable\nCannot connect\n"))
	f.Add([]byte("### containers\n[{]\n"))
	f.Add([]byte("motd\n### containers\n[]\n### volumes\n[]\n### networks\n[]\n### images\n[]\n"))
	f.Add([]byte("### containers\n[{\"Name\":\"/a\",\"NetworkSettings\":{\"Ports\":{\"80/tcp\":[{\"HostIp\":\"::\",\"HostPort\":\"x\"}]}}}]\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		obs, err := ParseObserved(out)
		if obs == nil {
			t.Fatal("nil Observed")
		}
		if obs.Err != nil && obs.Err != err {
			t.Fatalf("obs.Err %v differs from the returned error %v", obs.Err, err)
		}
		if err != nil && obs.Err == nil && !strings.HasPrefix(err.Error(), "parse ") {
			t.Fatalf("error does not say what failed: %v", err)
		}
		if err != nil && strings.Contains(err.Error(), "section: ") {
			t.Fatalf("section error without a position: %v", err)
		}
	})
}
