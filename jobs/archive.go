package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/archive"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/backends"
	"github.com/filefleet/filefleet/store"
)

// MaxArchivePaths is the most paths one archive job lists.
const MaxArchivePaths = 10000

// prepareArchive validates an archive job: a directory or a list of paths of one root, a
// format, and a target path (default archives/<name>-<time>.<ext> in the same root) that is
// free unless overwrite is set.
func (s *Service) prepareArchive(ctx context.Context, nj store.NewJob, p SubmitParams, roots map[string]*filefleet.Root) (store.NewJob, error) {
	if p.Archive == nil {
		return nj, filefleet.Errorf(filefleet.EINVALID, `archive jobs need "archive": {"root", "prefix" or "paths", "format", "target_root", "target_path"}`)
	}
	a := *p.Archive
	f, err := archive.ParseFormat(a.Format)
	if err != nil {
		return nj, err
	}
	a.Format = string(f)
	if a.Root == "" {
		return nj, filefleet.Errorf(filefleet.EINVALID, "root is required: name the storage root to archive from")
	}
	if a.Prefix != "" && len(a.Paths) > 0 {
		return nj, filefleet.Errorf(filefleet.EINVALID, `give "prefix" (a directory) or "paths" (a list), not both`)
	}
	if len(a.Paths) > MaxArchivePaths {
		return nj, filefleet.Errorf(filefleet.EINVALID, "an archive lists at most %d paths; archive their directory instead", MaxArchivePaths)
	}
	src, err := s.scope(ctx, a.Root, a.Prefix, roots)
	if err != nil {
		return nj, err
	}
	a.Prefix, a.RootID = src.Prefix, src.RootID
	for i, sp := range a.Paths {
		if a.Paths[i], err = storage.CleanPath(sp); err != nil {
			return nj, err
		}
	}
	if a.TargetRoot == "" {
		a.TargetRoot = a.Root
	}
	if a.TargetPath == "" {
		a.TargetPath = defaultArchivePath(a, f, time.Now().UTC())
	}
	dst, err := s.target(ctx, a.TargetRoot, a.TargetPath, a.Overwrite, roots)
	if err != nil {
		return nj, err
	}
	a.TargetPath, a.TargetRootID = dst.Prefix, dst.RootID
	nj.RootID, nj.Root = &a.RootID, a.Root
	nj.Params, _ = json.Marshal(a)
	return nj, nil
}

// defaultArchivePath names an archive after what it holds and when it was asked for.
func defaultArchivePath(a filefleet.ArchiveParams, f archive.Format, now time.Time) string {
	name := a.Root
	if a.Prefix != "" {
		name = path.Base(a.Prefix)
	}
	return fmt.Sprintf("archives/%s-%s.%s", name, now.Format("20060102-150405"), f.Ext())
}

// target resolves a job's output file, path p of root name, and makes sure it is usable (see
// targetFree).
func (s *Service) target(ctx context.Context, name, p string, overwrite bool, roots map[string]*filefleet.Root) (store.Scope, error) {
	dst, err := s.scope(ctx, name, p, roots)
	if err == nil {
		err = s.targetFree(ctx, dst, overwrite)
	}
	return dst, err
}

// targetFree makes sure a job's output path is usable: EINVALID when a name in it is too long
// (storage.NameMax) or it is in the trash folder; ECONFLICT when a file or directory is there already and overwrite is
// false; a directory is never overwritten.
func (s *Service) targetFree(ctx context.Context, target store.Scope, overwrite bool) error {
	if target.Prefix == "" {
		return filefleet.Errorf(filefleet.EINVALID, "the target path is required: a file path inside the target root")
	}
	if err := storage.CheckNameLengths(target.Prefix); err != nil {
		return err
	}
	if err := storage.NotInTrash(target.Prefix); err != nil {
		return err
	}
	e, err := s.stat(ctx, target)
	switch {
	case filefleet.ErrorCode(err) == filefleet.ENOTFOUND:
		return nil
	case err != nil:
		return err
	case e.IsDir:
		return filefleet.Errorf(filefleet.ECONFLICT, "%s:%s is a directory; name a file path", target.Root, target.Prefix)
	case !overwrite:
		return filefleet.Errorf(filefleet.ECONFLICT, "destination file already exists: %s:%s; set \"overwrite\": true to replace it",
			target.Root, target.Prefix)
	}
	return nil
}

// stat returns the entry at a scope's path, asking its storage.
func (s *Service) stat(ctx context.Context, sc store.Scope) (storage.Entry, error) {
	root, err := store.GetRootByID(ctx, s.DB, s.Box, sc.RootID)
	if err != nil {
		return storage.Entry{}, err
	}
	b, err := backends.Open(*root)
	if err != nil {
		return storage.Entry{}, err
	}
	defer b.Close()
	return b.Stat(ctx, sc.Prefix)
}
