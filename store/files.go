package store

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
)

// ScannedFile is one file as a scan saw it.
type ScannedFile struct {
	Path    string
	Size    int64
	ModTime time.Time
	ETag    string
	FileKey string
}

// UpsertFiles records files of a root as seen by scan generation gen, in one statement: new
// paths are inserted, known ones updated (updated_at changes only when size, mtime or etag do)
// and undeleted. Content hashes of a file whose size, mtime or etag changed are cleared. An
// ETag of 32 hex digits (a single-part S3 upload) is the content's MD5 and is kept as such.
// EXIF dates of a changed file are cleared too.
func UpsertFiles(ctx context.Context, q sqlx.ExecerContext, rootID, gen int64, files []ScannedFile) error {
	if len(files) == 0 {
		return nil
	}
	n := len(files)
	paths, dirs, names, exts, mtimes, etags, keys := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	sizes := make([]int64, n)
	for i, f := range files {
		paths[i], sizes[i], etags[i], keys[i] = f.Path, f.Size, f.ETag, f.FileKey
		dirs[i], names[i] = path.Dir(f.Path), path.Base(f.Path)
		if dirs[i] == "." {
			dirs[i] = ""
		}
		exts[i] = strings.ToLower(strings.TrimPrefix(path.Ext(names[i]), "."))
		mtimes[i] = f.ModTime.UTC().Format(time.RFC3339Nano)
	}
	_, err := q.ExecContext(ctx, `
		INSERT INTO files (root_id, scan_gen, path, dir, name, ext, size, mtime, etag, file_key, hash_md5)
		SELECT $1, $2, u.*, CASE WHEN u.etag ~ '^[0-9a-f]{32}$' THEN decode(u.etag, 'hex') END
		FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
			$8::timestamptz[], $9::text[], $10::text[]) AS u(path, dir, name, ext, size, mtime, etag, file_key)
		ON CONFLICT (root_id, path) DO UPDATE SET
			size = EXCLUDED.size, mtime = EXCLUDED.mtime, etag = EXCLUDED.etag, deleted = false,
			file_key = EXCLUDED.file_key,
			hash_partial = CASE WHEN `+unchanged+` THEN files.hash_partial END,
			hash_blake3 = CASE WHEN `+unchanged+` THEN files.hash_blake3 END,
			hash_sha256 = CASE WHEN `+unchanged+` THEN files.hash_sha256 END,
			hash_md5 = coalesce(EXCLUDED.hash_md5, CASE WHEN `+unchanged+` THEN files.hash_md5 END),
			exif_read = `+unchanged+` AND files.exif_read,
			taken_at = CASE WHEN `+unchanged+` THEN files.taken_at END,
			scan_gen = greatest(files.scan_gen, EXCLUDED.scan_gen),
			updated_at = CASE WHEN files.deleted OR files.size <> EXCLUDED.size OR files.mtime <> EXCLUDED.mtime
				OR files.etag <> EXCLUDED.etag THEN now() ELSE files.updated_at END`,
		rootID, gen, pq.Array(paths), pq.Array(dirs), pq.Array(names), pq.Array(exts), pq.Array(sizes),
		pq.Array(mtimes), pq.Array(etags), pq.Array(keys))
	return translate(err, "upsert files")
}

// unchanged is true in an upsert when the scanned file matches its catalog row.
const unchanged = `(files.size = EXCLUDED.size AND files.mtime = EXCLUDED.mtime AND files.etag = EXCLUDED.etag)`

// MarkDeleted marks the files below prefix ("" for the whole root) that scan generation gen
// did not see as deleted, and returns how many it marked.
func MarkDeleted(ctx context.Context, q sqlx.ExecerContext, rootID, gen int64, prefix string) (int64, error) {
	res, err := q.ExecContext(ctx, `UPDATE files SET deleted = true, updated_at = now()
		WHERE root_id = $1 AND NOT deleted AND scan_gen < $2 AND ($3 = '' OR starts_with(path, $3 || '/'))`,
		rootID, gen, prefix)
	if err != nil {
		return 0, translate(err, "mark deleted")
	}
	return res.RowsAffected()
}

// VanishedFiles returns how many live files below prefix ("" for the whole root) the catalog
// holds when scan generation gen saw none there, and 0 when it saw at least one: a scope
// that vanished whole, as an unmounted disk or share does.
func VanishedFiles(ctx context.Context, q sqlx.QueryerContext, rootID, gen int64, prefix string) (int64, error) {
	var n int64
	err := sqlx.GetContext(ctx, q, &n, `
		SELECT CASE WHEN EXISTS (SELECT 1 FROM files WHERE root_id = $1 AND scan_gen >= $2
		                         AND ($3 = '' OR starts_with(path, $3 || '/')))
		       THEN 0
		       ELSE (SELECT count(*) FROM files WHERE root_id = $1 AND NOT deleted
		             AND ($3 = '' OR starts_with(path, $3 || '/'))) END`, rootID, gen, prefix)
	return n, translate(err, "check for a vanished scope")
}

const fileColumns = `f.id, f.root_id, r.name AS root_name, f.path, f.name, f.ext, f.size, false AS is_directory,
	f.mime_type, f.etag, f.mtime, f.created_at, f.updated_at, f.scan_gen, f.deleted,
	encode(f.hash_blake3, 'hex') AS blake3, encode(f.hash_sha256, 'hex') AS sha256, encode(f.hash_md5, 'hex') AS md5`

// ListFilesParams filters and pages ListFiles.
type ListFilesParams struct {
	RootID         int64  // 0 for all roots
	Path           string // directory prefix inside the root; "" for all
	IncludeDeleted bool
	Limit          int
	Offset         int
	SortBy         string // path (default), name, size, modified_at, created_at
	SortOrder      string // asc (default for path and name) or desc
}

// fileSortColumns maps API sort names to columns.
var fileSortColumns = map[string]string{"path": "f.path", "name": "f.name", "size": "f.size",
	"modified_at": "f.mtime", "created_at": "f.created_at", "extension": "f.ext"}

// FileSortNames are the names ListFiles sorts by.
var FileSortNames = []string{"path", "name", "size", "modified_at", "created_at", "extension"}

// ListFiles returns a page of catalog files and how many match.
func ListFiles(ctx context.Context, q sqlx.QueryerContext, p ListFilesParams) ([]filefleet.File, int64, error) {
	where := []string{"true"}
	var args []any
	if p.RootID != 0 {
		// By id, not by a join on the root's name: the planner then walks the (root_id, path)
		// index in path order (first page of a 300,000-file root: 113 ms -> 0.4 ms).
		args = append(args, p.RootID)
		where = append(where, fmt.Sprintf("f.root_id = $%d", len(args)))
	}
	if p.Path != "" {
		args = append(args, p.Path)
		where = append(where, fmt.Sprintf("starts_with(f.path, $%d || '/')", len(args)))
	}
	if !p.IncludeDeleted {
		where = append(where, "NOT f.deleted")
	}
	cond := strings.Join(where, " AND ")
	from := ` FROM files f JOIN roots r ON r.id = f.root_id WHERE ` + cond
	var total int64
	if err := sqlx.GetContext(ctx, q, &total, `SELECT count(*)`+from, args...); err != nil {
		return nil, 0, translate(err, "count files")
	}
	col, ok := fileSortColumns[p.SortBy]
	if !ok {
		col = "f.path"
	}
	dir := "ASC"
	if strings.EqualFold(p.SortOrder, "desc") {
		dir = "DESC"
	}
	args = append(args, p.Limit, p.Offset)
	files := []filefleet.File{}
	err := sqlx.SelectContext(ctx, q, &files, fmt.Sprintf(`SELECT %s%s ORDER BY %s %s, f.id LIMIT $%d OFFSET $%d`,
		fileColumns, from, col, dir, len(args)-1, len(args)), args...)
	return files, total, translate(err, "list files")
}

// GetFile returns the catalog file with id; ENOTFOUND if there is none.
func GetFile(ctx context.Context, q sqlx.QueryerContext, id int64) (*filefleet.File, error) {
	var f filefleet.File
	err := sqlx.GetContext(ctx, q, &f, `SELECT `+fileColumns+` FROM files f JOIN roots r ON r.id = f.root_id
		WHERE f.id = $1`, id)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "file %d not found", id)
	}
	return &f, translate(err, "get file")
}

// NextScanGeneration returns a new scan generation number, larger than all before it.
func NextScanGeneration(ctx context.Context, q sqlx.QueryerContext) (int64, error) {
	var gen int64
	err := sqlx.GetContext(ctx, q, &gen, `SELECT nextval('scan_generation')`)
	return gen, translate(err, "next scan generation")
}

// SetDeleted marks the catalog row of a file deleted or present again.
func SetDeleted(ctx context.Context, q sqlx.ExecerContext, rootID int64, path string, deleted bool) error {
	_, err := q.ExecContext(ctx, `UPDATE files SET deleted = $3, updated_at = now() WHERE root_id = $1 AND path = $2`,
		rootID, path, deleted)
	return translate(err, "set deleted")
}

// FileDeletion is one entry of the journal of DELETE /files/{id}.
type FileDeletion struct {
	ID        int64  `json:"id" db:"id"`
	FileID    int64  `json:"file_id" db:"file_id"`
	RootID    int64  `json:"-" db:"root_id"`
	Path      string `json:"path" db:"path"`
	TrashPath string `json:"trash_path,omitempty" db:"trash_path"`
	UserID    *int64 `json:"user_id,omitempty" db:"user_id"`
	RequestID string `json:"request_id" db:"request_id"`
	State     string `json:"state" db:"state"`
	Message   string `json:"message,omitempty" db:"message"`
}

// StartDeletion journals a deletion before the file is touched; it fills d.ID and, when
// trash is set, d.TrashPath (.filefleet-trash/deleted/<id>/<path>), so that the journal says
// where the file goes before it moves: a crash right after the move leaves it findable.
func StartDeletion(ctx context.Context, q sqlx.QueryerContext, d *FileDeletion, trash bool) error {
	row := struct {
		ID        int64  `db:"id"`
		TrashPath string `db:"trash_path"`
	}{}
	err := sqlx.GetContext(ctx, q, &row, `WITH n AS (SELECT nextval(pg_get_serial_sequence('file_deletions', 'id')) AS id)
		INSERT INTO file_deletions (id, file_id, root_id, path, trash_path, user_id, request_id)
		SELECT n.id, $1, $2, $3, CASE WHEN $7 THEN $4 || n.id || '/' || $3 ELSE '' END, $5, $6 FROM n
		RETURNING id, trash_path`, d.FileID, d.RootID, d.Path, filefleet.TrashDir+"/deleted/", d.UserID, d.RequestID, trash)
	d.ID, d.TrashPath, d.State = row.ID, row.TrashPath, "in_progress"
	return translate(err, "start deletion")
}

// FinishDeletion records how deletion id ended: done (the catalog marks the file deleted in
// the same transaction, see SetDeleted) or failed with a message.
func FinishDeletion(ctx context.Context, q sqlx.ExecerContext, id int64, state, trashPath, message string) error {
	_, err := q.ExecContext(ctx, `UPDATE file_deletions SET state = $2, trash_path = $3, message = $4, finished_at = now()
		WHERE id = $1`, id, state, trashPath, message)
	return translate(err, "finish deletion")
}

// RecordWritten records a file filefleet wrote itself (an upload, an archive, a conversion)
// as a scan would, with the BLAKE3 of its content, and returns its catalog id.
func RecordWritten(ctx context.Context, q sqlx.ExtContext, rootID int64, e storage.Entry, blake3 []byte) (int64, error) {
	f := ScannedFile{Path: e.Path, Size: e.Size, ModTime: e.ModTime, ETag: e.ETag, FileKey: e.FileKey}
	gen, err := NextScanGeneration(ctx, q)
	if err != nil {
		return 0, err
	}
	if err := UpsertFiles(ctx, q, rootID, gen, []ScannedFile{f}); err != nil {
		return 0, err
	}
	var id int64
	err = sqlx.GetContext(ctx, q, &id, `UPDATE files SET hash_blake3 = $3 WHERE root_id = $1 AND path = $2
		RETURNING id`, rootID, f.Path, blake3)
	return id, translate(err, "record written file")
}
