package archive_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zeebo/blake3"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/archive"
	"github.com/filefleet/filefleet/archive/archivetest"
	"github.com/filefleet/filefleet/storage/local"
)

// tree writes files (path → content) under a new directory and returns a backend on it.
func tree(t *testing.T, files map[string]string) *local.Backend {
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	b, err := local.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

func TestWriteEveryFormat(t *testing.T) {
	files := map[string]string{
		"photos/2024/a.jpg":      "aaaa",
		"photos/2024/b c.jpg":    string(bytes.Repeat([]byte("xyz"), 200_000)),
		"photos/2024/日本/ü.txt":   "unicode",
		"photos/2024/empty.bin":  "",
		"photos/other/skip.txt":  "not selected",
		"photos/2024x/skip2.txt": "not selected either",
	}
	b := tree(t, files)
	ctx := context.Background()
	l, err := archive.Collect(ctx, b, archive.Selection{Prefix: "photos/2024"}, 0)
	require.NoError(t, err)
	require.Len(t, l.Files, 4)
	want := map[string]string{}
	for p, c := range files {
		if rel, ok := bytes.CutPrefix([]byte(p), []byte("photos/")); ok && bytes.HasPrefix(rel, []byte("2024/")) {
			want[string(rel)] = c
		}
	}
	require.Equal(t, int64(4+600_000+7), l.Bytes)
	for _, f := range archive.Formats {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			var last int64
			s, err := archive.Write(ctx, &buf, f, b, l.Files, func(n int64) { last = n })
			require.NoError(t, err)
			require.Equal(t, want, archivetest.Entries(t, f, buf.Bytes()))
			require.Equal(t, 4, s.Entries)
			require.Equal(t, l.Bytes, s.Bytes)
			require.Equal(t, l.Bytes, last)
			require.Equal(t, int64(buf.Len()), s.Size)
			sum := blake3.Sum256(buf.Bytes())
			require.Equal(t, sum[:], mustHex(t, s.BLAKE3))
		})
	}
}

func TestCollectPathsAndLimits(t *testing.T) {
	b := tree(t, map[string]string{"a/x.txt": "12345", "a/y.txt": "678", "b/z.txt": "9", "c.txt": "0"})
	ctx := context.Background()
	l, err := archive.Collect(ctx, b, archive.Selection{Paths: []string{"a", "c.txt", "a/x.txt"}}, 0)
	require.NoError(t, err)
	var names []string
	for _, f := range l.Files {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{"a/x.txt", "a/y.txt", "c.txt"}, names, "listed paths keep their path, each file once")

	_, err = archive.Collect(ctx, b, archive.Selection{Prefix: ""}, 9)
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err))
	var fe *filefleet.Error
	require.True(t, errors.As(err, &fe))
	require.Equal(t, int64(10), fe.Details["total_size"], "the whole total is reported, not where listing stopped")
	require.Equal(t, int64(9), fe.Details["max_size"])

	_, err = archive.Collect(ctx, b, archive.Selection{Prefix: "nope"}, 0)
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err))
	_, err = archive.Collect(ctx, b, archive.Selection{Paths: []string{"../etc/passwd"}}, 0)
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err))
}

func TestWriteChangedFile(t *testing.T) {
	b := tree(t, map[string]string{"d/f.txt": "hello"})
	ctx := context.Background()
	l, err := archive.Collect(ctx, b, archive.Selection{Prefix: "d"}, 0)
	require.NoError(t, err)
	for _, size := range []int64{3, 9} {
		l.Files[0].Size = size
		_, err = archive.Write(ctx, io.Discard, archive.Tar, b, l.Files, nil)
		require.ErrorIs(t, err, archive.ErrChanged, "size %d", size)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]archive.Format{"": archive.Zip, "ZIP": archive.Zip, "tgz": archive.TarGz,
		"tar.zst": archive.TarZst, "tar": archive.Tar} {
		f, err := archive.ParseFormat(in)
		require.NoError(t, err)
		require.Equal(t, want, f)
	}
	_, err := archive.ParseFormat("rar")
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err))
	require.Contains(t, filefleet.ErrorMessage(err), "zip, tar, tar.gz")
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	return b
}
