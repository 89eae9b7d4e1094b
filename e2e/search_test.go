package e2e

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// catFile is a file the catalog tests write, as the test expects the catalog to hold it.
type catFile struct {
	root  string // "disk" or "other"
	path  string
	size  int64
	mtime time.Time
	mime  string // stored in the catalog row by the test; "" leaves it NULL
	gone  bool   // removed before the last scan
}

func (f catFile) name() string { return path.Base(f.path) }
func (f catFile) ext() string  { return strings.ToLower(strings.TrimPrefix(path.Ext(f.name()), ".")) }
func (f catFile) dir() string {
	if d := path.Dir(f.path); d != "." {
		return d
	}
	return ""
}
func (f catFile) trashed() bool { return strings.HasPrefix(f.path, filefleet.TrashDir+"/") }
func (f catFile) live() bool    { return !f.gone && !f.trashed() }
func (f catFile) key() string   { return f.root + ":" + f.path }

// day parses an RFC 3339 time, or a date as 07:00 UTC that day.
func day(s string) time.Time {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(7 * time.Hour)
}

// catalogTree is the files of TestSearch and TestStats: names in mixed case and with LIKE
// wildcards, every size bucket (the largest files sparse), distinct modification times over
// half a year, a file in the trash, one removed before the rescan, three groups of duplicates
// (same size, all zeros) in "disk".
var catalogTree = []catFile{
	{root: "disk", path: "photos/2024/Holiday-Beach.JPG", size: 2048, mtime: day("2024-01-15")},
	{root: "disk", path: "photos/2024/holiday_2023.png", size: 2048, mtime: day("2024-02-03")},
	{root: "disk", path: "photos/2024/IMG_0001.jpg", size: 500_000, mtime: day("2024-02-20")},
	{root: "disk", path: "photos/2023/IMG_0002.jpeg", size: 1_500_000, mtime: day("2024-03-01")},
	{root: "disk", path: "photos/2023/sunset.png", size: 700, mtime: day("2024-03-15")},
	{root: "disk", path: "docs/HOLIDAY notes.txt", size: 300, mtime: day("2024-04-02")},
	{root: "disk", path: "docs/report.pdf", size: 2_000_000, mtime: day("2024-04-10")},
	{root: "disk", path: "docs/100%_done.txt", size: 10, mtime: day("2024-05-05")},
	{root: "disk", path: "docs/a_b.txt", size: 10, mtime: day("2024-05-06")},
	{root: "disk", path: "docs/axb.txt", size: 11, mtime: day("2024-05-07")},
	{root: "disk", path: "docs/old/archive.tar.gz", size: 12_000_000, mtime: day("2024-05-20")},
	{root: "disk", path: "docs/Café menu.txt", size: 20, mtime: day("2024-05-21")},
	{root: "disk", path: "README", size: 1200, mtime: day("2024-06-01"), mime: "text/plain"},
	{root: "disk", path: "notes.txt", size: 1200, mtime: day("2024-06-02"), mime: "application/octet-stream"},
	{root: "disk", path: "videos/Holiday Movie.mkv", size: 3_000_000, mtime: day("2024-06-15")},
	{root: "disk", path: "music/song.mp3", size: 0, mtime: day("2024-01-01T00:00:00Z")},
	{root: "disk", path: "docs/gone.txt", size: 50, mtime: day("2024-04-20"), gone: true},
	{root: "disk", path: filefleet.TrashDir + "/job1/photos/trashed.jpg", size: 5000, mtime: day("2024-02-25")},
	{root: "other", path: "big/huge.bin", size: 200 << 20, mtime: day("2023-12-15")},
	{root: "other", path: "big/massive.iso", size: 1536 << 20, mtime: day("2024-03-03")},
	{root: "other", path: "holiday/list.txt", size: 100, mtime: day("2024-02-10")},
	{root: "other", path: "medium.mkv", size: 50 << 20, mtime: day("2024-04-04")},
}

// rootOrder is the order of the roots' ids (disk is created first).
var rootOrder = map[string]int{"disk": 0, "other": 1}

// catalogStack writes catalogTree into two local roots, scans them, removes the gone files,
// rescans disk, sets the test's MIME types and hashes disk (for the duplicate statistics).
// It returns the stack and the scan jobs in the order they ran.
func catalogStack(t *testing.T) (*testenv.Stack, []filefleet.Job) {
	s := testenv.NewStack(t, testenv.StackOpts{ScanPageSize: 5})
	dirs := map[string]string{"disk": t.TempDir(), "other": t.TempDir()}
	for _, f := range catalogTree {
		full := filepath.Join(dirs[f.root], filepath.FromSlash(f.path))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		fh, err := os.Create(full)
		require.NoError(t, err)
		require.NoError(t, fh.Truncate(f.size)) // zeros, sparse
		require.NoError(t, fh.Close())
		require.NoError(t, os.Chtimes(full, f.mtime, f.mtime))
	}
	for _, root := range []string{"disk", "other"} {
		addLocalRoot(t, s, root, dirs[root])
	}
	var scans []filefleet.Job
	scans = append(scans, scanAndFollow(t, s, "disk"), scanAndFollow(t, s, "other"))
	for _, f := range catalogTree {
		if f.gone {
			require.NoError(t, os.Remove(filepath.Join(dirs[f.root], filepath.FromSlash(f.path))))
		}
	}
	scans = append(scans, scanAndFollow(t, s, "disk"))
	for _, f := range catalogTree {
		if f.mime != "" {
			_, err := s.DB.Exec(`UPDATE files SET mime_type = $1 WHERE path = $2`, f.mime, f.path)
			require.NoError(t, err)
		}
	}
	hash := submit(t, s, map[string]any{"type": "hash", "root": "disk"})
	require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, hash.ID, 2*time.Minute).Status)
	return s, scans
}

// searchKeys runs a search and returns root:path of the files in order, and the meta.
func searchKeys(t *testing.T, s *testenv.Stack, query string) ([]string, map[string]any) {
	t.Helper()
	r := s.Do(t, http.MethodGet, "/api/v1/search?"+query, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s: %s", query, r.Raw)
	var data struct {
		Files []filefleet.File `json:"files"`
	}
	r.Decode(t, &data)
	keys := []string{}
	for _, f := range data.Files {
		keys = append(keys, f.RootName+":"+f.Path)
		require.False(t, f.Deleted)
		require.False(t, f.IsDirectory)
	}
	return keys, r.Meta
}

// sortFiles sorts files as search does by sortBy: ties by root, then path; desc reverses all.
func sortFiles(files []catFile, sortBy string, desc bool) {
	slices.SortFunc(files, func(a, b catFile) int {
		var c int
		switch sortBy {
		case "name":
			c = strings.Compare(strings.ToLower(a.name()), strings.ToLower(b.name()))
		case "path":
			c = strings.Compare(a.path, b.path)
		case "size":
			c = cmp.Compare(a.size, b.size)
		case "modified_at":
			c = a.mtime.Compare(b.mtime)
		case "extension":
			c = strings.Compare(a.ext(), b.ext())
		}
		c = cmp.Or(c, cmp.Compare(rootOrder[a.root], rootOrder[b.root]), strings.Compare(a.path, b.path))
		if desc {
			return -c
		}
		return c
	})
}

// expect returns root:path of the live files (of the trash too when trash) matching keep, by name.
func expect(keep func(catFile) bool, trash bool) []string {
	var files []catFile
	for _, f := range catalogTree {
		if !f.gone && (trash || !f.trashed()) && keep(f) {
			files = append(files, f)
		}
	}
	sortFiles(files, "name", false)
	keys := []string{}
	for _, f := range files {
		keys = append(keys, f.key())
	}
	return keys
}

func hasExt(exts ...string) func(catFile) bool {
	return func(f catFile) bool { return slices.Contains(exts, f.ext()) }
}

func nameHas(sub string) func(catFile) bool {
	return func(f catFile) bool { return strings.Contains(strings.ToLower(f.name()), strings.ToLower(sub)) }
}

func and(fs ...func(catFile) bool) func(catFile) bool {
	return func(f catFile) bool {
		for _, p := range fs {
			if !p(f) {
				return false
			}
		}
		return true
	}
}

func sizeIn(min, max int64) func(catFile) bool {
	return func(f catFile) bool { return f.size >= min && f.size <= max }
}

func inRoot(roots ...string) func(catFile) bool {
	return func(f catFile) bool { return slices.Contains(roots, f.root) }
}

func below(dir string) func(catFile) bool {
	return func(f catFile) bool { return strings.HasPrefix(f.path, dir+"/") }
}

func modified(after, before string) func(catFile) bool {
	return func(f catFile) bool {
		return (after == "" || !f.mtime.Before(day(after))) && (before == "" || f.mtime.Before(day(before)))
	}
}

func all(catFile) bool { return true }

// TestSearch checks every filter of GET /search, alone and combined, its sort orders, paging
// and its answers to malformed parameters, on a scanned tree of known files.
func TestSearch(t *testing.T) {
	s, _ := catalogStack(t)
	isImage := func(f catFile) bool { return f.mime == "" && slices.Contains([]string{"jpg", "jpeg", "png"}, f.ext()) }
	isText := func(f catFile) bool { return f.mime == "text/plain" || (f.mime == "" && f.ext() == "txt") }

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", expect(all, false)},
		{"query=holiday", expect(nameHas("holiday"), false)},
		{"query=HoLiDaY", expect(nameHas("holiday"), false)},
		{"query=_", expect(nameHas("_"), false)},                       // a literal underscore, not any character
		{"query=" + url.QueryEscape("%"), expect(nameHas("%"), false)}, // a literal percent sign
		{"query=" + url.QueryEscape("café"), expect(nameHas("café"), false)},
		{"query=nothing-like-this", nil},
		{"path=photos", expect(below("photos"), false)},
		{"path=docs/old", expect(below("docs/old"), false)},
		{"path=docs/", expect(below("docs"), false)},
		{"path=big", expect(below("big"), false)},
		{"path=" + filefleet.TrashDir, expect(below(filefleet.TrashDir), true)},
		{"extension=jpg", expect(hasExt("jpg"), false)},
		{"extension=.JPG,png", expect(hasExt("jpg", "png"), false)},
		{"extension=gz", expect(hasExt("gz"), false)},
		{"extension=txt&extension=mkv", expect(hasExt("txt", "mkv"), false)},
		{"mime_type=image/*", expect(isImage, false)},
		{"mime_type=image/jpeg", expect(hasExt("jpg", "jpeg"), false)},
		{"mime_type=TEXT/PLAIN", expect(isText, false)},
		{"mime_type=application/octet-stream", expect(func(f catFile) bool { return f.mime == "application/octet-stream" }, false)},
		{"mime_type=video/*", expect(hasExt("mkv"), false)},
		{"min_size=1024&max_size=1048575", expect(sizeIn(1024, 1048575), false)},
		{"max_size=0", expect(sizeIn(0, 0), false)},
		{"min_size=2048&max_size=2048", expect(sizeIn(2048, 2048), false)},
		{"min_size=100000000", expect(sizeIn(100000000, 1<<62), false)},
		{"root=other", expect(inRoot("other"), false)},
		{"smb_roots=other", expect(inRoot("other"), false)},
		{"roots=disk,other", expect(all, false)},
		{"roots=disk&query=holiday", expect(and(inRoot("disk"), nameHas("holiday")), false)},
		{"is_directory=false", expect(all, false)},
		{"is_directory=true", nil},
		{"is_directory=true&query=holiday", nil},
		{"modified_after=2024-01-01T00:00:00Z", expect(modified("2024-01-01T00:00:00Z", ""), false)},
		{"modified_before=2024-01-01T00:00:00Z", expect(modified("", "2024-01-01T00:00:00Z"), false)},
		{"modified_after=2024-02-01T00:00:00Z&modified_before=" + url.QueryEscape("2024-03-01T09:00:00+02:00"),
			expect(modified("2024-02-01T00:00:00Z", "2024-03-01T07:00:00Z"), false)},
		{"query=holiday&extension=jpg,png", expect(and(nameHas("holiday"), hasExt("jpg", "png")), false)},
		{"query=holiday&min_size=1000&roots=disk", expect(and(nameHas("holiday"), sizeIn(1000, 1<<62), inRoot("disk")), false)},
		{"path=photos&extension=png&max_size=1000", expect(and(below("photos"), hasExt("png"), sizeIn(0, 1000)), false)},
		{"mime_type=image/*&modified_after=2024-02-01T00:00:00Z&query=img", expect(and(isImage, nameHas("img"), modified("2024-02-01T00:00:00Z", "")), false)},
		{"extension=txt&path=docs&query=a&sort_by=name", expect(and(hasExt("txt"), below("docs"), nameHas("a")), false)},
	} {
		got, meta := searchKeys(t, s, tc.query+"&limit=1000")
		if tc.want == nil {
			tc.want = []string{}
		}
		require.Equal(t, tc.want, got, "search?%s", tc.query)
		require.EqualValues(t, len(tc.want), meta["total"], "search?%s", tc.query)
		require.EqualValues(t, len(tc.want), meta["count"], "search?%s", tc.query)
		require.Equal(t, false, meta["total_capped"])
	}

	// Every order, both ways, over all files; then the same order paged 4 at a time.
	for _, sortBy := range []string{"name", "path", "size", "modified_at", "extension"} {
		for _, order := range []string{"asc", "desc"} {
			var files []catFile
			for _, f := range catalogTree {
				if f.live() {
					files = append(files, f)
				}
			}
			sortFiles(files, sortBy, order == "desc")
			var want []string
			for _, f := range files {
				want = append(want, f.key())
			}
			q := "sort_by=" + sortBy + "&sort_order=" + order
			got, _ := searchKeys(t, s, q)
			require.Equal(t, want, got, q)
			var paged []string
			for offset := 0; offset < len(want)+4; offset += 4 {
				page, meta := searchKeys(t, s, fmt.Sprintf("%s&limit=4&offset=%d", q, offset))
				require.EqualValues(t, len(want), meta["total"])
				require.EqualValues(t, 4, meta["limit"])
				require.EqualValues(t, offset, meta["offset"])
				require.LessOrEqual(t, len(page), 4)
				paged = append(paged, page...)
			}
			require.Equal(t, want, paged, "%s, paged", q)
		}
	}
	got, _ := searchKeys(t, s, "query=holiday&sort_by=size&sort_order=desc")
	require.Equal(t, []string{"disk:videos/Holiday Movie.mkv", "disk:photos/2024/holiday_2023.png",
		"disk:photos/2024/Holiday-Beach.JPG", "disk:docs/HOLIDAY notes.txt"}, got, "ties by path, descending too")

	for _, q := range []string{"limit=0", "limit=x", "limit=1001", "offset=-1", "offset=1.5", "sort_by=bogus",
		"sort_order=up", "min_size=-1", "min_size=abc", "max_size=1.5", "min_size=10&max_size=9",
		"modified_after=yesterday", "modified_before=2024-13-01T00:00:00Z", "modified_after=2024-01-01",
		"is_directory=maybe", "mime_type=image", "mime_type=*/*", "mime_type=" + url.QueryEscape("image/png;q=1"), "extension=a/b",
		"path=../x", "path=/abs", "path=" + url.QueryEscape(`a\b`), "query=" + url.QueryEscape("a\x00b")} {
		r := s.Do(t, http.MethodGet, "/api/v1/search?"+q, nil)
		require.Equal(t, http.StatusBadRequest, r.Status, "search?%s: %s", q, r.Raw)
		require.False(t, r.Success)
		require.Equal(t, "INVALID_REQUEST", r.Error.Code, q)
		param, _, _ := strings.Cut(q, "=")
		require.Contains(t, r.Error.Message, param, "the message names the parameter: %s", q)
	}
	for _, q := range []string{"root=nope", "roots=disk,nope"} {
		r := s.Do(t, http.MethodGet, "/api/v1/search?"+q, nil)
		require.Equal(t, http.StatusNotFound, r.Status, "search?%s: %s", q, r.Raw)
		require.Contains(t, r.Error.Message, `"nope"`)
	}
}

// statsModel is what the stats endpoints should say about the live files of roots.
type statsModel struct {
	files, size, dirs int64
	groups, dups      int64
	wasted            int64
}

func modelOf(roots ...string) statsModel {
	var m statsModel
	dirs := map[string]bool{}
	bySize := map[int64]int64{}
	for _, f := range catalogTree {
		if !f.live() || !slices.Contains(roots, f.root) {
			continue
		}
		m.files++
		m.size += f.size
		for d := f.dir(); d != ""; d = path.Dir(d) {
			dirs[f.root+":"+d] = true
			if !strings.Contains(d, "/") {
				break
			}
		}
		if f.root == "disk" && f.size > 0 { // only disk is hashed
			bySize[f.size]++
		}
	}
	m.dirs = int64(len(dirs))
	for size, n := range bySize {
		if n > 1 {
			m.groups++
			m.dups += n - 1
			m.wasted += (n - 1) * size
		}
	}
	return m
}

// TestStats checks every /stats endpoint against what the test computes from the tree it wrote.
func TestStats(t *testing.T) {
	s, scans := catalogStack(t)
	get := func(path string, v any) map[string]any {
		t.Helper()
		r := s.Do(t, http.MethodGet, "/api/v1"+path, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Raw)
		r.Decode(t, v)
		return r.Meta
	}
	type totals struct {
		Files       int64      `json:"total_files"`
		Directories int64      `json:"total_directories"`
		Size        int64      `json:"total_size"`
		Groups      int64      `json:"duplicate_groups"`
		Duplicates  int64      `json:"total_duplicates"`
		Wasted      int64      `json:"wasted_space"`
		LastScan    *time.Time `json:"last_scan_time"`
		Roots       int64      `json:"storage_roots_count"`
		Name        string     `json:"name"`
		Kind        string     `json:"kind"`
		DupFiles    int64      `json:"duplicate_files"`
	}
	check := func(got totals, m statsModel, lastScan *time.Time) {
		t.Helper()
		require.Equal(t, m.files, got.Files)
		require.Equal(t, m.size, got.Size)
		require.Equal(t, m.dirs, got.Directories)
		require.Equal(t, m.groups, got.Groups)
		require.Equal(t, m.dups, got.Duplicates)
		require.Equal(t, m.wasted, got.Wasted)
		require.NotNil(t, got.LastScan)
		require.True(t, lastScan.Equal(*got.LastScan), "last scan %s, want %s", got.LastScan, lastScan)
	}
	all := modelOf("disk", "other")
	require.Equal(t, statsModel{files: 20, size: 2048*2 + 500_000 + 1_500_000 + 700 + 300 + 2_000_000 + 10 + 10 + 11 +
		12_000_000 + 20 + 1200*2 + 3_000_000 + 200<<20 + 1536<<20 + 100 + 50<<20, dirs: 9, groups: 3, dups: 3, wasted: 2048 + 10 + 1200}, all)

	var o totals
	get("/stats/overall", &o)
	check(o, all, scans[2].FinishedAt)
	require.EqualValues(t, 2, o.Roots)
	get("/stats/overall?root=other", &o)
	check(o, modelOf("other"), scans[1].FinishedAt)
	require.EqualValues(t, 1, o.Roots)
	r := s.Do(t, http.MethodGet, "/api/v1/stats/overall?duplicates=false", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var skipped map[string]any
	r.Decode(t, &skipped)
	require.Nil(t, skipped["duplicate_groups"])
	require.Contains(t, skipped, "duplicate_groups")
	require.EqualValues(t, all.files, skipped["total_files"])

	for i, root := range []string{"disk", "other"} {
		var r totals
		for _, p := range []string{"/stats/roots/" + root, "/stats/smb/" + root} {
			get(p, &r)
			check(r, modelOf(root), scans[2-i].FinishedAt)
			require.Equal(t, root, r.Name)
			require.Equal(t, "local", r.Kind)
			require.Equal(t, r.Duplicates, r.DupFiles)
		}
	}
	for _, p := range []string{"/stats/roots/nope", "/stats/smb/nope", "/stats/overall?root=nope", "/stats/filetypes?smb_root=nope",
		"/stats/sizes?root=nope", "/stats/directories/by-size?root=nope", "/stats/growth?root=nope", "/stats/scans?root=nope"} {
		r := s.Do(t, http.MethodGet, "/api/v1"+p, nil)
		require.Equal(t, http.StatusNotFound, r.Status, "%s: %s", p, r.Raw)
		require.Equal(t, "NOT_FOUND", r.Error.Code)
	}

	t.Run("filetypes", func(t *testing.T) {
		type ft struct {
			FileType  string `json:"file_type"`
			MimeType  string `json:"mime_type"`
			Extension string `json:"extension"`
			Count     int64  `json:"count"`
			TotalSize int64  `json:"total_size"`
			Average   int64  `json:"average_size"`
		}
		model := func(bySize bool, roots ...string) []ft {
			m := map[string]*ft{}
			for _, f := range catalogTree {
				if f.live() && slices.Contains(roots, f.root) {
					e := m[f.ext()]
					if e == nil {
						e = &ft{Extension: f.ext()}
						m[f.ext()] = e
					}
					e.Count++
					e.TotalSize += f.size
				}
			}
			var out []ft
			for _, e := range m {
				e.Average = e.TotalSize / e.Count
				out = append(out, *e)
			}
			slices.SortFunc(out, func(a, b ft) int {
				if bySize {
					return cmp.Or(-cmp.Compare(a.TotalSize, b.TotalSize), -cmp.Compare(a.Count, b.Count), strings.Compare(a.Extension, b.Extension))
				}
				return cmp.Or(-cmp.Compare(a.Count, b.Count), -cmp.Compare(a.TotalSize, b.TotalSize), strings.Compare(a.Extension, b.Extension))
			})
			return out
		}
		strip := func(in []ft) []ft {
			for i := range in {
				in[i].FileType, in[i].MimeType = "", ""
			}
			return in
		}
		var got []ft
		meta := get("/stats/filetypes", &got)
		want := model(true, "disk", "other")
		require.EqualValues(t, len(want), meta["total"])
		kinds := map[string]string{}
		for _, g := range got {
			kinds[g.Extension] = g.FileType + " " + g.MimeType
		}
		require.Equal(t, "image image/jpeg", kinds["jpg"])
		require.Equal(t, "video video/x-matroska", kinds["mkv"])
		require.Equal(t, "other ", kinds[""])
		require.Equal(t, "other ", kinds["bin"])
		require.Equal(t, want, strip(got))
		get("/stats/filetypes?sort_by=count&limit=3", &got)
		require.Equal(t, model(false, "disk", "other")[:3], strip(got))
		get("/stats/filetypes?smb_root=disk&limit=2", &got)
		require.Equal(t, model(true, "disk")[:2], strip(got))
	})

	t.Run("sizes", func(t *testing.T) {
		model := func(roots ...string) map[string]int64 {
			m := map[string]int64{"tiny": 0, "small": 0, "medium": 0, "large": 0, "huge": 0, "massive": 0}
			for _, f := range catalogTree {
				if !f.live() || !slices.Contains(roots, f.root) {
					continue
				}
				switch {
				case f.size < 1<<10:
					m["tiny"]++
				case f.size < 1<<20:
					m["small"]++
				case f.size < 10<<20:
					m["medium"]++
				case f.size < 100<<20:
					m["large"]++
				case f.size < 1<<30:
					m["huge"]++
				default:
					m["massive"]++
				}
			}
			return m
		}
		var got map[string]int64
		get("/stats/sizes", &got)
		require.Equal(t, model("disk", "other"), got)
		require.Equal(t, map[string]int64{"tiny": 8, "small": 5, "medium": 3, "large": 2, "huge": 1, "massive": 1}, got)
		get("/stats/sizes?root=disk", &got)
		require.Equal(t, model("disk"), got)
	})

	t.Run("directories", func(t *testing.T) {
		type dir struct {
			Root      string `json:"storage_root_name"`
			Path      string `json:"path"`
			Name      string `json:"name"`
			FileCount int64  `json:"file_count"`
			TotalSize int64  `json:"total_size"`
		}
		model := func(recursive bool, roots ...string) []dir {
			m := map[string]*dir{}
			for _, f := range catalogTree {
				if !f.live() || !slices.Contains(roots, f.root) {
					continue
				}
				for d := f.dir(); d != "" && d != "."; d = path.Dir(d) {
					k := f.root + ":" + d
					if m[k] == nil {
						m[k] = &dir{Root: f.root, Path: d, Name: path.Base(d)}
					}
					m[k].FileCount++
					m[k].TotalSize += f.size
					if !recursive {
						break
					}
				}
			}
			var out []dir
			for _, d := range m {
				out = append(out, *d)
			}
			slices.SortFunc(out, func(a, b dir) int {
				return cmp.Or(-cmp.Compare(a.TotalSize, b.TotalSize), strings.Compare(a.Root, b.Root), strings.Compare(a.Path, b.Path))
			})
			return out
		}
		var got struct {
			Directories []dir `json:"directories"`
		}
		get("/stats/directories/by-size?limit=1000", &got)
		require.Equal(t, model(true, "disk", "other"), got.Directories)
		require.Len(t, got.Directories, 9)
		get("/stats/directories/by-size?recursive=false&limit=1000", &got)
		require.Equal(t, model(false, "disk", "other"), got.Directories)
		meta := get("/stats/directories/by-size?root=disk&limit=3", &got)
		require.Equal(t, model(true, "disk")[:3], got.Directories)
		require.EqualValues(t, 3, meta["count"])
		require.Equal(t, dir{Root: "disk", Path: "docs", Name: "docs", FileCount: 7, TotalSize: 300 + 2_000_000 + 10 + 10 + 11 + 12_000_000 + 20},
			got.Directories[0])
	})

	t.Run("growth", func(t *testing.T) {
		type point struct {
			Period     string `json:"period"`
			FilesAdded int64  `json:"files_added"`
			SizeAdded  int64  `json:"size_added"`
			TotalFiles int64  `json:"total_files"`
			TotalSize  int64  `json:"total_size"`
		}
		model := func(layout string, periods []string, roots ...string) []point {
			var out []point
			for _, p := range periods {
				pt := point{Period: p}
				for _, f := range catalogTree {
					if !f.live() || !slices.Contains(roots, f.root) {
						continue
					}
					label := f.mtime.UTC().Format(layout)
					if label == p {
						pt.FilesAdded++
						pt.SizeAdded += f.size
					}
					if label <= p {
						pt.TotalFiles++
						pt.TotalSize += f.size
					}
				}
				out = append(out, pt)
			}
			return out
		}
		var got struct {
			Period   string   `json:"period"`
			Growth   []point  `json:"growth"`
			FileRate *float64 `json:"file_growth_rate"`
			SizeRate *float64 `json:"size_growth_rate"`
		}
		months := []string{"2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"}
		get("/stats/growth?period=month&from=2024-01-01&to=2024-06-30", &got)
		require.Equal(t, "month", got.Period)
		want := model("2006-01", months, "disk", "other")
		require.Equal(t, want, got.Growth)
		require.EqualValues(t, 1, want[0].TotalFiles-want[0].FilesAdded, "huge.bin, before the period, counts in the totals")
		require.NotNil(t, got.FileRate)
		require.InDelta(t, 1900.0, *got.FileRate, 0.001, "20 files now, 1 before")
		get("/stats/growth?from="+url.QueryEscape("2024-02-15T10:00:00+01:00")+"&to=2024-04-01&root=disk", &got)
		require.Equal(t, model("2006-01", months[1:4], "disk"), got.Growth)
		get("/stats/growth?root=disk&period=day&from=2024-05-04&to=2024-05-08", &got)
		require.Equal(t, "day", got.Period)
		require.Equal(t, model("2006-01-02", []string{"2024-05-04", "2024-05-05", "2024-05-06", "2024-05-07", "2024-05-08"}, "disk"), got.Growth)
		require.NotNil(t, got.SizeRate)
		get("/stats/growth?months=3&to=2024-06-30&smb_root=disk", &got)
		require.Equal(t, model("2006-01", months[3:], "disk"), got.Growth)
		meta := get("/stats/growth?period=day", &got)
		require.EqualValues(t, 30, meta["count"], "30 days by default")
		get("/stats/growth", &got)
		require.Len(t, got.Growth, 12, "12 months by default")
		for _, q := range []string{"period=week", "from=2024-02-30", "to=tomorrow", "from=2024-06-01&to=2024-05-01",
			"period=day&from=2000-01-01&to=2024-01-01", "months=0", "months=61", "months=3&from=2024-01-01"} {
			r := s.Do(t, http.MethodGet, "/api/v1/stats/growth?"+q, nil)
			require.Equal(t, http.StatusBadRequest, r.Status, "growth?%s: %s", q, r.Raw)
			require.Equal(t, "INVALID_REQUEST", r.Error.Code)
		}
	})

	t.Run("scans", func(t *testing.T) {
		type scan struct {
			ID         string     `json:"id"`
			Root       string     `json:"storage_root_name"`
			ScanType   string     `json:"scan_type"`
			Status     string     `json:"status"`
			StartTime  *time.Time `json:"start_time"`
			EndTime    *time.Time `json:"end_time"`
			DurationMS *int64     `json:"duration_ms"`
			Files      int64      `json:"files_processed"`
			Bytes      int64      `json:"bytes_processed"`
			Deleted    int64      `json:"files_deleted"`
		}
		counts := func(root string, withGone bool) (n, size int64) {
			for _, f := range catalogTree {
				if f.root == root && (withGone || !f.gone) {
					n, size = n+1, size+f.size
				}
			}
			return n, size
		}
		var got struct {
			Scans []scan `json:"scans"`
		}
		meta := get("/stats/scans", &got)
		require.EqualValues(t, 3, meta["total"])
		require.Len(t, got.Scans, 3)
		for i, want := range []filefleet.Job{scans[2], scans[1], scans[0]} {
			g := got.Scans[i]
			require.Equal(t, want.ID, g.ID, "newest first")
			require.Equal(t, want.RootName, g.Root)
			require.Equal(t, "full", g.ScanType)
			require.Equal(t, "succeeded", g.Status)
			require.True(t, want.StartedAt.Equal(*g.StartTime))
			require.True(t, want.FinishedAt.Equal(*g.EndTime))
			require.Equal(t, want.FinishedAt.Sub(*want.StartedAt).Milliseconds(), *g.DurationMS)
		}
		n, size := counts("disk", false)
		require.Equal(t, scan{Files: n, Bytes: size, Deleted: 1}, scan{Files: got.Scans[0].Files, Bytes: got.Scans[0].Bytes, Deleted: got.Scans[0].Deleted})
		n, size = counts("other", false)
		require.Equal(t, scan{Files: n, Bytes: size}, scan{Files: got.Scans[1].Files, Bytes: got.Scans[1].Bytes, Deleted: got.Scans[1].Deleted})
		n, size = counts("disk", true)
		require.Equal(t, scan{Files: n, Bytes: size}, scan{Files: got.Scans[2].Files, Bytes: got.Scans[2].Bytes, Deleted: got.Scans[2].Deleted})

		meta = get("/stats/scans?smb_root=disk&limit=1&offset=1", &got)
		require.EqualValues(t, 2, meta["total"])
		require.Len(t, got.Scans, 1)
		require.Equal(t, scans[0].ID, got.Scans[0].ID)
		for _, q := range []string{"limit=0", "offset=x"} {
			r := s.Do(t, http.MethodGet, "/api/v1/stats/scans?"+q, nil)
			require.Equal(t, http.StatusBadRequest, r.Status, "scans?%s: %s", q, r.Raw)
		}
	})

	for _, p := range []string{"filetypes?limit=0", "filetypes?limit=1001", "filetypes?sort_by=name", "directories/by-size?limit=x",
		"directories/by-size?recursive=sometimes"} {
		r := s.Do(t, http.MethodGet, "/api/v1/stats/"+p, nil)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", p, r.Raw)
		require.Equal(t, "INVALID_REQUEST", r.Error.Code)
	}
}
