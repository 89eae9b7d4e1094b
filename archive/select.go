package archive

import (
	"context"
	"path"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
)

// Selection is what to archive from one root: a directory (Prefix; "" is the whole root) or
// a list of Paths (files or directories). Entry names keep the selected directory's own name
// (like `tar czf x.tgz dir`); listed paths keep their path inside the root.
type Selection struct {
	Prefix string
	Paths  []string
	// Exclude is a path left out: the archive's own target when it lies in what is
	// archived, so that a retried job, or one that replaces an earlier archive, never packs
	// the archive into itself.
	Exclude string
}

// Listing is the files a selection holds.
type Listing struct {
	Files []File
	Bytes int64
}

// listPageSize is how many entries one List call returns.
const listPageSize = 1000

// Collect lists the files of sel on backend b, in listing order, each once. It fails with
// EINVALID (Details total_size, max_size) when their size passes maxBytes (0: no limit),
// and fails with ENOTFOUND when sel holds no file.
func Collect(ctx context.Context, b storage.Backend, sel Selection, maxBytes int64) (Listing, error) {
	var l Listing
	var seen map[string]bool // only several paths can name a file twice ("a" and "a/x.txt")
	if len(sel.Paths) > 1 {
		seen = map[string]bool{}
	}
	add := func(e storage.Entry, base string) error {
		if seen[e.Path] || (sel.Exclude != "" && e.Path == sel.Exclude) {
			return nil
		}
		if seen != nil {
			seen[e.Path] = true
		}
		l.Bytes += e.Size
		if maxBytes > 0 && l.Bytes > maxBytes {
			return nil // only the total counts now, for the error
		}
		name := e.Path
		if base != "" {
			name = e.Path[len(base)+1:]
		}
		l.Files = append(l.Files, File{Path: e.Path, Name: name, Size: e.Size, ModTime: e.ModTime})
		return nil
	}
	tops := sel.Paths
	if len(tops) == 0 {
		tops = []string{sel.Prefix}
	}
	for _, top := range tops {
		p, err := storage.CleanPath(top)
		if err != nil {
			return l, err
		}
		if err := collectOne(ctx, b, p, len(sel.Paths) == 0, add); err != nil {
			return l, err
		}
	}
	if maxBytes > 0 && l.Bytes > maxBytes {
		return Listing{}, tooLarge(l.Bytes, maxBytes)
	}
	if len(l.Files) == 0 {
		return l, filefleet.Errorf(filefleet.ENOTFOUND, "directory not found or empty: nothing to archive")
	}
	return l, nil
}

// collectOne adds file p, or the files below directory p. Names are relative to p's parent
// when byParent (a selected directory keeps its name), else the paths themselves.
func collectOne(ctx context.Context, b storage.Backend, p string, byParent bool, add func(storage.Entry, string) error) error {
	base := ""
	if byParent && p != "" {
		if base = path.Dir(p); base == "." {
			base = ""
		}
	}
	if p != "" {
		e, err := b.Stat(ctx, p)
		if err != nil {
			if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
				return filefleet.Errorf(filefleet.ENOTFOUND, "%q: no such file or directory in the root", p)
			}
			return err
		}
		if !e.IsDir {
			return add(e, base)
		}
	}
	return storage.Walk(ctx, b, p, listPageSize, func(e storage.Entry) error { return add(e, base) })
}

// tooLarge is the error of a selection over the size limit (the catalog seed's shape).
func tooLarge(total, max int64) error {
	return filefleet.Errorf(filefleet.EINVALID,
		"directory too large for download: %d bytes (limit %d); archive it with POST /api/v1/archive instead", total, max).
		WithDetails(map[string]any{"total_size": total, "max_size": max})
}
