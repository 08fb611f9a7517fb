// Package awscfg loads the aws.Config berth's AWS clients share, the way every
// AWS tool does: environment, shared config and credentials files, SSO, IMDS,
// and the AWS_ENDPOINT_URL* variables an emulator needs are all the SDK's own.
package awscfg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
)

// DefaultTimeout bounds one AWS call, retries included, when Options.Timeout
// is zero. API calls answer in well under a second; the SDK's retries of a
// throttled call add a few seconds.
const DefaultTimeout = 30 * time.Second

// Options are the user's choices; empty fields fall back to the SDK's sources.
type Options struct {
	Region  string        // --region; else AWS_REGION, AWS_DEFAULT_REGION, or the profile's region
	Profile string        // --profile; else AWS_PROFILE, else "default"
	Timeout time.Duration // --aws-timeout: the deadline of every call; 0 means DefaultTimeout
}

// ErrNoRegion is returned (wrapped) when no source named a region.
var ErrNoRegion = errors.New("no AWS region: set --region, AWS_REGION, or region in the profile's config")

// Load builds the config and finds credentials. It fails when no region is
// known (with a custom endpoint the SDK would otherwise sign with an empty
// region and real AWS would answer "Missing Region" far from the cause), and
// when no credentials are found, with a *CredentialsError naming the sources
// tried. Every call made with the config has the deadline opts.Timeout.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	fns := []func(*config.LoadOptions) error{
		// The standard retryer retries throttling and transient errors with
		// backoff; named here so a changed SDK default cannot silently drop it.
		config.WithRetryer(func() aws.Retryer { return retry.NewStandard() }),
		config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) { o.Client = quickIMDS() }),
		config.WithAPIOptions([]func(*middleware.Stack) error{deadline(timeout, opts)}),
	}
	if opts.Region != "" {
		fns = append(fns, config.WithRegion(opts.Region))
	}
	if opts.Profile != "" {
		fns = append(fns, config.WithSharedConfigProfile(opts.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, fns...)
	if err != nil {
		var notExist config.SharedConfigProfileNotExistError
		if errors.As(err, &notExist) {
			return aws.Config{}, fmt.Errorf("load aws config: profile %q is not in %s or %s: %w",
				notExist.Profile, configFile(), credentialsFile(), err)
		}
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		profile := profileName(opts)
		return aws.Config{}, fmt.Errorf("load aws config (profile %q): %w", profile, ErrNoRegion)
	}
	// Credentials are looked up now, once (the SDK caches them), so that their
	// absence is one clear error before any work rather than inside the first call.
	credCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := cfg.Credentials.Retrieve(credCtx); err != nil {
		if ctx.Err() != nil {
			return aws.Config{}, fmt.Errorf("load aws credentials: %w", err)
		}
		return aws.Config{}, credentialsError(credCtx, err, opts)
	}
	return cfg, nil
}

// quickIMDS asks the instance metadata service once per request instead of
// the standard three times. On EC2 it answers in milliseconds; anywhere else
// it does not answer at all, and the SDK's own timeouts (250 ms to connect,
// 500 ms for a response) then cost about a second in all instead of the 5-8 s
// of retried token and metadata requests. Its warnings (IMDSv1 fallback) are
// dropped: the credentials error says what was tried.
func quickIMDS() *imds.Client {
	return imds.New(imds.Options{
		Retryer: retry.AddWithMaxAttempts(retry.NewStandard(), 1),
		Logger:  logging.Nop{},
	})
}

// DeadlineMiddleware names the deadline in a client's stack, for a client
// whose responses stream on after the call (S3 objects) to remove it.
const DeadlineMiddleware = "BerthDeadline"

// deadline bounds every operation, retries and credential refreshes included:
// the SDK's HTTP client has no response timeout, so an endpoint that accepts
// a connection and never answers would otherwise hang berth. It also explains
// credentials that AWS rejects or that expired.
func deadline(d time.Duration, opts Options) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(DeadlineMiddleware,
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				opCtx, cancel := context.WithTimeout(ctx, d)
				defer cancel()
				out, md, err := next.HandleInitialize(opCtx, in)
				if err != nil && ctx.Err() == nil && errors.Is(opCtx.Err(), context.DeadlineExceeded) {
					return out, md, fmt.Errorf("no answer from AWS within %s (the limit is --aws-timeout): %w", d, err)
				}
				return out, md, explainCredentials(ctx, err, opts)
			}), middleware.Before)
	}
}
