// Package awscfg loads the aws.Config berth's AWS clients share, the way every
// AWS tool does: environment, shared config and credentials files, SSO, IMDS,
// and the AWS_ENDPOINT_URL* variables an emulator needs are all the SDK's own.
package awscfg

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Options are the user's choices; empty fields fall back to the SDK's sources.
type Options struct {
	Region  string // --region; else AWS_REGION, AWS_DEFAULT_REGION, or the profile's region
	Profile string // --profile; else AWS_PROFILE, else "default"
}

// ErrNoRegion is returned (wrapped) when no source named a region.
var ErrNoRegion = errors.New("no AWS region: set --region, AWS_REGION, or region in the profile's config")

// Load builds the config. It fails when no region is known: with a custom
// endpoint the SDK would otherwise sign with an empty region and real AWS
// would answer "Missing Region" far from the cause.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	fns := []func(*config.LoadOptions) error{
		// The standard retryer retries throttling and transient errors with
		// backoff; named here so a changed SDK default cannot silently drop it.
		config.WithRetryer(func() aws.Retryer { return retry.NewStandard() }),
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
	return cfg, nil
}
