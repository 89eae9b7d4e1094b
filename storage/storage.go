// Package storage defines the Backend interface every storage root kind implements, and path
// confinement shared by all of them.
package storage

import (
	"context"
	"io"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/filefleet/filefleet"
)

// Entry is one file or directory of a backend.
type Entry struct {
	Path    string    // slash-separated, relative to the root, never starting with "/"
	Size    int64     // bytes; 0 for directories
	ModTime time.Time // zero when the backend does not know it (S3 common prefixes)
	ETag    string    // content tag when the backend has one (S3), else ""
	FileKey string    // equal for every path of one file (hard links, symlinks), "" when unknown
	IsDir   bool
}

// Name returns the last element of the entry's path.
func (e Entry) Name() string { return path.Base(e.Path) }

// Backend is a storage root's files. Paths are relative to the root and must pass CleanPath;
// "" is the root itself. Errors are *filefleet.Error with codes ENOTFOUND (no such file),
// ECONFLICT (already exists), EFORBIDDEN (permission denied), EUNAVAILABLE (server
// unreachable) or EINVALID (bad path); anything else is EINTERNAL.
type Backend interface {
	// List returns up to limit entries of directory dir (one level, not recursive), in
	// ascending byte order of name where a directory compares as name+"/" (S3 key order),
	// starting after cursor ("" starts at the beginning). Names that are not UTF-8 are left
	// out: no path can name them. next is the cursor of the following page, "" when there is none.
	List(ctx context.Context, dir, cursor string, limit int) (entries []Entry, next string, err error)
	// Stat returns the entry at p.
	Stat(ctx context.Context, p string) (Entry, error)
	// Open reads length bytes of file p from offset; length < 0 reads to the end.
	Open(ctx context.Context, p string, offset, length int64) (io.ReadCloser, error)
	// Put writes r to file p (creating parent directories), replacing any file there.
	// The size need not be known in advance; a partly written file is never visible at p.
	Put(ctx context.Context, p string, r io.Reader) (Entry, error)
	// Rename moves file src to dst within the root; ECONFLICT if dst exists.
	Rename(ctx context.Context, src, dst string) error
	// Copy copies file src to dst within the root (server-side where possible); ECONFLICT if dst exists.
	Copy(ctx context.Context, src, dst string) error
	// Remove deletes file p.
	Remove(ctx context.Context, p string) error
	// Close releases connections.
	Close() error
}

// TempStaleAfter is the age after which a backend's listing removes a temporary file of its
// own (a Put or Copy whose writer died before renaming it into place). Writes finish long
// before; such leftovers would otherwise take space for good, unseen.
const TempStaleAfter = 24 * time.Hour

// StaleTemp reports whether a temporary file last written at mtime was left behind.
func StaleTemp(mtime time.Time) bool { return time.Since(mtime) > TempStaleAfter }

// CopyRenamer is a Backend whose Rename copies and then deletes (S3): its check that the
// destination is free and the copy are apart, so callers that race for one name must
// serialize.
type CopyRenamer interface {
	RenamesByCopy() bool
}

// RenamesByCopy reports whether b's Rename copies and then deletes.
func RenamesByCopy(b Backend) bool {
	c, ok := b.(CopyRenamer)
	return ok && c.RenamesByCopy()
}

// CleanPath normalizes a user-supplied path inside a root: it returns the slash-separated
// relative path without a leading or trailing slash ("" for the root itself). It rejects
// absolute paths, ".." elements, backslashes, NUL bytes and text that is not UTF-8 (which the
// catalog cannot hold) with EINVALID.
func CleanPath(p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", filefleet.Errorf(filefleet.EINVALID, "path contains a NUL byte")
	}
	if !utf8.ValidString(p) {
		return "", filefleet.Errorf(filefleet.EINVALID, "path %q is not valid UTF-8; name files in UTF-8", p)
	}
	if strings.Contains(p, `\`) {
		return "", filefleet.Errorf(filefleet.EINVALID, "path %q contains a backslash; use forward slashes", p)
	}
	if strings.HasPrefix(p, "/") {
		return "", filefleet.Errorf(filefleet.EINVALID, "path %q is absolute; give a path relative to the root", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return "", filefleet.Errorf(filefleet.EINVALID, "path %q leaves the root (contains \"..\")", p)
		}
	}
	c := path.Clean("/" + p)[1:]
	return c, nil
}

// NameMax is the longest file or directory name, in bytes, that common file systems take
// (ext4, XFS; NTFS counts 255 UTF-16 units).
const NameMax = 255

// CheckNameLengths returns EINVALID when a name in the clean path p is longer than NameMax.
func CheckNameLengths(p string) error {
	for _, el := range strings.Split(p, "/") {
		if len(el) > NameMax {
			return filefleet.Errorf(filefleet.EINVALID,
				"%q is too long: a file or directory name holds at most %d bytes; use shorter names", p, NameMax)
		}
	}
	return nil
}

// NotInTrash returns EINVALID when the clean path p is filefleet.TrashDir or inside it: only
// deletions and plans move files there, and anything else there would get in their way.
func NotInTrash(p string) error {
	// Case-blind: SMB shares and some local file systems ignore case, and .FILEFLEET-TRASH
	// is the trash folder there.
	if top, _, _ := strings.Cut(p, "/"); strings.EqualFold(top, filefleet.TrashDir) {
		return filefleet.Errorf(filefleet.EINVALID,
			"%q is inside the trash folder %s/, which filefleet keeps for deleted files; write somewhere else", p, filefleet.TrashDir)
	}
	return nil
}

// CleanFilePath is CleanPath for a step the root directory cannot take; step names it in
// the error ("write to", "remove").
func CleanFilePath(p, step string) (string, error) {
	p, err := CleanPath(p)
	if err == nil && p == "" {
		err = filefleet.Errorf(filefleet.EINVALID, "cannot %s the root directory", step)
	}
	return p, err
}

// CleanPair cleans the source and destination of a rename or copy; neither may be the root.
func CleanPair(src, dst string) (string, string, error) {
	src, err := CleanPath(src)
	if err != nil {
		return "", "", err
	}
	dst, err = CleanPath(dst)
	if err != nil {
		return "", "", err
	}
	if src == "" || dst == "" {
		return "", "", filefleet.Errorf(filefleet.EINVALID, "the root directory cannot be renamed or copied")
	}
	return src, dst, nil
}

// Join joins a directory and a name into a root-relative path.
func Join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// Absent returns ECONFLICT when p exists in b: a destination that must not be overwritten.
func Absent(ctx context.Context, b Backend, p string) error {
	taken, err := Exists(ctx, b, p)
	if err == nil && taken {
		err = filefleet.Errorf(filefleet.ECONFLICT, "%q already exists", p)
	}
	return err
}

// Exists reports whether p exists in b (a file or a directory).
func Exists(ctx context.Context, b Backend, p string) (bool, error) {
	_, err := b.Stat(ctx, p)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		return false, nil
	}
	return err == nil, err
}

// Walk calls fn for every file (not directory) below dir, depth first, pages of pageSize.
func Walk(ctx context.Context, b Backend, dir string, pageSize int, fn func(Entry) error) error {
	cursor := ""
	for {
		entries, next, err := b.List(ctx, dir, cursor, pageSize)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir {
				if err := Walk(ctx, b, e.Path, pageSize, fn); err != nil {
					return err
				}
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// SpaceReporter is a Backend that knows its filesystem's size and free space.
type SpaceReporter interface {
	Statfs(ctx context.Context) (total, free uint64, err error)
}
