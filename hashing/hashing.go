// Package hashing computes content hashes of files on storage backends: BLAKE3 always
// (github.com/zeebo/blake3, assembly-backed), SHA-256 and MD5 on request, and the partial
// hash of a file's first and last blocks that dedupe uses to rule candidates out cheaply.
package hashing

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/zeebo/blake3"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
)

// PartialBlock is how much of a file's head and of its tail the partial hash reads.
const PartialBlock = 16 << 10

// bufSize is the read size: BLAKE3's assembly is at its fastest on writes of 256 KiB or more.
const bufSize = 256 << 10

// ErrChanged means the file on storage no longer has the size the catalog says.
var ErrChanged = errors.New("file changed since it was scanned")

// Sums are the hashes of one file; a nil field was not computed.
type Sums struct {
	Partial []byte // as Partial computes it
	BLAKE3  []byte
	SHA256  []byte
	MD5     []byte
}

var buffers = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// hashers keeps BLAKE3 states for reuse: a new one allocates and clears ~9 KiB, which cost
// more CPU than hashing a small file.
var hashers = sync.Pool{New: func() any { return blake3.New() }}

// newHasher returns a reset BLAKE3 state from the pool; put it back when done.
func newHasher() *blake3.Hasher {
	h := hashers.Get().(*blake3.Hasher)
	h.Reset()
	return h
}

// Full reads file p of backend b (size bytes, as catalogued) and returns its hashes and the
// bytes read. ErrChanged if the file is not size bytes long any more.
func Full(ctx context.Context, b storage.Backend, p string, size int64, algos []filefleet.HashAlgo) (Sums, int64, error) {
	r, err := b.Open(ctx, p, 0, -1)
	if err != nil {
		return Sums{}, 0, err
	}
	defer r.Close()
	b3 := newHasher()
	defer hashers.Put(b3)
	var part *partialWriter // files of at most two blocks: their partial hash is their BLAKE3
	writers := []io.Writer{b3}
	if size > 2*PartialBlock {
		part = &partialWriter{size: size, h: newHasher()}
		defer hashers.Put(part.h)
		writers = append(writers, part)
	}
	var sha, md hash.Hash
	for _, a := range algos {
		switch a {
		case filefleet.HashSHA256:
			sha = sha256.New()
			writers = append(writers, sha)
		case filefleet.HashMD5:
			md = md5.New()
			writers = append(writers, md)
		}
	}
	w := writers[0]
	if len(writers) > 1 {
		w = io.MultiWriter(writers...)
	}
	n, err := Copy(w, r)
	if err != nil {
		return Sums{}, n, err
	}
	if n != size {
		return Sums{}, n, fmt.Errorf("%s: %w (%d bytes, catalog says %d)", p, ErrChanged, n, size)
	}
	s := Sums{BLAKE3: b3.Sum(nil)}
	s.Partial = s.BLAKE3
	if part != nil {
		s.Partial = part.h.Sum(nil)
	}
	if sha != nil {
		s.SHA256 = sha.Sum(nil)
	}
	if md != nil {
		s.MD5 = md.Sum(nil)
	}
	return s, n, nil
}

// Partial returns the BLAKE3 of the first and last PartialBlock bytes of file p (size bytes)
// and the bytes read. A file of at most two blocks is read whole, and whole says its partial
// hash is also its full hash.
func Partial(ctx context.Context, b storage.Backend, p string, size int64) (sum []byte, read int64, whole bool, err error) {
	if size <= 2*PartialBlock {
		s, n, err := Full(ctx, b, p, size, nil)
		return s.BLAKE3, n, err == nil, err
	}
	h := newHasher()
	defer hashers.Put(h)
	for _, off := range []int64{0, size - PartialBlock} {
		n, err := readRange(ctx, b, p, off, h)
		read += n
		if err != nil {
			return nil, read, false, err
		}
		if n != PartialBlock {
			return nil, read, false, fmt.Errorf("%s: %w (short read at %d)", p, ErrChanged, off)
		}
	}
	return h.Sum(nil), read, false, nil
}

func readRange(ctx context.Context, b storage.Backend, p string, off int64, w io.Writer) (int64, error) {
	r, err := b.Open(ctx, p, off, PartialBlock)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return Copy(w, r)
}

// Copy copies r to w through a pooled 256 KiB buffer, filling it before each write.
func Copy(w io.Writer, r io.Reader) (int64, error) {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// partialWriter computes the partial hash of a file of more than two blocks while it streams
// past: its head block and its tail block go into h.
type partialWriter struct {
	size int64
	off  int64
	h    *blake3.Hasher
}

func (p *partialWriter) Write(b []byte) (int, error) {
	start, end := p.off, p.off+int64(len(b))
	p.off = end
	for _, r := range [][2]int64{{0, PartialBlock}, {p.size - PartialBlock, p.size}} {
		lo, hi := max(start, r[0]), min(end, r[1])
		if lo < hi {
			p.h.Write(b[lo-start : hi-start])
		}
	}
	return len(b), nil
}
