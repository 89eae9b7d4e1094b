package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
)

// Catalog statistics count live files (liveFiles: not deleted, not in the trash) of one root
// (rootID) or of all (rootID 0).

// rootCond is the root filter of the statistics; its argument is the root id, 0 for all.
const rootCond = `($1::bigint = 0 OR f.root_id = $1)`

// CatalogTotals are a part of the catalog's totals.
type CatalogTotals struct {
	Files       int64 `json:"total_files" db:"files"`
	Directories int64 `json:"total_directories" db:"dirs"`
	Size        int64 `json:"total_size" db:"size"`
}

// dirTotals is the files and bytes directly in each directory of the catalog ("" is the top of
// a root); ancestors expands it to every directory above each, the directory itself included,
// the top of the root excluded.
const (
	dirTotals = `dir_totals AS (
		SELECT f.root_id, f.dir, count(*) AS n, sum(f.size) AS size FROM files f
		WHERE ` + liveFiles + ` AND ` + rootCond + ` GROUP BY f.root_id, f.dir)`
	ancestors = `ancestors AS (
		SELECT d.root_id, array_to_string(parts[1:i], '/') COLLATE "C" AS path, d.n, d.size
		FROM dir_totals d, string_to_array(d.dir, '/') AS parts, generate_series(1, cardinality(parts)) AS i)`
)

// Totals returns the number of files, their size and the number of directories that hold a
// file (directly or below) of root rootID (0 for all roots). Empty directories are not in the
// catalog, and the top of a root is not counted.
func Totals(ctx context.Context, q sqlx.QueryerContext, rootID int64) (CatalogTotals, error) {
	var t CatalogTotals
	err := sqlx.GetContext(ctx, q, &t, `WITH `+dirTotals+`, `+ancestors+`
		SELECT coalesce((SELECT sum(n) FROM dir_totals), 0) AS files, coalesce((SELECT sum(size) FROM dir_totals), 0) AS size,
			(SELECT count(*) FROM (SELECT DISTINCT root_id, path FROM ancestors) a) AS dirs`, rootID)
	return t, translate(err, "catalog totals")
}

// LastScan returns when the last successful scan of root rootID (0: of any root) finished, or
// nil if none has.
func LastScan(ctx context.Context, q sqlx.QueryerContext, rootID int64) (*time.Time, error) {
	var t *time.Time
	err := sqlx.GetContext(ctx, q, &t, `SELECT max(finished_at) FROM jobs
		WHERE type = 'scan' AND status = 'succeeded' AND ($1::bigint = 0 OR root_id = $1)`, rootID)
	return t, translate(err, "last scan")
}

// CountRoots returns the number of storage roots.
func CountRoots(ctx context.Context, q sqlx.QueryerContext) (int64, error) {
	var n int64
	err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM roots`)
	return n, translate(err, "count roots")
}

// FileTypeStat is the files of one extension.
type FileTypeStat struct {
	FileType    string `json:"file_type" db:"-"` // image, video, audio, text, application, other
	MimeType    string `json:"mime_type" db:"-"` // by ExtensionMIME; "" if unknown
	Extension   string `json:"extension" db:"ext"`
	Count       int64  `json:"count" db:"n"`
	TotalSize   int64  `json:"total_size" db:"size"`
	AverageSize int64  `json:"average_size" db:"average"` // bytes, rounded down
}

// FileTypeStats returns the extensions of root rootID (0 for all) with the most bytes (sortBy
// "size", the default) or files ("count"), at most limit of them, and how many extensions
// there are. Files without an extension count under "".
func FileTypeStats(ctx context.Context, q sqlx.QueryerContext, rootID int64, sortBy string, limit int) ([]FileTypeStat, int64, error) {
	order := "size DESC, n DESC"
	if sortBy == "count" {
		order = "n DESC, size DESC"
	}
	var rows []struct {
		FileTypeStat
		Kinds int64 `db:"kinds"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT ext, n, size, div(size, n)::bigint AS average, count(*) OVER () AS kinds
		FROM (SELECT f.ext, count(*) AS n, sum(f.size)::bigint AS size FROM files f
			WHERE `+liveFiles+` AND `+rootCond+` GROUP BY f.ext) e
		ORDER BY `+order+`, ext COLLATE "C" LIMIT $2`, rootID, limit)
	if err != nil {
		return nil, 0, translate(err, "file type stats")
	}
	out := make([]FileTypeStat, len(rows))
	var kinds int64
	for i, r := range rows {
		out[i], kinds = r.FileTypeStat, r.Kinds
		out[i].MimeType = ExtensionMIME[r.Extension]
		out[i].FileType = "other"
		if major, _, ok := strings.Cut(out[i].MimeType, "/"); ok {
			out[i].FileType = major
		}
	}
	return out, kinds, nil
}

// SizeBuckets counts files by size: tiny < 1 KiB ≤ small < 1 MiB ≤ medium < 10 MiB ≤ large <
// 100 MiB ≤ huge < 1 GiB ≤ massive.
type SizeBuckets struct {
	Tiny    int64 `json:"tiny" db:"tiny"`
	Small   int64 `json:"small" db:"small"`
	Medium  int64 `json:"medium" db:"medium"`
	Large   int64 `json:"large" db:"large"`
	Huge    int64 `json:"huge" db:"huge"`
	Massive int64 `json:"massive" db:"massive"`
}

// SizeStats returns the size buckets of root rootID (0 for all).
func SizeStats(ctx context.Context, q sqlx.QueryerContext, rootID int64) (SizeBuckets, error) {
	var b SizeBuckets
	err := sqlx.GetContext(ctx, q, &b, `SELECT
			count(*) FILTER (WHERE f.size < 1024) AS tiny,
			count(*) FILTER (WHERE f.size >= 1024 AND f.size < 1048576) AS small,
			count(*) FILTER (WHERE f.size >= 1048576 AND f.size < 10485760) AS medium,
			count(*) FILTER (WHERE f.size >= 10485760 AND f.size < 104857600) AS large,
			count(*) FILTER (WHERE f.size >= 104857600 AND f.size < 1073741824) AS huge,
			count(*) FILTER (WHERE f.size >= 1073741824) AS massive
		FROM files f WHERE `+liveFiles+` AND `+rootCond, rootID)
	return b, translate(err, "size stats")
}

// DirectoryStat is a directory with the files it holds.
type DirectoryStat struct {
	Root      string `json:"storage_root_name" db:"root"`
	Path      string `json:"path" db:"path"`
	Name      string `json:"name" db:"-"`
	FileCount int64  `json:"file_count" db:"n"`
	TotalSize int64  `json:"total_size" db:"size"`
}

// DirectoriesBySize returns the limit directories of root rootID (0 for all) with the most
// bytes: counting the files anywhere below each (recursive) or only those directly in it. The
// top of a root is not listed (its totals are the root's). Ties go by root name and path.
func DirectoriesBySize(ctx context.Context, q sqlx.QueryerContext, rootID int64, recursive bool, limit int) ([]DirectoryStat, error) {
	src := `SELECT root_id, dir COLLATE "C" AS path, n, size FROM dir_totals WHERE dir <> ''`
	if recursive {
		src = `SELECT root_id, path, sum(n) AS n, sum(size) AS size FROM ancestors GROUP BY root_id, path`
	}
	out := []DirectoryStat{}
	err := sqlx.SelectContext(ctx, q, &out, `WITH `+dirTotals+`, `+ancestors+`
		SELECT r.name AS root, d.path, d.n, d.size::bigint AS size FROM (`+src+`) d JOIN roots r ON r.id = d.root_id
		ORDER BY d.size DESC, r.name COLLATE "C", d.path LIMIT $2`, rootID, limit)
	for i := range out {
		out[i].Name = out[i].Path[strings.LastIndexByte(out[i].Path, '/')+1:]
	}
	return out, translate(err, "directories by size")
}

// Growth periods.
const (
	GrowthDay   = "day"
	GrowthMonth = "month"
)

// GrowthPoint is what one period added: files by modification time.
type GrowthPoint struct {
	Start      time.Time `json:"start"`
	FilesAdded int64     `json:"files_added"`
	SizeAdded  int64     `json:"size_added"`
	TotalFiles int64     `json:"total_files"` // modified before the period's end
	TotalSize  int64     `json:"total_size"`
}

// Growth returns, for each period ("day" or "month", in UTC) from the one holding from to the
// one holding to, the files of root rootID (0 for all) last modified in it and the running
// totals. A file counts when it was last modified: the catalog does not know when a file
// first appeared in its storage, and when a scan first saw it says more about the scans.
func Growth(ctx context.Context, q sqlx.QueryerContext, rootID int64, period string, from, to time.Time) ([]GrowthPoint, error) {
	step := func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	start := time.Date(from.UTC().Year(), from.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	if period == GrowthDay {
		step = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
		start = time.Date(from.UTC().Year(), from.UTC().Month(), from.UTC().Day(), 0, 0, 0, 0, time.UTC)
	}
	var points []GrowthPoint
	for t := start; !t.After(to); t = step(t) {
		points = append(points, GrowthPoint{Start: t})
	}
	if len(points) == 0 {
		return points, nil
	}
	end := step(points[len(points)-1].Start)
	var rows []struct {
		Before bool      `db:"before"` // the totals before start
		Start  time.Time `db:"start"`
		N      int64     `db:"n"`
		Size   int64     `db:"size"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT false AS before, date_trunc($2, f.mtime, 'UTC') AS start, count(*) AS n,
			sum(f.size)::bigint AS size
		FROM files f WHERE `+liveFiles+` AND `+rootCond+` AND f.mtime >= $3 AND f.mtime < $4 GROUP BY 2
		UNION ALL
		SELECT true, $3, count(*), coalesce(sum(f.size), 0)::bigint FROM files f WHERE `+liveFiles+` AND `+rootCond+` AND f.mtime < $3`,
		rootID, period, start, end)
	if err != nil {
		return nil, translate(err, "growth")
	}
	var files, size int64
	added := map[int64][2]int64{}
	for _, r := range rows {
		if r.Before {
			files, size = r.N, r.Size
			continue
		}
		added[r.Start.Unix()] = [2]int64{r.N, r.Size}
	}
	for i := range points {
		a := added[points[i].Start.Unix()]
		files, size = files+a[0], size+a[1]
		points[i].FilesAdded, points[i].SizeAdded, points[i].TotalFiles, points[i].TotalSize = a[0], a[1], files, size
	}
	return points, nil
}

// ScanRecord is one scan job with what it found.
type ScanRecord struct {
	ID         string             `json:"id" db:"id"`
	Root       string             `json:"storage_root_name" db:"root_name"`
	ScanType   string             `json:"scan_type" db:"-"` // "full", or "prefix" for a directory
	Prefix     string             `json:"prefix,omitempty" db:"-"`
	Status     filefleet.JobState `json:"status" db:"status"`
	CreatedAt  time.Time          `json:"created_at" db:"created_at"`
	StartTime  *time.Time         `json:"start_time" db:"started_at"`
	EndTime    *time.Time         `json:"end_time" db:"finished_at"`
	DurationMS *int64             `json:"duration_ms" db:"-"` // start to end; nil until both are known
	Files      int64              `json:"files_processed" db:"files"`
	Bytes      int64              `json:"bytes_processed" db:"bytes"`
	Deleted    int64              `json:"files_deleted" db:"-"` // files the scan marked deleted
	Error      string             `json:"error,omitempty" db:"error"`
	Params     []byte             `json:"-" db:"params"`
	Result     []byte             `json:"-" db:"result"`
}

// Scans returns a page of the scan jobs of root rootID (0 for all), newest first, and how many
// there are.
func Scans(ctx context.Context, q sqlx.QueryerContext, rootID int64, limit, offset int) ([]ScanRecord, int64, error) {
	const cond = `type = 'scan' AND ($1::bigint = 0 OR root_id = $1)`
	var total int64
	if err := sqlx.GetContext(ctx, q, &total, `SELECT count(*) FROM jobs WHERE `+cond, rootID); err != nil {
		return nil, 0, translate(err, "count scans")
	}
	out := []ScanRecord{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT id, root_name, status, created_at, started_at, finished_at,
			files, bytes, error, params, coalesce(result, 'null') AS result
		FROM jobs WHERE `+cond+` ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`, rootID, limit, offset)
	if err != nil {
		return nil, 0, translate(err, "scans")
	}
	for i := range out {
		s := &out[i]
		var params filefleet.ScanParams
		var result *filefleet.ScanResult
		_ = json.Unmarshal(s.Params, &params)
		_ = json.Unmarshal(s.Result, &result)
		s.ScanType, s.Prefix = "full", params.Prefix
		if params.Prefix != "" {
			s.ScanType = "prefix"
		}
		if result != nil {
			s.Files, s.Bytes, s.Deleted = result.Files, result.Bytes, result.Deleted
		}
		if s.StartTime != nil && s.EndTime != nil {
			ms := s.EndTime.Sub(*s.StartTime).Milliseconds()
			s.DurationMS = &ms
		}
	}
	return out, total, nil
}
