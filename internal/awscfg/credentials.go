package awscfg

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/smithy-go"
)

// Problem says what is wrong with the credentials.
type Problem string

// The problems a CredentialsError tells apart.
const (
	Missing  Problem = "missing"  // no source produced credentials
	Expired  Problem = "expired"  // a source produced credentials or a token that expired
	Rejected Problem = "rejected" // AWS did not accept the credentials
)

// Source is one place the SDK's default chain looks for credentials, and what
// was found there.
type Source struct {
	Name   string
	Status string
}

// CredentialsError explains a failure to authenticate: which sources the SDK
// tried, in order, and what to do. The SDK's own error, which for missing
// credentials is a long chain about instance metadata, stays in Err.
type CredentialsError struct {
	Profile string
	Problem Problem
	Sources []Source
	Err     error
}

func (e *CredentialsError) Error() string {
	var b strings.Builder
	switch e.Problem {
	case Missing:
		fmt.Fprintf(&b, "no AWS credentials found for profile %q", e.Profile)
	default:
		fmt.Fprintf(&b, "AWS credentials %s (profile %q): %v", e.Problem, e.Profile, e.Err)
	}
	b.WriteString("\nsources tried, in order:")
	for _, s := range e.Sources {
		fmt.Fprintf(&b, "\n  - %s: %s", s.Name, s.Status)
	}
	switch e.Problem {
	case Expired:
		b.WriteString("\nrefresh them (for SSO: aws sso login --profile " + e.Profile + ") and try again")
	case Rejected:
		b.WriteString("\ncheck that the access key is current (not deactivated or rotated) and belongs to this account")
	case Missing:
		b.WriteString("\nset AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, run aws configure, or pass --profile with a configured profile")
	}
	return b.String()
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// credentialsError explains err, a failure of the credential chain itself.
func credentialsError(ctx context.Context, err error, opts Options) error {
	problem, ok := classify(err)
	if !ok {
		problem = Missing
	}
	profile := profileName(opts)
	return &CredentialsError{Profile: profile, Problem: problem, Sources: inspectSources(ctx, profile, opts.Profile != "", err), Err: err}
}

// explainCredentials returns err unchanged unless AWS rejected the
// credentials or they expired, which it explains.
func explainCredentials(ctx context.Context, err error, opts Options) error {
	if err == nil {
		return nil
	}
	if _, ok := classify(err); !ok {
		return err
	}
	return credentialsError(ctx, err, opts)
}

func classify(err error) (Problem, bool) {
	var tokenErr *ssocreds.InvalidTokenError
	if errors.As(err, &tokenErr) {
		return Expired, true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired":
			return Expired, true
		case "InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure",
			"SignatureDoesNotMatch", "InvalidAccessKeyId", "IncompleteSignature", "MissingAuthenticationToken":
			return Rejected, true
		}
	}
	msg := err.Error()
	// The SDK reports a failed credential chain only as text; these are the
	// wrappers its signing and identity middleware put around it.
	if strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "get identity") ||
		strings.Contains(msg, "failed to refresh cached credentials") {
		if strings.Contains(strings.ToLower(msg), "expired") {
			return Expired, true
		}
		return Missing, true
	}
	return "", false
}

func profileName(opts Options) string {
	if opts.Profile != "" {
		return opts.Profile
	}
	if p := os.Getenv("AWS_PROFILE"); p != "" {
		return p
	}
	return "default"
}

func configFile() string {
	if f := os.Getenv("AWS_CONFIG_FILE"); f != "" {
		return f
	}
	return config.DefaultSharedConfigFilename()
}

func credentialsFile() string {
	if f := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		return f
	}
	return config.DefaultSharedCredentialsFilename()
}

// inspectSources mirrors the order of the SDK's default credential chain.
// chainErr is the chain's own failure, which says how instance metadata
// answered. A profile given in Options makes the SDK skip the environment.
func inspectSources(ctx context.Context, profile string, named bool, chainErr error) []Source {
	var out []Source

	id, secret := os.Getenv("AWS_ACCESS_KEY_ID") != "", os.Getenv("AWS_SECRET_ACCESS_KEY") != ""
	env := "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set"
	switch {
	case id && secret && os.Getenv("AWS_SESSION_TOKEN") != "":
		env = "set, with AWS_SESSION_TOKEN (temporary credentials expire)"
	case id && secret:
		env = "set"
	case id:
		env = "AWS_ACCESS_KEY_ID set but AWS_SECRET_ACCESS_KEY missing"
	case secret:
		env = "AWS_SECRET_ACCESS_KEY set but AWS_ACCESS_KEY_ID missing"
	}
	if named && id {
		env = "not used, as a profile was named (--profile or AWS_PROFILE)"
	}
	out = append(out, Source{Name: "environment", Status: env})

	out = append(out, Source{Name: "shared files " + credentialsFile() + ", " + configFile(), Status: profileStatus(ctx, profile)})

	if f := os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"); f != "" {
		out = append(out, Source{Name: "web identity token", Status: "AWS_WEB_IDENTITY_TOKEN_FILE=" + f})
	}

	imdsStatus := "no answer (works only on an EC2 instance with an instance profile)"
	switch {
	case strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true"):
		imdsStatus = "disabled by AWS_EC2_METADATA_DISABLED"
	case chainErr != nil && strings.Contains(chainErr.Error(), "no EC2 IMDS role found") && strings.Contains(chainErr.Error(), "StatusCode: 404"):
		imdsStatus = "answered, but this instance has no instance profile (IAM role)"
	}
	out = append(out, Source{Name: "EC2 instance metadata", Status: imdsStatus})
	return out
}

// profileStatus reads the profile the way the SDK does and says what kind of
// credentials it holds.
func profileStatus(ctx context.Context, profile string) string {
	sc, err := config.LoadSharedConfigProfile(ctx, profile, func(o *config.LoadSharedConfigOptions) {
		o.ConfigFiles = []string{configFile()}
		o.CredentialsFiles = []string{credentialsFile()}
	})
	var notExist config.SharedConfigProfileNotExistError
	switch {
	case errors.As(err, &notExist):
		return fmt.Sprintf("no profile %q", profile)
	case err != nil:
		return "unreadable: " + err.Error()
	case sc.Credentials.HasKeys():
		return fmt.Sprintf("profile %q has keys", profile)
	case sc.SSOSessionName != "" || sc.SSOStartURL != "":
		return fmt.Sprintf("profile %q uses SSO; the cached token may be missing or expired", profile)
	case sc.RoleARN != "":
		return fmt.Sprintf("profile %q assumes role %s", profile, sc.RoleARN)
	case sc.CredentialProcess != "":
		return fmt.Sprintf("profile %q runs credential_process", profile)
	}
	return fmt.Sprintf("profile %q present, no credentials in it", profile)
}
