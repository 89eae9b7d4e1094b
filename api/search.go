package api

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/store"
)

// search answers GET /search: live catalog files matching every filter given, sorted and
// paged. Parameters: query (substring of the name, case-insensitive), path (directory: files
// anywhere below it), extension (one or a comma list, with or without the dot), mime_type
// ("image/png" or "image/*"; the catalog's mime_type, else the type of the extension),
// min_size and max_size (bytes, inclusive), root, roots or smb_roots (comma lists of root
// names), is_directory (the catalog holds files only: true finds nothing),
// modified_after (inclusive) and modified_before (exclusive) in RFC 3339, sort_by
// (name|path|size|modified_at|extension, default name), sort_order (asc|desc), limit, offset.
// meta.total counts matches up to store.SearchCountMax; meta.total_capped says there are more;
// meta.total_estimated says counting took too long (store.SearchCountBudget) and total is
// PostgreSQL's estimate.
func (a *API) search(c *gin.Context) {
	p, err := searchParams(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if names := listParam(c, "root", "roots", "smb_root", "smb_roots"); len(names) > 0 {
		if p.RootIDs, err = store.RootIDs(c.Request.Context(), a.db, names); err != nil {
			a.fail(c, err)
			return
		}
	}
	res := store.SearchResult{Files: []filefleet.File{}}
	if dir, _ := strconv.ParseBool(c.Query("is_directory")); !dir {
		if res, err = store.Search(c.Request.Context(), a.db, p); err != nil {
			a.fail(c, err)
			return
		}
	}
	meta := pageMeta(res.Total, p.Limit, p.Offset)
	meta["count"], meta["total_capped"], meta["total_estimated"] = len(res.Files), res.TotalCapped, res.TotalEstimated
	ok(c, http.StatusOK, gin.H{"files": res.Files}, meta)
}

// mimePattern is a MIME type filter: type/subtype or type/*.
var mimePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]*/(\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$`)

// searchParams reads and checks the query parameters of search except the roots.
func searchParams(c *gin.Context) (store.SearchParams, error) {
	var p store.SearchParams
	var err error
	if p.Limit, p.Offset, err = page(c); err != nil {
		return p, err
	}
	p.Query, p.SortBy, p.SortOrder = c.Query("query"), c.Query("sort_by"), c.Query("sort_order")
	if strings.ContainsRune(p.Query, 0) {
		return p, filefleet.Errorf(filefleet.EINVALID, "query must not contain NUL bytes")
	}
	if err := oneOf("sort_by", p.SortBy, store.SearchSortNames); err != nil {
		return p, err
	}
	if err := oneOf("sort_order", p.SortOrder, []string{"asc", "desc"}); err != nil {
		return p, err
	}
	if p.Path, err = storage.CleanPath(c.Query("path")); err != nil {
		return p, filefleet.Errorf(filefleet.EINVALID, "path: %s", filefleet.ErrorMessage(err))
	}
	for _, e := range listParam(c, "extension") {
		e = strings.ToLower(strings.TrimPrefix(e, "."))
		if e == "" || strings.ContainsAny(e, "/\x00") {
			return p, filefleet.Errorf(filefleet.EINVALID, "extension must be a comma list of extensions such as jpg,png, not %q", c.Query("extension"))
		}
		p.Extensions = append(p.Extensions, e)
	}
	if m := strings.ToLower(c.Query("mime_type")); m != "" {
		if !mimePattern.MatchString(m) {
			return p, filefleet.Errorf(filefleet.EINVALID, "mime_type must be type/subtype or type/*, not %q", c.Query("mime_type"))
		}
		p.MimeType = m
	}
	if p.MinSize, err = sizeParam(c, "min_size"); err != nil {
		return p, err
	}
	if p.MaxSize, err = sizeParam(c, "max_size"); err != nil {
		return p, err
	}
	if p.MinSize != nil && p.MaxSize != nil && *p.MinSize > *p.MaxSize {
		return p, filefleet.Errorf(filefleet.EINVALID, "min_size (%d) is larger than max_size (%d)", *p.MinSize, *p.MaxSize)
	}
	if _, err := boolParam(c, "is_directory", false); err != nil {
		return p, err
	}
	if p.ModifiedAfter, err = timeParam(c, "modified_after"); err != nil {
		return p, err
	}
	if p.ModifiedBefore, err = timeParam(c, "modified_before"); err != nil {
		return p, err
	}
	return p, nil
}

// listParam returns the values of the comma-list parameters names, trimmed, without empty
// ones and repeats.
func listParam(c *gin.Context, names ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range names {
		for _, v := range c.QueryArray(name) {
			for _, s := range strings.Split(v, ",") {
				if s = strings.TrimSpace(s); s != "" && !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// boolParam reads boolean query parameter name, def when absent.
func boolParam(c *gin.Context, name string, def bool) (bool, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return def, filefleet.Errorf(filefleet.EINVALID, "%s must be true or false, not %q", name, s)
	}
	return v, nil
}

// sizeParam reads a byte count parameter: nil when absent.
func sizeParam(c *gin.Context, name string) (*int64, error) {
	s := c.Query(name)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, filefleet.Errorf(filefleet.EINVALID, "%s must be a whole number of bytes, 0 or more, not %q", name, s)
	}
	return &n, nil
}

// timeParam reads an RFC 3339 time parameter: nil when absent.
func timeParam(c *gin.Context, name string) (*time.Time, error) {
	s := c.Query(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, filefleet.Errorf(filefleet.EINVALID, "%s must be an RFC 3339 time such as 2024-01-31T00:00:00Z, not %q", name, s)
	}
	return &t, nil
}

// statsRootID resolves the root filter of a stats endpoint (root or smb_root): 0 for all
// roots, ENOTFOUND for an unknown one.
func (a *API) statsRootID(c *gin.Context) (int64, error) {
	name := statsRoot(c)
	if name == "" {
		return 0, nil
	}
	r, err := store.GetRoot(c.Request.Context(), a.db, nil, name)
	if err != nil {
		return 0, err
	}
	return r.ID, nil
}

// limitParam reads a limit parameter from 1 to max, def when absent.
func limitParam(c *gin.Context, def, max int) (int, error) {
	s := c.Query("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, filefleet.Errorf(filefleet.EINVALID, "limit must be a whole number from 1 to %d", max)
	}
	return n, nil
}

// catalogStats are the totals of overall and root stats.
type catalogStats struct {
	store.CatalogTotals
	// Duplicates as /stats/duplicates counts them (files hashed alike); null with
	// duplicates=false, which skips grouping the catalog (seconds at a million files).
	DuplicateGroups *int64     `json:"duplicate_groups"`
	Duplicates      *int64     `json:"total_duplicates"`
	WastedSpace     *int64     `json:"wasted_space"`
	LastScanTime    *time.Time `json:"last_scan_time"`
}

// stats gathers the totals, duplicates (unless duplicates=false) and last scan of root rootID
// (name; 0 and "" for all).
func (a *API) stats(c *gin.Context, rootID int64, name string) (catalogStats, error) {
	ctx := c.Request.Context()
	var s catalogStats
	var err error
	if s.CatalogTotals, err = store.Totals(ctx, a.db, rootID); err != nil {
		return s, err
	}
	if c.Query("duplicates") != "false" {
		d, err := store.CatalogDuplicateStats(ctx, a.db, name)
		if err != nil {
			return s, err
		}
		s.DuplicateGroups, s.Duplicates, s.WastedSpace = &d.Groups, &d.Duplicates, &d.WastedSpace
	}
	s.LastScanTime, err = store.LastScan(ctx, a.db, rootID)
	return s, err
}

// overallStats answers GET /stats/overall: the catalog's totals, its duplicates (files with the
// same content hash, as /stats/duplicates counts them; duplicates=false skips them), the number
// of roots and when the last scan finished. root= (or smb_root=) narrows it to one root.
func (a *API) overallStats(c *gin.Context) {
	rootID, err := a.statsRootID(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	s, err := a.stats(c, rootID, statsRoot(c))
	var roots int64 = 1
	if err == nil && rootID == 0 {
		roots, err = store.CountRoots(c.Request.Context(), a.db)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, struct {
		catalogStats
		Roots int64 `json:"storage_roots_count"`
	}{s, roots}, nil)
}

// rootStats answers GET /stats/roots/{name} (and the seed's /stats/smb/{smb_root}): one
// root's totals, duplicates and last scan; 404 for an unknown root.
func (a *API) rootStats(c *gin.Context) {
	name := c.Param("name")
	if name == "" {
		name = c.Param("smb_root")
	}
	root, err := store.GetRoot(c.Request.Context(), a.db, nil, name)
	if err != nil {
		a.fail(c, err)
		return
	}
	s, err := a.stats(c, root.ID, root.Name)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, struct {
		Name string             `json:"name"`
		Kind filefleet.RootKind `json:"kind"`
		catalogStats
		DuplicateFiles *int64 `json:"duplicate_files"` // the seed's name for total_duplicates
	}{root.Name, root.Kind, s, s.Duplicates}, nil)
}

// fileTypeStats answers GET /stats/filetypes: per extension, files, bytes and average size,
// the most bytes first (sort_by=count: the most files); limit 1-1000, default 50.
func (a *API) fileTypeStats(c *gin.Context) {
	rootID, err := a.statsRootID(c)
	var limit int
	if err == nil {
		limit, err = limitParam(c, 50, limitMax)
	}
	if err == nil {
		err = oneOf("sort_by", c.Query("sort_by"), []string{"size", "count"})
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	types, total, err := store.FileTypeStats(c.Request.Context(), a.db, rootID, c.Query("sort_by"), limit)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, types, gin.H{"count": len(types), "total": total, "limit": limit})
}

// sizeStats answers GET /stats/sizes: files per size bucket.
func (a *API) sizeStats(c *gin.Context) {
	rootID, err := a.statsRootID(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	b, err := store.SizeStats(c.Request.Context(), a.db, rootID)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, b, gin.H{"buckets": "tiny < 1 KiB ≤ small < 1 MiB ≤ medium < 10 MiB ≤ large < 100 MiB ≤ huge < 1 GiB ≤ massive"})
}

// directoryStats answers GET /stats/directories/by-size: the directories with the most bytes,
// counting the files anywhere below each (recursive=true, the default) or directly in it
// (recursive=false); limit 1-1000, default 20.
func (a *API) directoryStats(c *gin.Context) {
	rootID, err := a.statsRootID(c)
	var limit int
	if err == nil {
		limit, err = limitParam(c, 20, limitMax)
	}
	recursive := true
	if err == nil {
		recursive, err = boolParam(c, "recursive", true)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	dirs, err := store.DirectoriesBySize(c.Request.Context(), a.db, rootID, recursive, limit)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"directories": dirs}, gin.H{"count": len(dirs), "limit": limit, "recursive": recursive})
}

// growthPointsMax bounds the periods a growth request covers.
const growthPointsMax = 1000

// growthStats answers GET /stats/growth: files and bytes per period by modification time,
// with running totals. period=day|month (default month, UTC); from and to (RFC 3339 or
// YYYY-MM-DD; to defaults to now, from to 30 days or 12 months before to); months=N (the
// seed's, 1-60) sets from to N-1 months before to.
func (a *API) growthStats(c *gin.Context) {
	rootID, err := a.statsRootID(c)
	period := c.DefaultQuery("period", store.GrowthMonth)
	if err == nil {
		err = oneOf("period", period, []string{store.GrowthDay, store.GrowthMonth})
	}
	to, from := time.Now(), (*time.Time)(nil)
	if err == nil {
		if t, e := dateParam(c, "to"); e != nil {
			err = e
		} else if t != nil {
			to = *t
		}
		to = to.UTC()
	}
	if err == nil {
		from, err = dateParam(c, "from")
	}
	if s := c.Query("months"); s != "" && err == nil {
		n, e := strconv.Atoi(s)
		switch {
		case e != nil || n < 1 || n > 60:
			err = filefleet.Errorf(filefleet.EINVALID, "months must be a whole number from 1 to 60, not %q", s)
		case from != nil:
			err = filefleet.Errorf(filefleet.EINVALID, "give from or months, not both")
		default:
			f := time.Date(to.Year(), to.Month()-time.Month(n-1), 1, 0, 0, 0, 0, time.UTC)
			from = &f
		}
	}
	if err == nil && from == nil {
		f := time.Date(to.Year(), to.Month()-11, 1, 0, 0, 0, 0, time.UTC)
		if period == store.GrowthDay {
			f = to.AddDate(0, 0, -29)
		}
		from = &f
	}
	if err == nil && from.After(to) {
		err = filefleet.Errorf(filefleet.EINVALID, "from (%s) is after to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if err == nil {
		n := int(to.Sub(*from).Hours()/24) + 1
		if period == store.GrowthMonth {
			n = (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
		}
		if n > growthPointsMax {
			err = filefleet.Errorf(filefleet.EINVALID, "from and to span %d %ss; at most %d", n, period, growthPointsMax)
		}
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	points, err := store.Growth(c.Request.Context(), a.db, rootID, period, *from, to)
	if err != nil {
		a.fail(c, err)
		return
	}
	type point struct {
		Label string `json:"period"`
		store.GrowthPoint
	}
	out := make([]point, len(points))
	layout := "2006-01"
	if period == store.GrowthDay {
		layout = "2006-01-02"
	}
	for i, p := range points {
		out[i] = point{p.Start.Format(layout), p}
	}
	data := gin.H{"period": period, "from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339),
		"growth": out, "file_growth_rate": nil, "size_growth_rate": nil}
	if len(points) > 0 {
		first, last := points[0], points[len(points)-1]
		files0, size0 := first.TotalFiles-first.FilesAdded, first.TotalSize-first.SizeAdded
		if files0 > 0 {
			data["file_growth_rate"] = percent(last.TotalFiles-files0, files0)
		}
		if size0 > 0 {
			data["size_growth_rate"] = percent(last.TotalSize-size0, size0)
		}
	}
	ok(c, http.StatusOK, data, gin.H{"count": len(out)})
}

// percent is 100·n/of rounded to two decimals.
func percent(n, of int64) float64 {
	return float64(int64(float64(n)*10000/float64(of)+0.5)) / 100
}

// dateParam reads an RFC 3339 time or a YYYY-MM-DD date (midnight UTC): nil when absent.
func dateParam(c *gin.Context, name string) (*time.Time, error) {
	s := c.Query(name)
	if s == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return &t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, filefleet.Errorf(filefleet.EINVALID, "%s must be a date (2024-01-31) or an RFC 3339 time, not %q", name, s)
	}
	return &t, nil
}

// scanStats answers GET /stats/scans: scan jobs newest first with what they found (files,
// bytes, files marked deleted, duration), paged with limit (default 50) and offset.
func (a *API) scanStats(c *gin.Context) {
	rootID, err := a.statsRootID(c)
	limit, offset := 50, 0
	if err == nil && c.Query("limit") == "" {
		_, offset, err = page(c)
	} else if err == nil {
		limit, offset, err = page(c)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	scans, total, err := store.Scans(c.Request.Context(), a.db, rootID, limit, offset)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"scans": scans}, pageMeta(total, limit, offset))
}
