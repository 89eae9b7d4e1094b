package hashing_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/hashing"
	"github.com/filefleet/filefleet/storage/local"
)

func backend(t testing.TB, files map[string][]byte) (*local.Backend, string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	b, err := local.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, dir
}

func TestFullKnownDigests(t *testing.T) {
	b, _ := backend(t, map[string][]byte{"abc": []byte("abc")})
	s, n, err := hashing.Full(context.Background(), b, "abc", 3,
		[]filefleet.HashAlgo{filefleet.HashSHA256, filefleet.HashMD5})
	require.NoError(t, err)
	require.EqualValues(t, 3, n)
	// BLAKE3 test vector of "abc".
	require.Equal(t, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85", hex.EncodeToString(s.BLAKE3))
	sha := sha256.Sum256([]byte("abc"))
	md := md5.Sum([]byte("abc"))
	require.Equal(t, sha[:], s.SHA256)
	require.Equal(t, md[:], s.MD5)
}

func TestFullDetectsChangedSize(t *testing.T) {
	b, _ := backend(t, map[string][]byte{"f": []byte("hello")})
	_, _, err := hashing.Full(context.Background(), b, "f", 4, nil)
	require.True(t, errors.Is(err, hashing.ErrChanged), "%v", err)
}

func TestPartial(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 10<<10) // 160 KiB
	lastByte := bytes.Clone(big)
	lastByte[len(lastByte)-1] ^= 1
	middle := bytes.Clone(big)
	middle[len(middle)/2] ^= 1
	b, _ := backend(t, map[string][]byte{"big": big, "last": lastByte, "middle": middle, "small": []byte("tiny")})
	ctx := context.Background()
	size := int64(len(big))

	p0, n, whole, err := hashing.Partial(ctx, b, "big", size)
	require.NoError(t, err)
	require.False(t, whole)
	require.EqualValues(t, 2*hashing.PartialBlock, n, "reads only head and tail")
	p1, _, _, err := hashing.Partial(ctx, b, "last", size)
	require.NoError(t, err)
	require.NotEqual(t, p0, p1, "a different last byte changes the partial hash")
	p2, _, _, err := hashing.Partial(ctx, b, "middle", size)
	require.NoError(t, err)
	require.Equal(t, p0, p2, "the middle is not read")
	f0, _, err := hashing.Full(ctx, b, "big", size, nil)
	require.NoError(t, err)
	f2, _, err := hashing.Full(ctx, b, "middle", size, nil)
	require.NoError(t, err)
	require.NotEqual(t, f0.BLAKE3, f2.BLAKE3, "the full hash sees the middle")
	require.Equal(t, p0, f0.Partial, "a full read yields the partial hash too")

	ps, n, whole, err := hashing.Partial(ctx, b, "small", 4)
	require.NoError(t, err)
	require.True(t, whole, "a small file is read whole")
	require.EqualValues(t, 4, n)
	fs, _, err := hashing.Full(ctx, b, "small", 4, nil)
	require.NoError(t, err)
	require.Equal(t, fs.BLAKE3, ps)
	require.Equal(t, ps, fs.Partial)
}

// BenchmarkFull hashes a 64 MiB local file (page-cached) with BLAKE3 through the backend.
func BenchmarkFull(b *testing.B) {
	data := make([]byte, 64<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	be, _ := backend(b, map[string][]byte{"f": data})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if _, _, err := hashing.Full(context.Background(), be, "f", int64(len(data)), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFullSmallFiles hashes 1,000 files of 100 KiB two directories deep: the per-file
// cost of opening and setting up.
func BenchmarkFullSmallFiles(b *testing.B) {
	files := map[string][]byte{}
	data := make([]byte, 100<<10)
	for i := range data {
		data[i] = byte(i * 13)
	}
	be, dir := backend(b, nil)
	var paths []string
	for i := range 1000 {
		p := filepath.Join(fmt.Sprintf("d%02d", i%10), fmt.Sprintf("s%02d", i%7), fmt.Sprintf("f%04d", i))
		require.NoError(b, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(b, os.WriteFile(filepath.Join(dir, p), data, 0o644))
		paths = append(paths, filepath.ToSlash(p))
	}
	_ = files
	b.SetBytes(int64(len(data) * len(paths)))
	b.ResetTimer()
	for range b.N {
		for _, p := range paths {
			if _, _, err := hashing.Full(context.Background(), be, p, int64(len(data)), nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
