// Package archive streams storage files into zip, tar, tar.gz and tar.zst archives: entries are
// copied from a backend to any writer one buffer at a time, so memory does not grow with the
// archive's size.
package archive

import (
	"archive/tar"
	"archive/zip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/zeebo/blake3"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
)

// Format is an archive format.
type Format string

// Formats.
const (
	Zip    Format = "zip"
	Tar    Format = "tar"
	TarGz  Format = "tar.gz"
	TarZst Format = "tar.zst"
)

// Formats lists every format, in the order error messages name them.
var Formats = []Format{Zip, Tar, TarGz, TarZst}

// ParseFormat returns the format named s; "" is zip (the catalog seed's default). "tgz" is
// tar.gz. EINVALID names the supported formats.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case "":
		return Zip, nil
	case "tgz":
		return TarGz, nil
	case Zip, Tar, TarGz, TarZst:
		return f, nil
	}
	return "", filefleet.Errorf(filefleet.EINVALID, "invalid format %q. Supported: zip, tar, tar.gz, tar.zst", s).
		WithDetails(map[string]any{"supported": Formats})
}

// Ext is the file name extension of the format, without the dot.
func (f Format) Ext() string { return string(f) }

// ContentType is the MIME type of the format.
func (f Format) ContentType() string {
	switch f {
	case Zip:
		return "application/zip"
	case TarGz:
		return "application/gzip"
	case TarZst:
		return "application/zstd"
	}
	return "application/x-tar"
}

// File is one file to archive: Path on the backend, Name inside the archive.
type File struct {
	Path    string
	Name    string
	Size    int64
	ModTime time.Time
}

// Summary describes a written archive.
type Summary struct {
	Entries int    `json:"entries"`
	Bytes   int64  `json:"bytes"`  // content bytes of the entries
	Size    int64  `json:"size"`   // of the archive
	BLAKE3  string `json:"blake3"` // of the archive, hex
}

// ErrChanged means a file's size on storage differs from the size it was listed with.
var ErrChanged = errors.New("file changed while being archived")

// bufSize is the copy buffer: large reads keep S3 and SMB streams busy.
const bufSize = 256 << 10

var buffers = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Write streams files of backend b into dst as an archive of format f. progress, if not nil,
// gets the content bytes copied so far after each buffer. A file whose size changed since it
// was listed fails the archive with ErrChanged (an archive never holds a torn entry).
func Write(ctx context.Context, dst io.Writer, f Format, b storage.Backend, files []File, progress func(bytes int64)) (Summary, error) {
	sum := blake3.New()
	counted := &countingWriter{w: io.MultiWriter(dst, sum)}
	ew, err := newEntryWriter(counted, f)
	if err != nil {
		return Summary{}, err
	}
	var s Summary
	buf := buffers.Get().(*[]byte)
	defer buffers.Put(buf)
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		w, err := ew.create(file)
		if err != nil {
			return s, fmt.Errorf("archive entry %s: %w", file.Name, err)
		}
		n, err := copyFile(ctx, w, b, file, *buf, func(n int64) {
			if progress != nil {
				progress(s.Bytes + n)
			}
		})
		s.Bytes += n
		if err != nil {
			return s, err
		}
		s.Entries++
	}
	if err := ew.Close(); err != nil {
		return s, fmt.Errorf("finish archive: %w", err)
	}
	s.Size, s.BLAKE3 = counted.n, hex.EncodeToString(sum.Sum(nil))
	return s, nil
}

// copyFile copies exactly file.Size bytes of file into w.
func copyFile(ctx context.Context, w io.Writer, b storage.Backend, file File, buf []byte, progress func(int64)) (int64, error) {
	r, err := b.Open(ctx, file.Path, 0, -1)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var done int64
	for done < file.Size {
		chunk := buf[:min(int64(len(buf)), file.Size-done)]
		n, err := io.ReadFull(r, chunk)
		if n > 0 {
			if _, werr := w.Write(chunk[:n]); werr != nil {
				return done, werr
			}
			done += int64(n)
			progress(done)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return done, fmt.Errorf("%s: %w (shorter than %d bytes); scan the root again", file.Path, ErrChanged, file.Size)
		} else if err != nil {
			return done, err
		}
	}
	if n, _ := r.Read(buf[:1]); n > 0 {
		return done, fmt.Errorf("%s: %w (longer than %d bytes); scan the root again", file.Path, ErrChanged, file.Size)
	}
	return done, nil
}

// entryWriter writes the entries of one archive format.
type entryWriter interface {
	create(File) (io.Writer, error)
	Close() error
}

func newEntryWriter(w io.Writer, f Format) (entryWriter, error) {
	switch f {
	case Zip:
		zw := zip.NewWriter(w)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, flate.DefaultCompression)
		})
		return zipWriter{zw}, nil
	case Tar:
		return &tarWriter{tw: tar.NewWriter(w)}, nil
	case TarGz:
		gz := gzip.NewWriter(w)
		return &tarWriter{tw: tar.NewWriter(gz), compressor: gz}, nil
	case TarZst:
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return &tarWriter{tw: tar.NewWriter(zw), compressor: zw}, nil
	}
	return nil, filefleet.Errorf(filefleet.EINVALID, "unknown archive format %q", f)
}

type zipWriter struct{ zw *zip.Writer }

func (z zipWriter) create(f File) (io.Writer, error) {
	return z.zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.ModTime,
		UncompressedSize64: uint64(f.Size)})
}

func (z zipWriter) Close() error { return z.zw.Close() }

type tarWriter struct {
	tw         *tar.Writer
	compressor io.WriteCloser // gzip or zstd under the tar stream; nil for plain tar
}

func (t *tarWriter) create(f File) (io.Writer, error) {
	err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Size: f.Size, Mode: 0o644,
		ModTime: f.ModTime, Format: tar.FormatPAX})
	return t.tw, err
}

func (t *tarWriter) Close() error {
	if err := t.tw.Close(); err != nil {
		return err
	}
	if t.compressor != nil {
		return t.compressor.Close()
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
