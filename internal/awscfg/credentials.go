package awscfg

import (
	"bufio"
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

// The problems ExplainCredentials tells apart.
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
// tried, in order, and whether the credentials look missing or expired.
type CredentialsError struct {
	Profile string
	Problem Problem
	Sources []Source
	Err     error
}

func (e *CredentialsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AWS credentials %s (profile %q): %v\nsources tried:", e.Problem, e.Profile, e.Err)
	for _, s := range e.Sources {
		fmt.Fprintf(&b, "\n  - %s: %s", s.Name, s.Status)
	}
	switch e.Problem {
	case Expired:
		b.WriteString("\nrefresh them (for SSO: aws sso login --profile " + e.Profile + ") and try again")
	case Rejected:
		b.WriteString("\ncheck that the access key is current (not deactivated or rotated) and belongs to this account")
	case Missing:
		b.WriteString("\nset AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile with a configured profile")
	}
	return b.String()
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// ExplainCredentials returns err unchanged unless it is a credentials failure,
// in which case it returns a *CredentialsError that says which sources were
// tried. opts are the options Load was called with.
func ExplainCredentials(err error, opts Options) error {
	if err == nil {
		return nil
	}
	problem, ok := classify(err)
	if !ok {
		return err
	}
	profile := profileName(opts)
	return &CredentialsError{Profile: profile, Problem: problem, Sources: inspectSources(profile), Err: err}
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
func inspectSources(profile string) []Source {
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
	out = append(out, Source{Name: "environment", Status: env})

	credPath := credentialsFile()
	creds, err := readINI(credPath)
	out = append(out, Source{Name: "shared credentials file " + credPath, Status: sectionStatus(creds, err, profile, "["+profile+"]")})

	cfgPath := configFile()
	cfg, err := readINI(cfgPath)
	section := "[profile " + profile + "]"
	if profile == "default" {
		section = "[default]"
	}
	out = append(out, Source{Name: "shared config file " + cfgPath, Status: sectionStatus(cfg, err, profile, section)})

	sso := "not configured for this profile"
	if keys := cfg[profileSection(profile)]; keys["sso_start_url"] != "" || keys["sso_session"] != "" {
		sso = "configured; the cached token may be missing or expired"
	}
	out = append(out, Source{Name: "SSO", Status: sso})

	if f := os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"); f != "" {
		out = append(out, Source{Name: "web identity token", Status: "AWS_WEB_IDENTITY_TOKEN_FILE=" + f})
	}

	imds := "tried (works only on an EC2 instance with an instance profile)"
	if strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		imds = "disabled by AWS_EC2_METADATA_DISABLED"
	}
	out = append(out, Source{Name: "EC2 instance metadata (IMDS)", Status: imds})
	return out
}

func profileSection(profile string) string {
	if profile == "default" {
		return "default"
	}
	return "profile " + profile
}

func sectionStatus(ini map[string]map[string]string, err error, profile, header string) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "not found"
	case err != nil:
		return "unreadable: " + err.Error()
	}
	name := strings.TrimSuffix(strings.TrimPrefix(header, "["), "]")
	keys, ok := ini[name]
	if !ok {
		return "no " + header + " section"
	}
	if keys["aws_access_key_id"] != "" {
		return fmt.Sprintf("profile %q has keys", profile)
	}
	return fmt.Sprintf("profile %q present, no static keys", profile)
}

// readINI reads just enough of an AWS ini file to see sections and keys.
func readINI(path string) (map[string]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]map[string]string{}
	var cur map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			name := strings.Join(strings.Fields(line[1:len(line)-1]), " ")
			cur = map[string]string{}
			out[name] = cur
		case cur != nil:
			if k, v, ok := strings.Cut(line, "="); ok {
				cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return out, sc.Err()
}
