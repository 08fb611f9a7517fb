package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// fakeS3 is an S3 fake on loopback, reached through the real SDK client.
func fakeS3(t *testing.T) (*s3.Client, *s3mem.Backend) {
	t.Helper()
	mem := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDFAKE", "fake-secret", ""),
	})
	if err := mem.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	return client, mem
}

func TestS3Store(t *testing.T) {
	ctx := context.Background()
	client, mem := fakeS3(t)
	root := S3{Client: client, Bucket: "backups", Prefix: "team/blog"}

	// Larger than two parts: the upload is multipart, streamed.
	big := make([]byte, 2*s3PartSize+12345)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	b1 := root.Sub("host1").Sub("t1")
	if err := putFile(ctx, b1, "data.tar.gz", bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	r, err := b1.Open(ctx, "data.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read back %d bytes (err %v), want the %d written", len(got), err, len(big))
	}

	t.Run("an aborted upload leaves no object", func(t *testing.T) {
		w, err := b1.Create(ctx, "half.tar.gz")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(big[:s3PartSize+1]); err != nil {
			t.Fatal(err)
		}
		w.Abort()
		if _, err := mem.HeadObject("backups", "team/blog/host1/t1/half.tar.gz"); err == nil {
			t.Fatal("the aborted file exists")
		}
	})

	t.Run("dirs, verify and prune", func(t *testing.T) {
		host := root.Sub("host1")
		m := &Manifest{Stack: "blog"}
		for _, ts := range []string{"t1", "t2", "t3"} {
			f, err := writeSum(ctx, host.Sub(ts), "v.tar.gz", []byte("volume "+ts))
			if err != nil {
				t.Fatal(err)
			}
			m.Volumes = []Volume{{Name: "v", File: f}}
			if err := writeManifest(ctx, host.Sub(ts), m); err != nil {
				t.Fatal(err)
			}
		}
		dirs, err := host.Dirs(ctx)
		if err != nil || len(dirs) != 3 || dirs[0] != "t1" || dirs[2] != "t3" {
			t.Fatalf("Dirs = %v, %v", dirs, err)
		}
		read, err := ReadManifest(ctx, host.Sub("t3"))
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(ctx, host.Sub("t3"), read); err != nil {
			t.Fatal(err)
		}
		if err := putFile(ctx, host.Sub("t3"), "v.tar.gz", bytes.NewReader([]byte("volume t4"))); err != nil {
			t.Fatal(err)
		}
		if err := Verify(ctx, host.Sub("t3"), read); err == nil {
			t.Fatal("a changed object passed verification")
		}
		removed, err := Prune(ctx, host, 1)
		if err != nil || len(removed) != 2 {
			t.Fatalf("Prune removed %v, %v; want t2 and t1", removed, err)
		}
		if dirs, _ := host.Dirs(ctx); len(dirs) != 1 || dirs[0] != "t3" {
			t.Fatalf("left %v, want [t3]", dirs)
		}
		if _, err := mem.HeadObject("backups", "team/blog/host1/t1/manifest.json"); err == nil {
			t.Fatal("a pruned manifest is still there")
		}
	})
}

func TestParseS3URL(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, prefix string
		ok                 bool
	}{
		{"s3://b/p/q/", "b", "p/q", true},
		{"s3://b", "b", "", true},
		{"s3:///p", "", "p", false},
		{"./backups", "", "", false},
	} {
		b, p, ok := ParseS3URL(tc.in)
		if b != tc.bucket || p != tc.prefix || ok != tc.ok {
			t.Errorf("ParseS3URL(%q) = %q %q %v", tc.in, b, p, ok)
		}
	}
}
