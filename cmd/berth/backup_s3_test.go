package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/urfave/cli/v2"
)

// The CLI's S3 client is built from the same AWS config as EC2 and Route 53,
// whose per-call deadline must not cut off an object body read after the call.
func TestS3DestinationStreamsPastTheCall(t *testing.T) {
	mem := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	defer srv.Close()
	if err := mem.CreateBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 8<<20)
	rand.Read(big)
	if _, err := mem.PutObject("bkt", "p/x", nil, bytes.NewReader(big), int64(len(big)), nil); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_S3": srv.URL, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake", "AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none")} {
		t.Setenv(k, v)
	}
	var got []byte
	app := &cli.App{Flags: targetFlags(), Action: func(c *cli.Context) error {
		st, err := destStore(c, "s3://bkt/p")
		if err != nil {
			return err
		}
		r, err := st.Open(c.Context, "x")
		if err != nil {
			return err
		}
		defer r.Close()
		got, err = io.ReadAll(r)
		return err
	}}
	if err := app.RunContext(context.Background(), []string{"berth"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("read %d bytes, want %d", len(got), len(big))
	}
}
