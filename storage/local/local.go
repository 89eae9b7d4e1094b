// Package local implements storage.Backend on a local directory, confined with os.Root so
// that no path or symlink reaches outside it.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
)

// TempPrefix starts the names of the files Put and Copy write before renaming them into
// place. List hides them, and removes those older than storage.TempStaleAfter.
const TempPrefix = ".filefleet-tmp-"

// Backend is a storage.Backend on a local directory.
type Backend struct {
	dir      string
	root     atomic.Pointer[os.Root] // see fs
	checked  atomic.Int64            // when fs last checked root (Unix nanoseconds)
	closed   atomic.Bool             // Close ran: fs opens nothing more
	listings storage.Listings[listItem]
}

var _ storage.Backend = (*Backend)(nil)

// New opens the directory dir. It returns ENOTFOUND when dir does not exist and EINVALID
// when it is not a directory.
func New(dir string) (*Backend, error) {
	if dir == "" {
		return nil, filefleet.Errorf(filefleet.EINVALID, "local root directory is empty")
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, filefleet.WrapError(filefleet.ENOTFOUND, err, "directory %q does not exist", dir)
	} else if errors.Is(err, fs.ErrPermission) {
		return nil, filefleet.WrapError(filefleet.EFORBIDDEN, err, "permission denied on directory %q", dir)
	} else if err != nil {
		return nil, mapErr(err, dir)
	}
	if !fi.IsDir() {
		return nil, filefleet.Errorf(filefleet.EINVALID, "%q is not a directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, mapErr(err, dir)
	}
	b := &Backend{dir: dir}
	b.root.Store(root)
	b.checked.Store(time.Now().UnixNano())
	return b, nil
}

// RootRecheck is how often a backend checks that its directory's path still names the
// directory it opened.
var RootRecheck = 10 * time.Second

// fs returns the directory an operation goes through: take it once per operation (see
// dirRoot). A worker keeps a backend for its lifetime, and an os.Root holds the directory it
// opened: when a file system is mounted on the path later (a NAS that came up after the
// worker), or the directory is replaced, the path names another directory, and a scan of the
// old one would find it empty. So every RootRecheck, fs compares the two and opens the path
// again when they differ; the old root is closed a minute later, when the operations under
// way have ended.
func (b *Backend) fs() dirRoot {
	return dirRoot{b.current()}
}

// current returns the os.Root of b's path, opened again when the path names another
// directory than the one held (checked every RootRecheck).
func (b *Backend) current() *os.Root {
	r := b.root.Load()
	now, last := time.Now().UnixNano(), b.checked.Load()
	if b.closed.Load() || now-last < int64(RootRecheck) || !b.checked.CompareAndSwap(last, now) {
		return r
	}
	want, err := os.Stat(b.dir)
	if err != nil {
		return r
	}
	if have, err := r.Stat("."); err == nil && os.SameFile(want, have) {
		return r
	}
	fresh, err := os.OpenRoot(b.dir)
	if err != nil {
		return r
	}
	if b.closed.Load() || !b.root.CompareAndSwap(r, fresh) {
		fresh.Close()
		return b.root.Load()
	}
	time.AfterFunc(time.Minute, func() { r.Close() })
	return fresh
}

// Dir returns the directory the backend was opened on.
func (b *Backend) Dir() string { return b.dir }

// List implements storage.Backend. Entries sort by name, a directory's name compared as if
// it ended in "/" (the order S3 lists keys in); the cursor is the last returned name, with
// a trailing "/" for a directory. Symlinks are followed when their target is inside the
// root and skipped otherwise, as are temporary files, special files and names that are not
// UTF-8. The pages of a large directory share one read of it (storage.Listings).
func (b *Backend) List(ctx context.Context, dir, cursor string, limit int) ([]storage.Entry, string, error) {
	dir, err := storage.CleanPath(dir)
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		return nil, "", filefleet.Errorf(filefleet.EINVALID, "list limit must be positive, got %d", limit)
	}
	root := b.fs()
	d, err := root.OpenRoot(osName(dir))
	if err != nil {
		if fi, serr := root.Stat(osName(dir)); serr == nil && !fi.IsDir() {
			return nil, "", filefleet.Errorf(filefleet.EINVALID, "%q is not a directory", dir)
		}
		return nil, "", mapErr(err, dir)
	}
	defer d.Close()
	items, kept, err := b.sortedItems(root, d, dir, limit)
	if err != nil {
		return nil, "", err
	}
	items = items[sort.Search(len(items), func(i int) bool { return items[i].key > cursor }):]

	entries := make([]storage.Entry, 0, min(limit, len(items)))
	for i, it := range items {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		if len(entries) == limit {
			return entries, cursorOf(entries[limit-1]), nil
		}
		fi, err := it.info(root, d, dir, kept)
		if err != nil {
			continue // removed since ReadDir
		}
		entries = append(entries, entryOf(storage.Join(dir, it.de.Name()), fi))
	}
	return entries, "", nil
}

// listItem is one listable entry of a directory.
type listItem struct {
	key string // name, plus "/" for a directory
	de  fs.DirEntry
	fi  fs.FileInfo // set for symlinks: the target's info
}

// info returns the item's file info (its target's for a symlink): as ReadDir read it, or
// when the item was kept from an earlier read (kept), read again, in dir (the root's
// directory dir) by name.
func (it listItem) info(root dirRoot, d *os.Root, dir string, kept bool) (fs.FileInfo, error) {
	switch {
	case !kept && it.fi != nil:
		return it.fi, nil
	case !kept:
		return it.de.Info() // read by ReadDir already: a directory in an os.Root reads them all
	case it.fi != nil:
		return root.Stat(osName(storage.Join(dir, it.de.Name())))
	}
	return d.Lstat(it.de.Name())
}

// sortedItems returns the listable entries of root's dir, opened as d, sorted by key: from the
// listings cache (kept) when dir has not changed since it was read, else read anew (and
// cached when it holds more than one page of limit entries).
func (b *Backend) sortedItems(root dirRoot, d *os.Root, dir string, limit int) (items []listItem, kept bool, err error) {
	f, err := d.Open(".")
	if err != nil {
		return nil, false, mapErr(err, dir)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, mapErr(err, dir)
	}
	if items, ok := b.listings.Get(dir, fi.ModTime()); ok {
		return items, true, nil
	}
	readAt := time.Now()
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, false, mapErr(err, dir)
	}
	items = make([]listItem, 0, len(des))
	for _, de := range des {
		if it, ok := root.listable(dir, de); ok {
			items = append(items, it)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	if len(items) > limit {
		b.listings.Put(dir, fi.ModTime(), readAt, items)
	}
	return items, false, nil
}

// listable returns the list item for directory entry de of dir, false for one List leaves
// out. It removes a stale temporary file on the way.
func (r dirRoot) listable(dir string, de fs.DirEntry) (listItem, bool) {
	name := de.Name()
	if strings.HasPrefix(name, TempPrefix) {
		if fi, err := de.Info(); err == nil && fi.Mode().IsRegular() && storage.StaleTemp(fi.ModTime()) {
			_ = r.Remove(osName(storage.Join(dir, name))) // a dead writer's leftover
		}
		return listItem{}, false
	}
	if !utf8.ValidString(name) {
		return listItem{}, false // a name no path (nor the catalog) can hold
	}
	it := listItem{key: name, de: de}
	isDir := de.IsDir()
	switch t := de.Type(); {
	case t&fs.ModeSymlink != 0:
		fi, err := r.Stat(osName(storage.Join(dir, name)))
		if err != nil || !(fi.Mode().IsRegular() || fi.IsDir()) {
			return listItem{}, false // escapes the root, dangles or points at a special file
		}
		if fi.IsDir() && r.isAncestor(fi, dir) {
			return listItem{}, false // a loop (current -> .): following it would never end
		}
		it.fi, isDir = fi, fi.IsDir()
	case !t.IsRegular() && !t.IsDir():
		return listItem{}, false // devices, pipes, sockets
	}
	if isDir {
		it.key += "/"
	}
	return it, true
}

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, p string) (storage.Entry, error) {
	p, err := storage.CleanPath(p)
	if err != nil {
		return storage.Entry{}, err
	}
	fi, err := b.fs().Stat(osName(p))
	if err != nil {
		return storage.Entry{}, mapErr(err, p)
	}
	return entryOf(p, fi), nil
}

// Open implements storage.Backend. It returns EINVALID for a directory or special file.
func (b *Backend) Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error) {
	p, err := storage.CleanPath(p)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, filefleet.Errorf(filefleet.EINVALID, "negative offset %d", offset)
	}
	// O_NONBLOCK: opening a named pipe must not block; it is refused below.
	f, err := b.fs().OpenFile(osName(p), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, mapErr(err, p)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = notFile(p, fi)
	}
	if err != nil {
		_ = f.Close()
		return nil, mapErr(err, p)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			_ = f.Close()
			return nil, mapErr(err, p)
		}
	}
	var r io.Reader = f
	if length >= 0 {
		r = io.LimitReader(f, length)
	}
	return readCloser{Reader: r, Closer: f}, nil
}

// Put implements storage.Backend: it writes a temporary file in p's directory and renames
// it to p. It returns ECONFLICT when p or one of its parents is of the wrong kind.
func (b *Backend) Put(ctx context.Context, p string, r io.Reader) (storage.Entry, error) {
	p, err := storage.CleanFilePath(p, "write to")
	if err != nil {
		return storage.Entry{}, err
	}
	root := b.fs()
	tmp, fi, err := root.writeTemp(ctx, p, r)
	if err != nil {
		return storage.Entry{}, err
	}
	if err := root.Rename(tmp, p); err != nil {
		_ = root.Remove(tmp)
		return storage.Entry{}, mapErr(err, p)
	}
	return entryOf(p, fi), nil
}

// Rename implements storage.Backend.
func (b *Backend) Rename(ctx context.Context, src, dst string) error {
	src, dst, err := storage.CleanPair(src, dst)
	if err != nil {
		return err
	}
	root := b.fs()
	srcInfo, err := root.Lstat(src)
	if err != nil {
		return mapErr(err, src)
	}
	if err := root.absent(dst); err != nil && !root.sameName(srcInfo, src, dst) {
		return err
	}
	if err := root.mkdirParents(dst); err != nil {
		return err
	}
	if err := root.Rename(src, dst); err != nil {
		return mapErr(err, dst)
	}
	return nil
}

// Copy implements storage.Backend.
func (b *Backend) Copy(ctx context.Context, src, dst string) error {
	src, dst, err := storage.CleanPair(src, dst)
	if err != nil {
		return err
	}
	root := b.fs()
	fi, err := root.Stat(src)
	if err != nil {
		return mapErr(err, src)
	}
	if !fi.Mode().IsRegular() {
		return notFile(src, fi)
	}
	if err := root.absent(dst); err != nil {
		return err
	}
	f, err := root.Open(src)
	if err != nil {
		return mapErr(err, src)
	}
	defer f.Close()
	tmp, _, err := root.writeTemp(ctx, dst, f)
	if err != nil {
		return err
	}
	if err := root.absent(dst); err != nil { // created while copying
		_ = root.Remove(tmp)
		return err
	}
	if err := root.Rename(tmp, dst); err != nil {
		_ = root.Remove(tmp)
		return mapErr(err, dst)
	}
	return nil
}

// Remove implements storage.Backend. It also removes empty directories; a directory that
// is not empty gives ECONFLICT.
func (b *Backend) Remove(ctx context.Context, p string) error {
	p, err := storage.CleanFilePath(p, "remove")
	if err != nil {
		return err
	}
	if err := b.fs().Remove(p); err != nil {
		return mapErr(err, p)
	}
	return nil
}

// Close implements storage.Backend.
func (b *Backend) Close() error {
	b.closed.Store(true)
	return b.root.Load().Close()
}

// dirRoot is the backend's directory as one operation sees it: the os.Root fs gave when the
// operation began, so that all of its steps act on one directory even if fs opens the path
// again meanwhile.
type dirRoot struct{ *os.Root }

// writeTemp creates p's parents and copies r into a new temporary file next to p. It
// returns the temporary file's name and info; the caller renames or removes it.
func (root dirRoot) writeTemp(ctx context.Context, p string, r io.Reader) (string, fs.FileInfo, error) {
	if err := root.mkdirParents(p); err != nil {
		return "", nil, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(p), TempPrefix+hex.EncodeToString(rnd[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", nil, mapErr(err, p)
	}
	fi, err := func() (fs.FileInfo, error) {
		if _, err := io.Copy(f, ctxReader{ctx: ctx, r: r}); err != nil {
			return nil, err
		}
		if err := f.Sync(); err != nil {
			return nil, err
		}
		return f.Stat()
	}()
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		_ = root.Remove(tmp)
		if ctx.Err() != nil {
			return "", nil, ctx.Err()
		}
		return "", nil, mapErr(err, p)
	}
	return tmp, fi, nil
}

// mkdirParents creates the directories above p.
func (r dirRoot) mkdirParents(p string) error {
	dir := path.Dir(p)
	if dir == "." {
		return nil
	}
	err := r.MkdirAll(dir, 0o755)
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
		return filefleet.WrapError(filefleet.ECONFLICT, err, "a parent of %q is not a directory", p)
	} else if err != nil {
		return mapErr(err, dir)
	}
	return nil
}

// absent returns ECONFLICT when p exists (as anything, even a dangling symlink).
func (r dirRoot) absent(p string) error {
	_, err := r.Lstat(p)
	if err == nil {
		return filefleet.Errorf(filefleet.ECONFLICT, "%q already exists", p)
	} else if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return mapErr(err, p)
}

// isAncestor reports whether directory fi is dir or one of the directories above it up to
// the root: a symlink to it makes a loop.
func (r dirRoot) isAncestor(fi fs.FileInfo, dir string) bool {
	for d := dir; ; d = path.Dir(d) {
		if d == "." {
			d = ""
		}
		if ai, err := r.Stat(osName(d)); err == nil && os.SameFile(fi, ai) {
			return true
		}
		if d == "" {
			return false
		}
	}
}

// sameName reports whether dst, which exists, is src itself under a name that differs only
// in letter case: on a file system that ignores case, renaming to it changes the case.
func (r dirRoot) sameName(srcInfo fs.FileInfo, src, dst string) bool {
	if !strings.EqualFold(src, dst) {
		return false
	}
	dstInfo, err := r.Lstat(dst)
	return err == nil && os.SameFile(srcInfo, dstInfo)
}

// osName returns the os.Root name of a cleaned path ("." for the root).
func osName(p string) string {
	if p == "" {
		return "."
	}
	return p
}

func entryOf(p string, fi fs.FileInfo) storage.Entry {
	e := storage.Entry{Path: p, ModTime: fi.ModTime(), IsDir: fi.IsDir()}
	if !e.IsDir {
		e.Size = fi.Size()
		// Every file gets its key, not only hard links: a symlink (to the file or to a
		// directory above it) names the same file under a second path.
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			e.FileKey = fmt.Sprintf("%d:%d", st.Dev, st.Ino)
		}
	}
	return e
}

func cursorOf(e storage.Entry) string {
	if e.IsDir {
		return e.Name() + "/"
	}
	return e.Name()
}

func notFile(p string, fi fs.FileInfo) error {
	if fi.IsDir() {
		return filefleet.Errorf(filefleet.EINVALID, "%q is a directory", p)
	}
	return filefleet.Errorf(filefleet.EINVALID, "%q is not a regular file", p)
}

// mapErr turns an os error about p into a *filefleet.Error where a code fits.
func mapErr(err error, p string) error {
	var fe *filefleet.Error
	switch {
	case errors.As(err, &fe):
		return err
	case strings.Contains(err.Error(), "path escapes from parent"):
		return filefleet.WrapError(filefleet.EINVALID, err, "%q leads outside the root (through a symlink)", p)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return filefleet.WrapError(filefleet.ENOTFOUND, err, "%q not found", p)
	case errors.Is(err, fs.ErrExist), errors.Is(err, syscall.ENOTEMPTY), errors.Is(err, syscall.EISDIR):
		return filefleet.WrapError(filefleet.ECONFLICT, err, "%q already exists or is a directory", p)
	case errors.Is(err, fs.ErrPermission):
		return filefleet.WrapError(filefleet.EFORBIDDEN, err, "permission denied on %q", p)
	case errors.Is(err, syscall.ELOOP):
		return filefleet.WrapError(filefleet.EINVALID, err, "%q has too many levels of symlinks", p)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return filefleet.WrapError(filefleet.EINVALID, err,
			"%q is too long: a file or directory name holds at most %d bytes, a path 4096; use shorter names", p, storage.NameMax)
	}
	return fmt.Errorf("local %q: %w", p, err)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// ctxReader stops a copy once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// Statfs reports the size and free space of the filesystem holding the root.
func (b *Backend) Statfs(ctx context.Context) (total, free uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(b.dir, &st); err != nil {
		return 0, 0, mapErr(err, "")
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize), nil
}
