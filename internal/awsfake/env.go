package awsfake

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Test credentials and region that Env sets.
const (
	AccessKeyID     = "AKIDBERTHTEST"
	SecretAccessKey = "berth-test-secret"
	Region          = "eu-west-1"
)

// Env points the SDK at the fake server through the same environment a user
// would set, and isolates the test from the machine's AWS configuration.
func (s *Server) Env(t testing.TB) {
	t.Helper()
	Env(t, s.URL)
}

// Env sets AWS_ENDPOINT_URL to endpoint, a region, static credentials, empty
// shared config and credentials files, and disables IMDS, all via t.Setenv.
func Env(t testing.TB, endpoint string) {
	t.Helper()
	Isolate(t)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretAccessKey)
}

// Isolate clears every AWS variable that could reach real AWS or the
// developer's own profiles, points the shared files at empty temp files and
// disables IMDS; it sets no credentials and no region. HOME is left alone
// (other tests need it for SSH); a test of SSO profiles should move it too,
// since the SDK reads the SSO token cache from ~/.aws/sso/cache.
func Isolate(t testing.TB) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k) // the SDK treats some set-but-empty variables differently
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	for _, p := range []string{cfg, creds} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatalf("write %s: %v", p, err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}
