package store

import (
	"context"
	"path"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
)

// CatalogFile is a catalog file as organize plans it.
type CatalogFile struct {
	ID      int64      `db:"id"`
	RootID  int64      `db:"root_id"`
	Path    string     `db:"path"`
	Size    int64      `db:"size"`
	ModTime time.Time  `db:"mtime"`
	TakenAt *time.Time `db:"taken_at"`
	BLAKE3  []byte     `db:"hash_blake3"`
}

// underPrefix selects the files of root $1 below directory $2 ("" for all of it), present and
// not in the trash.
const underPrefix = `root_id = $1 AND NOT deleted AND ($2 = '' OR starts_with(path, $2 || '/'))
	AND NOT starts_with(path, '` + filefleet.TrashDir + `/')`

// FilesUnder returns the files of a root below prefix, in path order.
func FilesUnder(ctx context.Context, q sqlx.QueryerContext, rootID int64, prefix string) ([]CatalogFile, error) {
	var files []CatalogFile
	err := sqlx.SelectContext(ctx, q, &files, `SELECT id, root_id, path, size, mtime, taken_at, hash_blake3
		FROM files WHERE `+underPrefix+` ORDER BY path`, rootID, prefix)
	return files, translate(err, "files under")
}

// PathsUnder returns the set of paths of a root's files below prefix.
func PathsUnder(ctx context.Context, q sqlx.QueryerContext, rootID int64, prefix string) (map[string]bool, error) {
	var paths []string
	err := sqlx.SelectContext(ctx, q, &paths, `SELECT path FROM files WHERE `+underPrefix, rootID, prefix)
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		set[p] = true
	}
	return set, translate(err, "paths under")
}

// ExifExtensions are the file extensions whose EXIF date organize jobs read.
var ExifExtensions = []string{"jpg", "jpeg", "tif", "tiff"}

// ExifTargets returns the ids of the images of scopes whose EXIF date has not been read since
// they last changed, in root and path order (the tasks read their rows, see TargetsByID).
func ExifTargets(ctx context.Context, q sqlx.QueryerContext, scopes []Scope) ([]int64, error) {
	ids, prefixes := scopeArgs(scopes)
	var images []int64
	err := sqlx.SelectContext(ctx, q, &images, `SELECT f.id
		FROM `+inScopes+`
		WHERE NOT f.deleted AND NOT f.exif_read AND f.size > 0 AND f.ext = ANY($3)
		ORDER BY f.root_id, f.path`, ids, prefixes, pq.Array(ExifExtensions))
	return images, translate(err, "exif targets")
}

// ExifDate is the EXIF date read from a file (nil: it has none).
type ExifDate struct {
	Target  HashTarget
	TakenAt *time.Time
}

// SetExifDates records EXIF dates of files that have not changed since they were read.
func SetExifDates(ctx context.Context, q sqlx.ExecerContext, dates []ExifDate) error {
	if len(dates) == 0 {
		return nil
	}
	n := len(dates)
	ids, sizes, mtimes, taken := make([]int64, n), make([]int64, n), make([]string, n), make([]*string, n)
	for i, d := range dates {
		ids[i], sizes[i], mtimes[i] = d.Target.ID, d.Target.Size, d.Target.ModTime.UTC().Format(time.RFC3339Nano)
		if d.TakenAt != nil {
			s := d.TakenAt.UTC().Format(time.RFC3339Nano)
			taken[i] = &s
		}
	}
	_, err := q.ExecContext(ctx, `UPDATE files f SET exif_read = true, taken_at = u.taken_at
		FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS u(id, size, mtime, taken_at)
		WHERE f.id = ANY($1) AND f.id = u.id AND f.size = u.size AND f.mtime = u.mtime`, // ANY: see SetHashes
		pq.Array(ids), pq.Array(sizes), pq.Array(mtimes), pq.Array(taken))
	return translate(err, "set exif dates")
}

// MovedFile is where a file is after a move, as storage describes it.
type MovedFile struct {
	RootID  int64
	Path    string
	Size    int64
	ModTime time.Time
	ETag    string
}

// MoveFile makes the catalog follow a move: the row of srcRoot/srcPath takes the destination's
// root, path and stat (its content hashes stay: the move was verified), and a stale row at the
// destination, of a file no longer there, is dropped.
func MoveFile(ctx context.Context, q sqlx.ExecerContext, srcRoot int64, srcPath string, to MovedFile) error {
	_, err := q.ExecContext(ctx, `DELETE FROM files WHERE root_id = $1 AND path = $2 AND NOT (root_id = $3 AND path = $4)`,
		to.RootID, to.Path, srcRoot, srcPath)
	if err != nil {
		return translate(err, "move file")
	}
	dir, name := path.Dir(to.Path), path.Base(to.Path)
	if dir == "." {
		dir = ""
	}
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(name), "."))
	_, err = q.ExecContext(ctx, `UPDATE files SET root_id = $3, path = $4, dir = $5, name = $6, ext = $7, size = $8,
			mtime = $9, etag = $10, deleted = false, updated_at = now()
		WHERE root_id = $1 AND path = $2`,
		srcRoot, srcPath, to.RootID, to.Path, dir, name, ext, to.Size, to.ModTime, to.ETag)
	return translate(err, "move file")
}
