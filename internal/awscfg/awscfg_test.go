package awscfg_test

import (
	"context"
	"errors"
	"os"
	"strings"
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
		{name: "profile config", config: "[profile blog]\nregion = ca-central-1\n", opts: awscfg.Options{Profile: "blog"}, want: "ca-central-1"},
		{name: "none", wantErr: true},
		{name: "profile without region", config: "[profile blog]\noutput = json\n", opts: awscfg.Options{Profile: "blog"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			awsfake.Isolate(t)
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

func TestExplainCredentials(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(t *testing.T, srv *awsfake.Server)
		wantProblem awscfg.Problem
		wantText    []string
	}{
		{
			name: "nothing configured",
			setup: func(t *testing.T, srv *awsfake.Server) {
				awsfake.Isolate(t)
				t.Setenv("AWS_ENDPOINT_URL", srv.URL)
				t.Setenv("AWS_REGION", "eu-west-1")
			},
			wantProblem: awscfg.Missing,
			wantText:    []string{"environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set", "no [default] section", "SSO: not configured", "IMDS): disabled"},
		},
		{
			name: "sso profile without a cached token",
			setup: func(t *testing.T, srv *awsfake.Server) {
				awsfake.Isolate(t)
				t.Setenv("AWS_ENDPOINT_URL", srv.URL)
				t.Setenv("AWS_PROFILE", "work")
				t.Setenv("HOME", t.TempDir()) // no cached SSO token from the developer's machine
				cfg := "[profile work]\nregion = eu-west-1\nsso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 123456789012\nsso_role_name = Admin\n"
				if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantProblem: awscfg.Expired,
			wantText:    []string{`profile "work"`, "SSO: configured", "aws sso login --profile work"},
		},
		{
			name: "rejected keys from the credentials file",
			setup: func(t *testing.T, srv *awsfake.Server) {
				awsfake.Isolate(t)
				t.Setenv("AWS_ENDPOINT_URL", srv.URL)
				t.Setenv("AWS_REGION", "eu-west-1")
				srv.AcceptOnlyAccessKey(awsfake.AccessKeyID)
				if err := os.WriteFile(os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), []byte("[default]\naws_access_key_id = AKIDOLD\naws_secret_access_key = s\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantProblem: awscfg.Rejected,
			wantText:    []string{"AuthFailure", `profile "default" has keys`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := awsfake.New(t)
			tt.setup(t, srv)
			cfg, err := awscfg.Load(context.Background(), awscfg.Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ec2.NewFromConfig(cfg).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
			err = awscfg.ExplainCredentials(err, awscfg.Options{})
			if tt.wantProblem == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
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
			if tt.wantProblem == awscfg.Missing && srv.Count("DescribeInstances") != 0 {
				t.Errorf("a request without credentials reached the server")
			}
			t.Log(err)
		})
	}
}

func TestExplainCredentialsPassesOtherErrors(t *testing.T) {
	other := errors.New("boom")
	if got := awscfg.ExplainCredentials(other, awscfg.Options{}); got != other {
		t.Errorf("got %v, want the error unchanged", got)
	}
	if awscfg.ExplainCredentials(nil, awscfg.Options{}) != nil {
		t.Error("nil error became non-nil")
	}
}
