package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	// TotalEstimated: counting took longer than SearchCountBudget, so Total is PostgreSQL's
	// estimate of the matches (capped at SearchCountMax like a count).
	TotalEstimated bool
}

// SearchCountBudget is the longest Search spends counting matches exactly; past it, the
// total is the query planner's estimate. A count reads every match (up to SearchCountMax) from
// the table, which for a broad filter costs far more than the page itself.
const SearchCountBudget = 25 * time.Millisecond

// Name searches walk the name order (see Search) when the planner expects at least
// walkMinMatches matches (fewer are quicker to sort: reading 6,000 matches takes ~25 ms) and
// the page within walkRows rows of the order; they give up on the walk after walkBudget.
const (
	walkMinMatches = 20_000
	walkRows       = 300_000
	walkBudget     = 40 * time.Millisecond
)

// SearchSortNames are the orders Search knows.
var SearchSortNames = []string{"name", "path", "size", "modified_at", "extension"}

// searchSortColumns maps SearchSortNames to expressions. Names sort case-insensitively in the
// database's collation; paths bytewise. Ties go by root, then path.
var searchSortColumns = map[string]string{"name": "lower(f.name)", "path": "f.path", "size": "f.size",
	"modified_at": "f.mtime", "extension": "f.ext"}

// searchQuery is a search's SQL: its conditions (with and without the name term) and their
// arguments.
type searchQuery struct {
	args   []any
	cond   string // every filter
	base   string // every filter but the name term
	term   string // the name term's condition, "" without one
	order  string // ORDER BY list
	nterms int    // runes of the name term
}

func (sq *searchQuery) arg(v any) string {
	sq.args = append(sq.args, v)
	return fmt.Sprintf("$%d", len(sq.args))
}

// buildSearch turns p into SQL conditions.
func buildSearch(p SearchParams) *searchQuery {
	sq := &searchQuery{}
	where := []string{"NOT f.deleted"}
	if p.Path != filefleet.TrashDir && !strings.HasPrefix(p.Path, filefleet.TrashDir+"/") {
		where = append(where, "NOT starts_with(f.path, '"+filefleet.TrashDir+"/')")
	}
	if p.RootIDs != nil {
		where = append(where, "f.root_id = ANY("+sq.arg(pq.Array(p.RootIDs))+")")
	}
	if p.Path != "" {
		// A range of the (root_id, path) index: paths below dir are ≥ "dir/" and < "dir0"
		// ('0' follows '/' bytewise). Naming the roots lets the index serve every root.
		if p.RootIDs == nil {
			where = append(where, "f.root_id = ANY(ARRAY(SELECT id FROM roots))")
		}
		where = append(where, "f.path >= "+sq.arg(p.Path+"/")+" AND f.path < "+sq.arg(p.Path+"0"))
	}
	if len(p.Extensions) > 0 {
		where = append(where, "f.ext = ANY("+sq.arg(pq.Array(p.Extensions))+")")
	}
	if p.MimeType != "" {
		where = append(where, mimeCondition(p.MimeType, sq.arg))
	}
	if p.MinSize != nil {
		where = append(where, "f.size >= "+sq.arg(*p.MinSize))
	}
	if p.MaxSize != nil {
		where = append(where, "f.size <= "+sq.arg(*p.MaxSize))
	}
	if p.ModifiedAfter != nil {
		where = append(where, "f.mtime >= "+sq.arg(*p.ModifiedAfter))
	}
	if p.ModifiedBefore != nil {
		where = append(where, "f.mtime < "+sq.arg(*p.ModifiedBefore))
	}
	sq.base, sq.cond = strings.Join(where, " AND "), strings.Join(where, " AND ")
	if p.Query != "" {
		sq.term = "lower(f.name) LIKE lower(" + sq.arg("%"+escapeLike(p.Query)+"%") + ")"
		sq.cond += " AND " + sq.term
		sq.nterms = len([]rune(p.Query))
	}
	col, ok := searchSortColumns[p.SortBy]
	if !ok {
		col = searchSortColumns["name"]
	}
	dir := "ASC"
	if strings.EqualFold(p.SortOrder, "desc") {
		dir = "DESC"
	}
	sq.order = fmt.Sprintf("%s %s, f.root_id %[2]s, f.path %[2]s", col, dir)
	return sq
}

// Search returns a page of the live catalog files (not deleted, not in the trash unless Path
// is in it) that match every filter of p.
//
// A name term of three characters or more is found one of two ways. Sorted by name, with
// filters the name order index covers (root, path), when the planner expects many matches
// (walkMinMatches) and the page within walkRows rows of the name order, the index is walked
// in order, index-only, filtering on the term (a common term); the walk gives up after
// walkBudget. Otherwise the term is
// looked up in the trigram index and its matches are sorted (a rare term, or a term whose
// matches lie late in the order). Shorter terms, which trigrams cannot look up, let the
// planner choose.
//
// The total is exact up to SearchCountMax when counting fits in SearchCountBudget, else the
// planner's estimate (TotalEstimated).
func Search(ctx context.Context, db *sqlx.DB, p SearchParams) (SearchResult, error) {
	sq := buildSearch(p)
	if sq.nterms >= 3 {
		return sq.searchTerm(ctx, db, p)
	}
	res := SearchResult{Files: []filefleet.File{}}
	if err := sq.count(ctx, db, &res); err != nil {
		return res, err
	}
	args, page := sq.page(p)
	err := sqlx.SelectContext(ctx, db, &res.Files, `SELECT `+fileColumns+` FROM files f JOIN roots r ON r.id = f.root_id
		WHERE `+sq.cond+` ORDER BY `+sq.order+page, args...)
	return res, translate(err, "search")
}

// page returns the query's arguments with the page's, and its LIMIT/OFFSET clause.
func (sq *searchQuery) page(p SearchParams) ([]any, string) {
	n := len(sq.args)
	return append(slices.Clone(sq.args), p.Limit, p.Offset), fmt.Sprintf(" LIMIT $%d OFFSET $%d", n+1, n+2)
}

// searchTerm is Search with a name term of three characters or more.
func (sq *searchQuery) searchTerm(ctx context.Context, db *sqlx.DB, p SearchParams) (SearchResult, error) {
	res := SearchResult{Files: []filefleet.File{}}
	matches, err := sq.estimate(ctx, db, sq.cond)
	if err != nil {
		return res, err
	}
	if sq.walkable(p) && matches >= walkMinMatches {
		all, err := sq.estimate(ctx, db, sq.base)
		if err != nil {
			return res, err
		}
		if float64(p.Offset+p.Limit)*float64(all) <= walkRows*float64(max(matches, 1)) {
			found, err := sq.walk(ctx, db, p)
			if err != nil || found != nil {
				res.Files = found
				if err == nil {
					err = sq.countAbout(ctx, db, &res, matches)
				}
				return res, err
			}
		}
	}
	// The trigram lookup: every match is read and sorted, so counting them comes free.
	var rows []struct {
		filefleet.File
		Total int64 `db:"total"`
	}
	args, page := sq.page(p)
	err = sqlx.SelectContext(ctx, db, &rows, `SELECT `+fileColumns+`, count(*) OVER () AS total
		FROM (SELECT * FROM files f WHERE `+sq.cond+` OFFSET 0) f JOIN roots r ON r.id = f.root_id
		ORDER BY `+sq.order+page, args...)
	if err != nil {
		return res, translate(err, "search")
	}
	for _, r := range rows {
		res.Files = append(res.Files, r.File)
	}
	if len(rows) == 0 { // past the last page: nothing was counted
		return res, sq.count(ctx, db, &res)
	}
	res.Total, res.TotalCapped = min(rows[0].Total, SearchCountMax), rows[0].Total > SearchCountMax
	return res, nil
}

// walkable reports whether the name order index covers the search: sorted by name, filtered
// on nothing but the term, roots and a path.
func (sq *searchQuery) walkable(p SearchParams) bool {
	return (p.SortBy == "" || p.SortBy == "name") && len(p.Extensions) == 0 && p.MimeType == "" &&
		p.MinSize == nil && p.MaxSize == nil && p.ModifiedAfter == nil && p.ModifiedBefore == nil
}

// walk reads the page from the name order index (index-only: lower(name), root_id and path
// are its keys, name is included), then the page's rows. It returns nil (no error) when the
// walk took longer than walkBudget.
func (sq *searchQuery) walk(ctx context.Context, db *sqlx.DB, p SearchParams) ([]filefleet.File, error) {
	files := []filefleet.File{}
	args, page := sq.page(p)
	err := withinBudget(ctx, db, walkBudget, func(tx *sqlx.Tx) error {
		return sqlx.SelectContext(ctx, tx, &files, `SELECT `+fileColumns+` FROM (
				SELECT lower(f.name) AS lname, f.root_id, f.path FROM files f WHERE `+sq.cond+`
				ORDER BY `+sq.order+page+`) m
			JOIN files f ON f.root_id = m.root_id AND f.path = m.path JOIN roots r ON r.id = f.root_id
			ORDER BY `+strings.NewReplacer("lower(f.name)", "m.lname", "f.", "m.").Replace(sq.order), args...)
	})
	if canceled(err) {
		return nil, nil
	}
	return files, translate(err, "search walk")
}

// withinBudget runs fn in a transaction whose statements PostgreSQL cancels after budget;
// canceled tells that error apart.
func withinBudget(ctx context.Context, db *sqlx.DB, budget time.Duration, fn func(tx *sqlx.Tx) error) error {
	return InTx(ctx, db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL statement_timeout = %d`, budget.Milliseconds())); err != nil {
			return err
		}
		return fn(tx)
	})
}

// canceled reports whether err is PostgreSQL's query_canceled (a statement timeout).
func canceled(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "57014"
}

// count sets the total of res: counted up to SearchCountMax within SearchCountBudget, else
// estimated.
func (sq *searchQuery) count(ctx context.Context, db *sqlx.DB, res *SearchResult) error {
	var total int64
	err := withinBudget(ctx, db, SearchCountBudget, func(tx *sqlx.Tx) error {
		return sqlx.GetContext(ctx, tx, &total, fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM files f WHERE %s LIMIT %d) m`,
			sq.cond, SearchCountMax+1), sq.args...)
	})
	if canceled(err) {
		if total, err = sq.estimate(ctx, db, sq.cond); err != nil {
			return err
		}
		res.TotalEstimated = true
	} else if err != nil {
		return translate(err, "count search")
	}
	res.Total = min(total, SearchCountMax)
	res.TotalCapped = total > SearchCountMax
	return nil
}

// countAbout sets the total of res given the planner's estimate of the matches: far past
// SearchCountMax, the count is not worth its time.
func (sq *searchQuery) countAbout(ctx context.Context, db *sqlx.DB, res *SearchResult, estimate int64) error {
	if estimate < 2*SearchCountMax {
		return sq.count(ctx, db, res)
	}
	res.Total, res.TotalCapped, res.TotalEstimated = SearchCountMax, true, true
	return nil
}

// estimate returns the planner's estimate of the rows matching cond.
func (sq *searchQuery) estimate(ctx context.Context, db *sqlx.DB, cond string) (int64, error) {
	var plan []byte
	if err := db.GetContext(ctx, &plan, `EXPLAIN (FORMAT JSON) SELECT 1 FROM files f WHERE `+cond, sq.args[:sq.argsOf(cond)]...); err != nil {
		return 0, translate(err, "estimate search")
	}
	var out []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	if err := json.Unmarshal(plan, &out); err != nil || len(out) == 0 {
		return 0, fmt.Errorf("read the plan of a search: %v", err)
	}
	return int64(out[0].Plan.Rows), nil
}

// argsOf is how many of the query's arguments cond uses: base uses all but the term's.
func (sq *searchQuery) argsOf(cond string) int {
	if cond == sq.base && sq.term != "" {
		return len(sq.args) - 1
	}
	return len(sq.args)
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
