package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/awsfake"
)

// TestHostsAWSEndpointThatNeverAnswers is the repro: an endpoint that takes
// the connection and never answers hung berth hosts until it was killed.
func TestHostsAWSEndpointThatNeverAnswers(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-stop }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	awsfake.Env(t, srv.URL)

	_, stderr, code := berth(t, "hosts", "--ec2-tag", "Name=blog", "--aws-timeout", "300ms")
	if code != exitFailure || !strings.Contains(stderr, "no answer from AWS within 300ms (the limit is --aws-timeout)") {
		t.Fatalf("exit %d, stderr %q; want 1 and the deadline named", code, stderr)
	}
}

func TestHostsWithoutAWSCredentials(t *testing.T) {
	awsfake.Isolate(t)
	t.Setenv("AWS_ENDPOINT_URL", awsfake.New(t).URL)
	_, stderr, code := berth(t, "hosts", "--region", "eu-west-1", "--ec2-tag", "Name=blog")
	for _, want := range []string{"no AWS credentials found", "environment:", "shared files", "EC2 instance metadata:", "AWS_ACCESS_KEY_ID"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if code != exitFailure || strings.Count(stderr, "\n") > 6 {
		t.Fatalf("exit %d, stderr %q; want 1 and a short explanation", code, stderr)
	}
}
