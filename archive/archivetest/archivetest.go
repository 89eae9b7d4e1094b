// Package archivetest reads archives back, for tests of what package archive writes.
package archivetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/archive"
)

// Entries reads archive data of format f back into entry name → content.
func Entries(t testing.TB, f archive.Format, data []byte) map[string]string {
	out := map[string]string{}
	if f == archive.Zip {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		require.NoError(t, err)
		for _, zf := range zr.File {
			r, err := zf.Open()
			require.NoError(t, err)
			b, err := io.ReadAll(r)
			require.NoError(t, err)
			out[zf.Name] = string(b)
		}
		return out
	}
	var r io.Reader = bytes.NewReader(data)
	switch f {
	case archive.TarGz:
		gz, err := gzip.NewReader(r)
		require.NoError(t, err)
		r = gz
	case archive.TarZst:
		zr, err := zstd.NewReader(r)
		require.NoError(t, err)
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		out[h.Name] = string(b)
	}
}
