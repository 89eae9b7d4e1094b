// Package s3 implements storage.Backend on an S3 bucket (AWS S3, MinIO and compatibles)
// with minio-go.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
)

// PartSize is the multipart part size of Put. Put buffers one part in memory, and an
// object written by Put can be at most 10,000 parts (156 GiB) long.
const PartSize = 16 << 20

// headBuffers hold the first PartSize+1 bytes of a Put.
var headBuffers = sync.Pool{New: func() any { b := make([]byte, PartSize+1); return &b }}

// MaxRetries is how often a request is retried after a network or server error.
const MaxRetries = 3

// maxListLimit caps List's limit so that a page and its look-ahead entry (limit+1 keys)
// fit in one ListObjectsV2 response, which servers cap at 1000 keys.
const maxListLimit = 999

// dirCursorSuffix ends the cursor of a directory entry: the highest code point, so that
// the next page starts after every key inside the directory.
const dirCursorSuffix = "\U0010FFFF"

// Config says where a bucket is and how to log in.
type Config struct {
	Endpoint  string // host:port, without scheme
	Bucket    string
	Prefix    string // key prefix of the root; "" for the whole bucket, "/" is appended if missing
	Region    string // "" lets the client ask the server
	AccessKey string
	SecretKey string
	UseSSL    bool
}

// Backend is a storage.Backend on an S3 bucket. A path p is the object key Prefix+p; a
// directory is the set of keys under "Prefix+p/", plus an optional zero-byte marker
// object named like that.
type Backend struct {
	client    *minio.Client
	transport *http.Transport
	endpoint  string
	bucket    string
	prefix    string
}

var _ storage.Backend = (*Backend)(nil)

// New returns a backend for cfg without contacting the server (see Check). It returns
// EINVALID when the endpoint, bucket or prefix is malformed.
func New(cfg Config) (*Backend, error) {
	if cfg.Endpoint == "" {
		return nil, filefleet.Errorf(filefleet.EINVALID, "S3 endpoint is required")
	}
	if cfg.Bucket == "" {
		return nil, filefleet.Errorf(filefleet.EINVALID, "S3 bucket is required")
	}
	if err := s3utils.CheckValidBucketName(cfg.Bucket); err != nil {
		return nil, filefleet.WrapError(filefleet.EINVALID, err, "%q is not a valid S3 bucket name: %v", cfg.Bucket, err)
	}
	prefix, err := normPrefix(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	tr, err := minio.DefaultTransport(cfg.UseSSL)
	if err != nil {
		return nil, fmt.Errorf("s3 transport: %w", err)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.UseSSL,
		Region:     cfg.Region,
		Transport:  tr,
		MaxRetries: MaxRetries,
	})
	if err != nil {
		return nil, filefleet.WrapError(filefleet.EINVALID, err, "bad S3 endpoint %q (want host:port)", cfg.Endpoint)
	}
	return &Backend{client: client, transport: tr, endpoint: cfg.Endpoint, bucket: cfg.Bucket, prefix: prefix}, nil
}

// normPrefix returns prefix cleaned and ending in "/", or "".
func normPrefix(prefix string) (string, error) {
	p, err := storage.CleanPath(strings.Trim(prefix, "/"))
	if err != nil {
		return "", filefleet.Errorf(filefleet.EINVALID, "bad S3 prefix: %s", filefleet.ErrorMessage(err))
	}
	if p == "" {
		return "", nil
	}
	return p + "/", nil
}

// Check verifies that the server answers, accepts the credentials and has the bucket. It
// returns EUNAVAILABLE, EFORBIDDEN or ENOTFOUND otherwise.
func (b *Backend) Check(ctx context.Context) error {
	ok, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil {
		return b.mapErr(err, "")
	}
	if !ok {
		return filefleet.Errorf(filefleet.ENOTFOUND, "bucket %q not found on %s", b.bucket, b.endpoint)
	}
	return nil
}

// List implements storage.Backend. Entries come in key order, so a directory sorts as if
// its name ended in "/". The cursor is opaque: the full key of a file, or the directory's
// key prefix followed by U+10FFFF. A limit above 999 is lowered to 999. It returns
// ENOTFOUND for a directory with no keys (other than the root).
func (b *Backend) List(ctx context.Context, dir, cursor string, limit int) ([]storage.Entry, string, error) {
	dir, err := storage.CleanPath(dir)
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", filefleet.Errorf(filefleet.EINVALID, "list limit must be positive, got %d", limit)
	}
	limit = min(limit, maxListLimit)
	pfx := b.dirKey(dir)

	lctx, cancel := context.WithCancel(ctx)
	ch := b.client.ListObjects(lctx, b.bucket, minio.ListObjectsOptions{
		Prefix:     pfx,
		StartAfter: cursor,
		MaxKeys:    limit + 1,
		Recursive:  false,
	})
	defer func() {
		cancel()
		for range ch { // the lister exits once it sees the cancel
		}
	}()

	type item struct {
		key   string // object key or common prefix
		entry storage.Entry
	}
	var items []item
	sawMarker := false
	for obj := range ch {
		if obj.Err != nil {
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			return nil, "", b.mapErr(obj.Err, dir)
		}
		if obj.Key == pfx {
			sawMarker = true
			continue
		}
		name, isDir := strings.CutSuffix(strings.TrimPrefix(obj.Key, pfx), "/")
		if name == "" || name == "." || name == ".." || strings.Contains(name, "/") || !utf8.ValidString(name) {
			continue // keys no path can name, such as "a//b"
		}
		e := storage.Entry{Path: storage.Join(dir, name), IsDir: isDir}
		if !isDir {
			e.Size, e.ModTime, e.ETag = obj.Size, obj.LastModified, strings.Trim(obj.ETag, `"`)
		}
		items = append(items, item{key: obj.Key, entry: e})
		if len(items) > limit {
			break
		}
	}
	// minio-go sends each response's objects before its common prefixes, so a page must
	// come from one response (MaxKeys limit+1), read whole, and be sorted. Only with a
	// directory marker does the look-ahead entry come from a second response; it sorts
	// after the page and is dropped.
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })

	if len(items) == 0 && cursor == "" && dir != "" && !sawMarker {
		return nil, "", filefleet.Errorf(filefleet.ENOTFOUND, "directory %q not found", dir)
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		last := items[limit-1]
		next = last.key
		if last.entry.IsDir {
			next += dirCursorSuffix
		}
	}
	entries := make([]storage.Entry, len(items))
	for i, it := range items {
		entries[i] = it.entry
	}
	return entries, next, nil
}

// Stat implements storage.Backend. A path with keys under "p/" but no object p is a
// directory. Stat of "" checks the bucket.
func (b *Backend) Stat(ctx context.Context, p string) (storage.Entry, error) {
	p, err := storage.CleanPath(p)
	if err != nil {
		return storage.Entry{}, err
	}
	if p == "" {
		if err := b.Check(ctx); err != nil {
			return storage.Entry{}, err
		}
		return storage.Entry{Path: "", IsDir: true}, nil
	}
	info, err := b.client.StatObject(ctx, b.bucket, b.key(p), minio.StatObjectOptions{})
	if err == nil {
		return b.fileEntry(p, info), nil
	}
	if !isNoSuchKey(err) {
		return storage.Entry{}, b.mapErr(err, p)
	}
	ok, err := b.hasKeysUnder(ctx, p)
	if err != nil {
		return storage.Entry{}, err
	}
	if !ok {
		return storage.Entry{}, filefleet.Errorf(filefleet.ENOTFOUND, "%q not found", p)
	}
	return storage.Entry{Path: p, IsDir: true}, nil
}

// Open implements storage.Backend with a ranged GetObject. Reading past the end gives an
// empty reader.
func (b *Backend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	p, err := storage.CleanPath(p)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, filefleet.Errorf(filefleet.EINVALID, "negative offset %d", offset)
	}
	if p == "" {
		return nil, filefleet.Errorf(filefleet.EINVALID, "%q is a directory", p)
	}
	if length == 0 {
		if _, err := b.client.StatObject(ctx, b.bucket, b.key(p), minio.StatObjectOptions{}); err != nil {
			return nil, b.mapErr(err, p)
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	var opts minio.GetObjectOptions
	switch {
	case length > 0:
		err = opts.SetRange(offset, offset+length-1)
	case offset > 0:
		err = opts.SetRange(offset, 0)
	}
	if err != nil {
		return nil, filefleet.WrapError(filefleet.EINVALID, err, "bad range offset %d length %d", offset, length)
	}
	obj, err := b.client.GetObject(ctx, b.bucket, b.key(p), opts)
	if err != nil {
		return nil, b.mapErr(err, p)
	}
	if _, err := obj.Stat(); err != nil { // sends the request
		_ = obj.Close()
		if minio.ToErrorResponse(err).Code == minio.InvalidRange {
			return io.NopCloser(strings.NewReader("")), nil
		}
		return nil, b.mapErr(err, p)
	}
	return obj, nil
}

// Put implements storage.Backend with a multipart upload of PartSize parts; a single
// PutObject when r is shorter than one part.
func (b *Backend) Put(ctx context.Context, p string, r io.Reader) (storage.Entry, error) {
	p, err := storage.CleanFilePath(p, "write to")
	if err != nil {
		return storage.Entry{}, err
	}
	// Up to one part is sent as a single PUT: its ETag is then the content's MD5, which dedupe
	// groups by without reading. Longer content streams as a multipart upload. The head buffer
	// is pooled: growing one per call would leave tens of MB of garbage per large Put.
	buf := headBuffers.Get().(*[]byte)
	defer headBuffers.Put(buf)
	// io.ReadFull and minio-go take io.ErrUnexpectedEOF from the source for a normal end;
	// from a multipart form it means the body ended before its boundary: a cut-off upload.
	tr := &truncationReader{r: r}
	r = tr
	n, err := io.ReadFull(r, *buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return storage.Entry{}, err
	}
	body, size := io.Reader(bytes.NewReader((*buf)[:n])), int64(n)
	if size > PartSize {
		body, size = io.MultiReader(body, r), -1
	}
	info, err := b.client.PutObject(ctx, b.bucket, b.key(p), body, size, minio.PutObjectOptions{PartSize: PartSize})
	if tr.truncated {
		return storage.Entry{}, errTruncated
	} else if err != nil {
		return storage.Entry{}, b.mapErr(err, p)
	}
	e := storage.Entry{Path: p, Size: info.Size, ModTime: info.LastModified, ETag: strings.Trim(info.ETag, `"`)}
	if e.ModTime.IsZero() {
		return b.Stat(ctx, p)
	}
	return e, nil
}

// Rename implements storage.Backend with a server-side copy and a delete.
func (b *Backend) Rename(ctx context.Context, src, dst string) error {
	if err := b.Copy(ctx, src, dst); err != nil {
		return err
	}
	src, _ = storage.CleanPath(src)
	if err := b.client.RemoveObject(ctx, b.bucket, b.key(src), minio.RemoveObjectOptions{}); err != nil {
		return b.mapErr(err, src)
	}
	return nil
}

// RenamesByCopy says that Rename is a copy and a delete, not one step (storage.CopyRenamer).
func (b *Backend) RenamesByCopy() bool { return true }

// Copy implements storage.Backend with a server-side copy (ComposeObject, which switches
// to a multipart copy above 5 GiB).
func (b *Backend) Copy(ctx context.Context, src, dst string) error {
	src, dst, err := storage.CleanPair(src, dst)
	if err != nil {
		return err
	}
	if err := storage.Absent(ctx, b, dst); err != nil {
		return err
	}
	_, err = b.client.ComposeObject(ctx,
		minio.CopyDestOptions{Bucket: b.bucket, Object: b.key(dst)},
		minio.CopySrcOptions{Bucket: b.bucket, Object: b.key(src)})
	if err != nil {
		return b.mapErr(err, src)
	}
	return nil
}

// Remove implements storage.Backend.
func (b *Backend) Remove(ctx context.Context, p string) error {
	p, err := storage.CleanFilePath(p, "remove")
	if err != nil {
		return err
	}
	if _, err := b.client.StatObject(ctx, b.bucket, b.key(p), minio.StatObjectOptions{}); err != nil {
		return b.mapErr(err, p)
	}
	if err := b.client.RemoveObject(ctx, b.bucket, b.key(p), minio.RemoveObjectOptions{}); err != nil {
		return b.mapErr(err, p)
	}
	return nil
}

// Close implements storage.Backend: it closes idle connections.
func (b *Backend) Close() error {
	b.transport.CloseIdleConnections()
	return nil
}

func (b *Backend) key(p string) string { return b.prefix + p }

// dirKey returns the key prefix of the objects in directory dir.
func (b *Backend) dirKey(dir string) string {
	if dir == "" {
		return b.prefix
	}
	return b.prefix + dir + "/"
}

func (b *Backend) fileEntry(p string, info minio.ObjectInfo) storage.Entry {
	return storage.Entry{Path: p, Size: info.Size, ModTime: info.LastModified, ETag: strings.Trim(info.ETag, `"`)}
}

// hasKeysUnder reports whether any key starts with "p/".
func (b *Backend) hasKeysUnder(ctx context.Context, p string) (bool, error) {
	lctx, cancel := context.WithCancel(ctx)
	ch := b.client.ListObjects(lctx, b.bucket, minio.ListObjectsOptions{Prefix: b.dirKey(p), MaxKeys: 1})
	defer func() {
		cancel()
		for range ch {
		}
	}()
	for obj := range ch {
		if obj.Err != nil {
			return false, b.mapErr(obj.Err, p)
		}
		return true, nil
	}
	return false, nil
}

func isNoSuchKey(err error) bool {
	return minio.ToErrorResponse(err).Code == minio.NoSuchKey
}

// mapErr turns a minio-go error about path p into a *filefleet.Error where a code fits.
// Messages name the endpoint and bucket, never the credentials.
func (b *Backend) mapErr(err error, p string) error {
	var fe *filefleet.Error
	if errors.As(err, &fe) {
		return err
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case minio.NoSuchKey:
		return filefleet.WrapError(filefleet.ENOTFOUND, err, "%q not found", p)
	case minio.NoSuchBucket:
		return filefleet.WrapError(filefleet.ENOTFOUND, err, "bucket %q not found on %s", b.bucket, b.endpoint)
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied":
		return filefleet.WrapError(filefleet.EFORBIDDEN, err,
			"the S3 server at %s refused the credentials for bucket %q (%s)", b.endpoint, b.bucket, resp.Code)
	case "XMinioParentIsObject", "XMinioObjectExistsAsDirectory":
		return filefleet.WrapError(filefleet.ECONFLICT, err, "%q or one of its parents exists as the other kind (file or directory)", p)
	case minio.XMinioInvalidObjectName, "InvalidObjectName", "KeyTooLongError":
		return filefleet.WrapError(filefleet.EINVALID, err, "%q is not a valid object name", p)
	case "InvalidBucketName":
		return filefleet.WrapError(filefleet.EINVALID, err, "%q is not a valid bucket name", b.bucket)
	}
	if resp.StatusCode == http.StatusServiceUnavailable || resp.Code == "XMinioServerNotInitialized" {
		return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "the S3 server at %s is unavailable", b.endpoint)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "the S3 server at %s is unreachable", b.endpoint)
	}
	return fmt.Errorf("s3 %s/%s: %w", b.bucket, b.key(p), err)
}

// errTruncated is a source that ended early (it said io.ErrUnexpectedEOF).
var errTruncated = filefleet.Errorf(filefleet.EINVALID, "the content ended before its end (a cut-off upload?); nothing was written")

// truncationReader passes its reader on, turning io.ErrUnexpectedEOF into errTruncated so
// that no reader downstream mistakes it for the end of the content; truncated records it.
type truncationReader struct {
	r         io.Reader
	truncated bool
}

func (t *truncationReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err == io.ErrUnexpectedEOF {
		t.truncated, err = true, errTruncated
	}
	return n, err
}
