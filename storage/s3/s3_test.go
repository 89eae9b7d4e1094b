package s3_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/s3"
	"github.com/filefleet/filefleet/storage/storagetest"
)

// testConfig returns the MinIO settings from FILEFLEET_TEST_S3_* with `make services`
// defaults, without a bucket.
func testConfig() s3.Config {
	return s3.Config{
		Endpoint:  cmp.Or(os.Getenv("FILEFLEET_TEST_S3_ENDPOINT"), "127.0.0.1:9000"),
		AccessKey: cmp.Or(os.Getenv("FILEFLEET_TEST_S3_ACCESS_KEY"), "filefleet"),
		SecretKey: cmp.Or(os.Getenv("FILEFLEET_TEST_S3_SECRET_KEY"), "filefleet-secret"),
		Region:    "us-east-1",
	}
}

// testBucket creates a fresh bucket and removes it with its objects when t ends. It fails
// t when the server does not answer.
func testBucket(t *testing.T) (string, *minio.Client) {
	t.Helper()
	cfg := testConfig()
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Region:     cfg.Region,
		MaxRetries: 1,
	})
	require.NoError(t, err)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	bucket := "fftest-" + hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
		t.Fatalf("cannot create a bucket on the MinIO server at %s: %v; run `make services` to start it "+
			"(or set FILEFLEET_TEST_S3_ENDPOINT, FILEFLEET_TEST_S3_ACCESS_KEY, FILEFLEET_TEST_S3_SECRET_KEY)", cfg.Endpoint, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		objects := client.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true})
		for rerr := range client.RemoveObjects(ctx, bucket, objects, minio.RemoveObjectsOptions{}) {
			t.Errorf("remove %s: %v", rerr.ObjectName, rerr.Err)
		}
		if err := client.RemoveBucket(ctx, bucket); err != nil {
			t.Errorf("remove bucket %s: %v", bucket, err)
		}
	})
	return bucket, client
}

func newBackend(t *testing.T, cfg s3.Config) *s3.Backend {
	t.Helper()
	b, err := s3.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	cfg := testConfig()
	cfg.Bucket, _ = testBucket(t)
	cfg.Prefix = "root"
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b := newBackend(t, cfg)
		require.NoError(t, b.Check(t.Context()))
		return b
	})
}

func TestCheck(t *testing.T) {
	cfg := testConfig()
	cfg.Bucket, _ = testBucket(t)
	require.NoError(t, newBackend(t, cfg).Check(t.Context()))

	missing := cfg
	missing.Bucket = "fftest-no-such-bucket"
	err := newBackend(t, missing).Check(t.Context())
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err), "%v", err)

	bad := cfg
	bad.SecretKey = "wrong-secret-0123456789"
	err = newBackend(t, bad).Check(t.Context())
	require.Equal(t, filefleet.EFORBIDDEN, filefleet.ErrorCode(err), "%v", err)
	require.Contains(t, filefleet.ErrorMessage(err), "refused the credentials")
	require.NotContains(t, err.Error(), bad.SecretKey)

	// A bad secret is refused by the other calls too.
	_, err = newBackend(t, bad).Stat(t.Context(), "x")
	require.Equal(t, filefleet.EFORBIDDEN, filefleet.ErrorCode(err), "%v", err)
	require.NotContains(t, err.Error(), bad.SecretKey)
}

func TestCheckUnreachable(t *testing.T) {
	cfg := testConfig()
	cfg.Endpoint, cfg.Bucket = "127.0.0.1:1", "fftest-unreachable"
	start := time.Now()
	err := newBackend(t, cfg).Check(t.Context())
	require.Equal(t, filefleet.EUNAVAILABLE, filefleet.ErrorCode(err), "%v", err)
	require.Contains(t, filefleet.ErrorMessage(err), "127.0.0.1:1")
	require.NotContains(t, err.Error(), cfg.SecretKey)
	require.Less(t, time.Since(start), 20*time.Second)
}

func TestNew(t *testing.T) {
	for _, cfg := range []s3.Config{
		{Bucket: "b"},
		{Endpoint: "127.0.0.1:9000"},
		{Endpoint: "127.0.0.1:9000", Bucket: "b", Prefix: "../up"},
		{Endpoint: "http://127.0.0.1:9000/path", Bucket: "b"},
	} {
		_, err := s3.New(cfg)
		require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err), "%+v: %v", cfg.Prefix, err)
	}
}

// TestListDirectoryCursor pages with limits that put directories at the end of pages, so
// the next page starts from a directory cursor, and checks directory marker objects.
func TestListDirectoryCursor(t *testing.T) {
	cfg := testConfig()
	bucket, client := testBucket(t)
	cfg.Bucket = bucket
	b := newBackend(t, cfg)
	ctx := t.Context()
	for _, p := range []string{"cur/a", "cur/b/1", "cur/b/2", "cur/b/3", "cur/c", "cur/d/x/1", "cur/d/y", "cur/e", "cur/m-marked/in"} {
		_, err := b.Put(ctx, p, strings.NewReader(p))
		require.NoError(t, err)
	}
	// Zero-byte directory markers, as the S3 console and other tools create them.
	for _, key := range []string{"cur/", "cur/m-marked/", "cur/only-marker/"} {
		_, err := client.PutObject(ctx, bucket, key, bytes.NewReader(nil), 0, minio.PutObjectOptions{})
		require.NoError(t, err)
	}

	all := []string{"a", "b/", "c", "d/", "e", "m-marked/", "only-marker/"}
	for _, limit := range []int{1, 2, 3} {
		var got []string
		cursor := ""
		for range 20 {
			entries, next, err := b.List(ctx, "cur", cursor, limit)
			require.NoError(t, err)
			for _, e := range entries {
				name := e.Name()
				if e.IsDir {
					name += "/"
				}
				got = append(got, name)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		require.Equal(t, all, got, "limit %d", limit)
	}

	entries, next, err := b.List(ctx, "cur/only-marker", "", 10)
	require.NoError(t, err)
	require.Empty(t, entries)
	require.Equal(t, "", next)
	st, err := b.Stat(ctx, "cur/only-marker")
	require.NoError(t, err)
	require.True(t, st.IsDir)
	entries, _, err = b.List(ctx, "cur/m-marked", "", 10)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "cur/m-marked/in", entries[0].Path)
	require.NotEmpty(t, entries[0].ETag)
	require.NotContains(t, entries[0].ETag, `"`)
}
