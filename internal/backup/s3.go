package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3PartSize is the multipart upload's part size: memory use is about
// s3PartSize times s3Concurrency per file, whatever the volume's size.
const (
	s3PartSize    = 16 << 20
	s3Concurrency = 2
)

// S3 is a Store under an S3 prefix. Files are streamed with multipart
// uploads, so no archive is ever held in full.
type S3 struct {
	Client *s3.Client
	Bucket string
	Prefix string // no leading or trailing slash
}

// ParseS3URL splits s3://bucket/prefix; ok is false for anything else.
func ParseS3URL(u string) (bucket, prefix string, ok bool) {
	rest, found := strings.CutPrefix(u, "s3://")
	if !found {
		return "", "", false
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, strings.Trim(prefix, "/"), bucket != ""
}

func (s S3) String() string { return "s3://" + path.Join(s.Bucket, s.Prefix) }

func (s S3) key(name string) string { return strings.TrimPrefix(path.Join(s.Prefix, name), "/") }

func (s S3) Sub(name string) Store {
	return S3{Client: s.Client, Bucket: s.Bucket, Prefix: s.key(name)}
}

// errAborted stops an upload whose source failed.
var errAborted = errors.New("upload aborted")

func (s S3) Create(ctx context.Context, name string) (Writer, error) {
	pr, pw := io.Pipe()
	u := &s3Upload{pw: pw, done: make(chan error, 1), key: s.key(name)}
	up := manager.NewUploader(s.Client, func(u *manager.Uploader) {
		u.PartSize, u.Concurrency = s3PartSize, s3Concurrency
	})
	go func() {
		// The object exists only once the upload completes; a failed one
		// is aborted by the uploader, leaving no parts behind.
		_, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(u.key), Body: pr})
		pr.CloseWithError(err)
		u.done <- err
	}()
	return u, nil
}

type s3Upload struct {
	pw   *io.PipeWriter
	done chan error
	key  string
}

func (u *s3Upload) Write(p []byte) (int, error) { return u.pw.Write(p) }

func (u *s3Upload) Close() error {
	u.pw.Close()
	if err := <-u.done; err != nil {
		return fmt.Errorf("upload %s: %w", u.key, err)
	}
	return nil
}

func (u *s3Upload) Abort() {
	u.pw.CloseWithError(errAborted)
	<-u.done
}

func (s S3) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(s.key(name))})
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", s, name, err)
	}
	return out.Body, nil
}

func (s S3) Dirs(ctx context.Context) ([]string, error) {
	prefix := s.key("") + "/"
	if s.Prefix == "" {
		prefix = ""
	}
	var names []string
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", s, err)
		}
		for _, cp := range page.CommonPrefixes {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/"))
		}
	}
	sort.Strings(names)
	return names, nil
}

func (s S3) RemoveAll(ctx context.Context) error {
	if s.Prefix == "" {
		return fmt.Errorf("remove %s: refusing to empty a whole bucket", s)
	}
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(s.Prefix + "/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("remove %s: %w", s, err)
		}
		for _, o := range page.Contents {
			if _, err := s.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: o.Key}); err != nil {
				return fmt.Errorf("remove %s: %w", s, err)
			}
		}
	}
	return nil
}
