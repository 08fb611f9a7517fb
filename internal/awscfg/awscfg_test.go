package awscfg_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/awsfake"
)

func TestLoadRegion(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		config  string
		opts    awscfg.Options
		want    string
		wantErr bool
	}{
		{name: "flag", opts: awscfg.Options{Region: "ap-south-1"}, want: "ap-south-1"},
		{name: "env", env: map[string]string{"AWS_REGION": "us-west-2"}, want: "us-west-2"},
		{name: "flag wins over env", env: map[string]string{"AWS_REGION": "us-west-2"}, opts: awscfg.Options{Region: "eu-north-1"}, want: "eu-north-1"},
		{name: "profile config", config: "[profile blog]\nregion = ca-central-1\naws_access_key_id = AKID\naws_secret_access_key = s\n", opts: awscfg.Options{Profile: "blog"}, want: "ca-central-1"},
		{name: "none", wantErr: true},
		{name: "profile without region", config: "[profile blog]\noutput = json\n", opts: awscfg.Options{Profile: "blog"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			awsfake.Isolate(t)
			t.Setenv("AWS_ACCESS_KEY_ID", awsfake.AccessKeyID)
			t.Setenv("AWS_SECRET_ACCESS_KEY", awsfake.SecretAccessKey)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.config != "" {
				if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(tt.config), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := awscfg.Load(context.Background(), tt.opts)
			if tt.wantErr {
				if !errors.Is(err, awscfg.ErrNoRegion) {
					t.Fatalf("err = %v, want ErrNoRegion", err)
				}
				for _, s := range []string{"--region", "AWS_REGION", "profile"} {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %s", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tt.want {
				t.Errorf("region = %q, want %q", cfg.Region, tt.want)
			}
		})
	}
}

func TestLoadMissingProfile(t *testing.T) {
	awsfake.Isolate(t)
	_, err := awscfg.Load(context.Background(), awscfg.Options{Profile: "nope", Region: "us-east-1"})
	if err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("err = %v, want one naming the profile", err)
	}
}

// The endpoint variables are the SDK's own: a client built from the loaded
// config reaches the fake without any endpoint in berth's code.
func TestEndpointFromEnvironment(t *testing.T) {
	tests := []struct{ name, variable string }{
		{"all services", "AWS_ENDPOINT_URL"},
		{"service specific", "AWS_ENDPOINT_URL_EC2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			srv.Env(t)
			t.Setenv("AWS_ENDPOINT_URL", "")
			os.Unsetenv("AWS_ENDPOINT_URL")
			t.Setenv(tt.variable, srv.URL)
			cfg, err := awscfg.Load(context.Background(), awscfg.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ec2.NewFromConfig(cfg).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
				t.Fatal(err)
			}
			if n := srv.Count("DescribeInstances"); n != 1 {
				t.Errorf("fake saw %d DescribeInstances, want 1", n)
			}
		})
	}
	t.Run("route 53", func(t *testing.T) {
		srv := awsfake.New(t)
		srv.Env(t)
		t.Setenv("AWS_ENDPOINT_URL", "")
		os.Unsetenv("AWS_ENDPOINT_URL")
		t.Setenv("AWS_ENDPOINT_URL_ROUTE_53", srv.URL)
		cfg, err := awscfg.Load(context.Background(), awscfg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := route53.NewFromConfig(cfg).ListHostedZonesByName(context.Background(), &route53.ListHostedZonesByNameInput{}); err != nil {
			t.Fatal(err)
		}
		if n := srv.Count("ListHostedZonesByName"); n != 1 {
			t.Errorf("fake saw %d ListHostedZonesByName, want 1", n)
		}
	})
}

func TestThrottlingRetried(t *testing.T) {
	srv := awsfake.New(t)
	srv.Env(t)
	cfg, err := awscfg.Load(context.Background(), awscfg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv.ThrottleNext(1)
	start := time.Now()
	if _, err := ec2.NewFromConfig(cfg).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatalf("throttled once, then: %v", err)
	}
	if n := srv.Count("DescribeInstances"); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
	t.Logf("one throttled retry took %v", time.Since(start))
}

// hangingServer accepts requests and never answers them, like an endpoint
// behind a broken proxy; it counts what it was sent.
func hangingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		<-stop
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: Close waits for handlers
	return srv, &n
}

func TestEveryCallHasADeadline(t *testing.T) {
	srv, _ := hangingServer(t)
	awsfake.Env(t, srv.URL)
	cfg, err := awscfg.Load(context.Background(), awscfg.Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// The outer deadline only keeps a broken test from hanging; the call must end by its own.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls := map[string]func() error{
		"ec2": func() error {
			_, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		},
		"route 53": func() error {
			_, err := route53.NewFromConfig(cfg).ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer from AWS within 300ms (the limit is --aws-timeout)") {
				t.Fatalf("err = %v, want the --aws-timeout deadline", err)
			}
		})
	}
}

// fakeIMDS answers like the metadata service of an instance without a role.
func fakeIMDS(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			fmt.Fprint(w, "token")
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestCredentialsError(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(t *testing.T, srv *awsfake.Server) *atomic.Int32 // returns the IMDS request count, if any
		wantProblem  awscfg.Problem
		wantText     []string
		maxIMDSCalls int32
	}{
		{
			name: "nothing configured",
			setup: func(t *testing.T, srv *awsfake.Server) *atomic.Int32 {
				awsfake.Isolate(t)
				t.Setenv("AWS_ENDPOINT_URL", srv.URL)
				t.Setenv("AWS_REGION", "eu-west-1")
				return nil
			},
			wantProblem: awscfg.Missing,
			wantText: []string{`no AWS credentials found for profile "default"`, "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set",
				`no profile "default"`, "EC2 instance metadata: disabled by AWS_EC2_METADATA_DISABLED", "aws configure", "--profile"},
		},
		{
			// Off EC2: the metadata address takes connections and never answers.
			// One token request and one IMDSv1 request, not three of each.
			name: "metadata service that never answers",
			setup: func(t *testing.T, srv *awsfake.Server) *atomic.Int32 {
				awsfake.Isolate(t)
				t.Setenv("AWS_ENDPOINT_URL", srv.URL)
				t.Setenv("AWS_REGION", "eu-west-1")
				imds, n := hangingServer(t)
				os.Unsetenv("AWS_EC2_METADATA_DISABLED")
				t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
				return n
			},
			wantProblem:  awscfg.Missing,
			wantText:     []string{"EC2 instance metadata: no answer (works only on an EC2 instance with an instance profile)"},
			maxIMDSCalls: 2,
		},
		{
			name: "instance without a role",
			setup: func(t *testing.T, srv *awsfake.Server) *atomic.Int32 {
				awsfake.Isolate(t)
				t.Setenv("AWS_ENDPOINT_URL", srv.URL)
				t.Setenv("AWS_REGION", "eu-west-1")
				imds, n := fakeIMDS(t)
				os.Unsetenv("AWS_EC2_METADATA_DISABLED")
				t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
				return n
			},
			wantProblem:  awscfg.Missing,
			wantText:     []string{"EC2 instance metadata: answered, but this instance has no instance profile"},
			maxIMDSCalls: 2,
		},
		{
			name: "sso profile without a cached token",
			setup: func(t *testing.T, srv *awsfake.Server) *atomic.Int32 {
				awsfake.Isolate(t)
				t.Setenv("AWS_ENDPOINT_URL", srv.URL)
				t.Setenv("AWS_PROFILE", "work")
				t.Setenv("HOME", t.TempDir()) // no cached SSO token from the developer's machine
				cfg := "[profile work]\nregion = eu-west-1\nsso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 123456789012\nsso_role_name = Admin\n"
				if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			wantProblem: awscfg.Expired,
			wantText:    []string{`profile "work" uses SSO`, "aws sso login --profile work"},
		},
		{
			name: "rejected keys from the credentials file",
			setup: func(t *testing.T, srv *awsfake.Server) *atomic.Int32 {
				awsfake.Isolate(t)
				t.Setenv("AWS_ENDPOINT_URL", srv.URL)
				t.Setenv("AWS_REGION", "eu-west-1")
				srv.AcceptOnlyAccessKey(awsfake.AccessKeyID)
				if err := os.WriteFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), []byte("[default]\naws_access_key_id = AKIDOLD\naws_secret_access_key = s\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			wantProblem: awscfg.Rejected,
			wantText:    []string{"AuthFailure", `profile "default" has keys`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			imdsCalls := tt.setup(t, srv)
			cfg, err := awscfg.Load(context.Background(), awscfg.Options{})
			if err == nil {
				_, err = ec2.NewFromConfig(cfg).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
			}
			var ce *awscfg.CredentialsError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want *CredentialsError", err)
			}
			if ce.Problem != tt.wantProblem {
				t.Errorf("problem = %s, want %s\n%v", ce.Problem, tt.wantProblem, err)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message lacks %q:\n%v", s, err)
				}
			}
			if tt.wantProblem == awscfg.Missing {
				if srv.Count("DescribeInstances") != 0 {
					t.Errorf("a request without credentials reached the server")
				}
				// Short enough to read: the SDK's chain of IMDS errors stays out.
				if msg := err.Error(); strings.Count(msg, "\n") > 5 || strings.Contains(msg, "operation error") || strings.Contains(msg, "ec2imds") {
					t.Errorf("message carries the SDK's error chain:\n%v", err)
				}
			}
			if imdsCalls != nil && imdsCalls.Load() > tt.maxIMDSCalls {
				t.Errorf("instance metadata asked %d times, want at most %d (no retries)", imdsCalls.Load(), tt.maxIMDSCalls)
			}
			t.Log(err)
		})
	}
}
