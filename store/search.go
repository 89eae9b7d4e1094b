package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
)

// liveFiles is the condition on a catalog row (alias f) of every search and statistic: not
// deleted and not in the trash. The partial indexes of migration 005 have the same predicate,
// word for word, so that the planner can use them.
const liveFiles = `NOT f.deleted AND NOT starts_with(f.path, '` + filefleet.TrashDir + `/')`

// SearchCountMax is how far Search counts matches: meta.total is exact up to it, and a search
// with more matches reports SearchCountMax and TotalCapped. Counting every match of a term
// found in most names would cost a pass over the catalog on every page.
const SearchCountMax = 10_000

// SearchParams filters, sorts and pages Search. Zero values do not filter.
type SearchParams struct {
	Query          string     // substring of the name, case-insensitive
	Path           string     // directory (clean, relative); files anywhere below it
	Extensions     []string   // lower case, without the dot; any of them
	MimeType       string     // "type/subtype", or "type/*" for every subtype
	MinSize        *int64     // bytes, inclusive
	MaxSize        *int64     // bytes, inclusive
	RootIDs        []int64    // any of these roots; nil for all
	ModifiedAfter  *time.Time // mtime ≥ this
	ModifiedBefore *time.Time // mtime < this
	SortBy         string     // name (default), path, size, modified_at, extension
	SortOrder      string     // asc (default) or desc
	Limit          int
	Offset         int
}

// SearchResult is a page of Search.
type SearchResult struct {
	Files       []filefleet.File
	Total       int64 // matches, counted up to SearchCountMax
	TotalCapped bool  // there are more than Total matches
}

// SearchSortNames are the orders Search knows.
var SearchSortNames = []string{"name", "path", "size", "modified_at", "extension"}

// searchSortColumns maps SearchSortNames to expressions. Names sort case-insensitively in the
// database's collation; paths bytewise. Ties go by root, then path.
var searchSortColumns = map[string]string{"name": "lower(f.name)", "path": "f.path", "size": "f.size",
	"modified_at": "f.mtime", "extension": "f.ext"}

// Search returns a page of the live catalog files (not deleted, not in the trash unless Path
// is in it) that match every filter of p.
//
// A name term of three characters or more is looked up in the trigram index and its matches
// are sorted: walking a sort index while filtering on the term reads the whole catalog when
// the matches cluster in that order (a term at the start of names clusters in name order).
// Shorter terms, which trigrams cannot look up, let the planner choose.
func Search(ctx context.Context, q sqlx.QueryerContext, p SearchParams) (SearchResult, error) {
	res := SearchResult{Files: []filefleet.File{}}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where := []string{"NOT f.deleted"}
	if p.Path != filefleet.TrashDir && !strings.HasPrefix(p.Path, filefleet.TrashDir+"/") {
		where = append(where, "NOT starts_with(f.path, '"+filefleet.TrashDir+"/')")
	}
	if p.Query != "" {
		where = append(where, "lower(f.name) LIKE lower("+arg("%"+escapeLike(p.Query)+"%")+")")
	}
	if p.RootIDs != nil {
		where = append(where, "f.root_id = ANY("+arg(pq.Array(p.RootIDs))+")")
	}
	if p.Path != "" {
		// A range of the (root_id, path) index: paths below dir are ≥ "dir/" and < "dir0"
		// ('0' follows '/' bytewise). Naming the roots lets the index serve every root.
		if p.RootIDs == nil {
			where = append(where, "f.root_id = ANY(ARRAY(SELECT id FROM roots))")
		}
		where = append(where, "f.path >= "+arg(p.Path+"/")+" AND f.path < "+arg(p.Path+"0"))
	}
	if len(p.Extensions) > 0 {
		where = append(where, "f.ext = ANY("+arg(pq.Array(p.Extensions))+")")
	}
	if p.MimeType != "" {
		where = append(where, mimeCondition(p.MimeType, arg))
	}
	if p.MinSize != nil {
		where = append(where, "f.size >= "+arg(*p.MinSize))
	}
	if p.MaxSize != nil {
		where = append(where, "f.size <= "+arg(*p.MaxSize))
	}
	if p.ModifiedAfter != nil {
		where = append(where, "f.mtime >= "+arg(*p.ModifiedAfter))
	}
	if p.ModifiedBefore != nil {
		where = append(where, "f.mtime < "+arg(*p.ModifiedBefore))
	}
	cond := strings.Join(where, " AND ")

	err := sqlx.GetContext(ctx, q, &res.Total, `SELECT count(*) FROM (SELECT 1 FROM files f WHERE `+cond+
		` LIMIT `+arg(SearchCountMax+1)+`) m`, args...)
	if err != nil {
		return res, translate(err, "count search")
	}
	args = args[:len(args)-1]
	if res.Total > SearchCountMax {
		res.Total, res.TotalCapped = SearchCountMax, true
	}

	col, ok := searchSortColumns[p.SortBy]
	if !ok {
		col = searchSortColumns["name"]
	}
	dir := "ASC"
	if strings.EqualFold(p.SortOrder, "desc") {
		dir = "DESC"
	}
	from := `files f JOIN roots r ON r.id = f.root_id WHERE ` + cond
	if len([]rune(p.Query)) >= 3 { // a fence: see above
		from = `(SELECT * FROM files f WHERE ` + cond + ` OFFSET 0) f JOIN roots r ON r.id = f.root_id`
	}
	err = sqlx.SelectContext(ctx, q, &res.Files, fmt.Sprintf(`SELECT %s FROM %s
		ORDER BY %s %s, f.root_id %[4]s, f.path %[4]s LIMIT %s OFFSET %s`,
		fileColumns, from, col, dir, arg(p.Limit), arg(p.Offset)), args...)
	return res, translate(err, "search")
}

// escapeLike escapes the wildcards of LIKE (with its default escape character, backslash).
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// mimeCondition matches files by MIME type: the catalog's mime_type where a row has one, else
// the type ExtensionMIME gives its extension.
func mimeCondition(mimeType string, arg func(any) string) string {
	major, minor, _ := strings.Cut(mimeType, "/")
	var exts []string
	for ext, t := range ExtensionMIME {
		tMajor, tMinor, _ := strings.Cut(t, "/")
		if tMajor == major && (minor == "*" || tMinor == minor) {
			exts = append(exts, ext)
		}
	}
	sort.Strings(exts)
	var stored string
	if minor == "*" {
		stored = "starts_with(f.mime_type, " + arg(major+"/") + ")"
	} else {
		stored = "f.mime_type = " + arg(mimeType)
	}
	return "(" + stored + " OR (f.mime_type IS NULL AND f.ext = ANY(" + arg(pq.Array(exts)) + ")))"
}

// ExtensionMIME maps lower-case extensions to the MIME type that search and the file type
// statistics assume for a file whose catalog row has no mime_type (scans do not set it). It is
// a fixed table rather than the host's mime.types, so that every machine answers alike;
// extensions it lacks have no type.
var ExtensionMIME = map[string]string{
	// images
	"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
	"bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff", "heic": "image/heic", "heif": "image/heif",
	"avif": "image/avif", "svg": "image/svg+xml", "ico": "image/vnd.microsoft.icon",
	"cr2": "image/x-canon-cr2", "nef": "image/x-nikon-nef", "dng": "image/x-adobe-dng", "raw": "image/x-raw",
	// video
	"mp4": "video/mp4", "m4v": "video/x-m4v", "mov": "video/quicktime", "mkv": "video/x-matroska",
	"webm": "video/webm", "avi": "video/x-msvideo", "mpg": "video/mpeg", "mpeg": "video/mpeg",
	"wmv": "video/x-ms-wmv", "flv": "video/x-flv", "ts": "video/mp2t", "3gp": "video/3gpp",
	// audio
	"mp3": "audio/mpeg", "flac": "audio/flac", "wav": "audio/wav", "m4a": "audio/mp4", "ogg": "audio/ogg",
	"opus": "audio/opus", "aac": "audio/aac", "wma": "audio/x-ms-wma", "aiff": "audio/aiff", "mid": "audio/midi",
	// text
	"txt": "text/plain", "log": "text/plain", "md": "text/markdown", "csv": "text/csv", "html": "text/html",
	"htm": "text/html", "css": "text/css", "js": "text/javascript", "srt": "text/plain", "vtt": "text/vtt",
	// documents, archives, data
	"pdf": "application/pdf", "json": "application/json", "xml": "application/xml",
	"doc": "application/msword", "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"xls": "application/vnd.ms-excel", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"ppt": "application/vnd.ms-powerpoint", "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
	"epub": "application/epub+zip", "rtf": "application/rtf",
	"zip": "application/zip", "gz": "application/gzip", "tgz": "application/gzip", "tar": "application/x-tar",
	"7z": "application/x-7z-compressed", "rar": "application/vnd.rar", "bz2": "application/x-bzip2",
	"xz": "application/x-xz", "zst": "application/zstd", "iso": "application/x-iso9660-image",
}

// RootIDs returns the ids of the roots named, in order; ENOTFOUND names the first unknown one.
func RootIDs(ctx context.Context, q sqlx.QueryerContext, names []string) ([]int64, error) {
	var rows []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT id, name FROM roots WHERE name = ANY($1)`, pq.Array(names)); err != nil {
		return nil, translate(err, "root ids")
	}
	byName := make(map[string]int64, len(rows))
	for _, r := range rows {
		byName[r.Name] = r.ID
	}
	ids := make([]int64, len(names))
	for i, n := range names {
		id, ok := byName[n]
		if !ok {
			return nil, filefleet.Errorf(filefleet.ENOTFOUND, "storage root %q not found", n)
		}
		ids[i] = id
	}
	return ids, nil
}
