package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/store"
)

// fillCatalog inserts n synthetic live files into 4 roots in one statement: 1,000 top
// directories of 10 subdirectories, 100 files each (per million); names "<word>-<8 hex>.<ext>"
// with 10 words and 12 extensions in turn; sizes 1 B to 1 GiB, log-uniform; modification
// times spread over 694 days. The secondary indexes are dropped during the insert and built
// again after it (much faster than maintaining them row by row), then the table is analyzed.
func fillCatalog(ctx context.Context, tb testing.TB, db *sqlx.DB, n int) {
	tb.Helper()
	_, err := db.ExecContext(ctx, `INSERT INTO roots (name, kind) SELECT 'root' || g, 'local' FROM generate_series(1, 4) g`)
	require.NoError(tb, err)
	var indexes []struct {
		Name string `db:"indexname"`
		Def  string `db:"indexdef"`
	}
	require.NoError(tb, db.SelectContext(ctx, &indexes, `SELECT indexname, indexdef FROM pg_indexes
		WHERE tablename = 'files' AND indexname NOT IN ('files_pkey', 'files_root_id_path_key')`))
	for _, ix := range indexes {
		_, err := db.ExecContext(ctx, `DROP INDEX `+ix.Name)
		require.NoError(tb, err)
	}
	_, err = db.ExecContext(ctx, `
		INSERT INTO files (root_id, scan_gen, path, dir, name, ext, size, mtime)
		SELECT r, 1, d || '/' || nm, d, nm, e, s, m FROM (
			SELECT i % 4 + 1 AS r,
				'd' || lpad((i / 1000 % 1000)::text, 3, '0') || '/s' || (i / 100 % 10) AS d,
				(ARRAY['report','holiday','invoice','photo','scan','draft','notes','backup','song','movie'])[i % 10 + 1]
					|| '-' || substr(md5(i::text), 1, 8) || '.' || (ARRAY['jpg','png','pdf','txt','mp4','mkv','mp3','flac','docx','zip','gz','csv'])[i % 12 + 1] AS nm,
				(ARRAY['jpg','png','pdf','txt','mp4','mkv','mp3','flac','docx','zip','gz','csv'])[i % 12 + 1] AS e,
				power(2, (i * 7919 % 300) / 10.0)::bigint AS s,
				timestamptz '2026-01-01' - (i * 104729 % 1000000) * interval '1 minute' AS m
			FROM generate_series(0::bigint, $1 - 1) i) x`, n)
	require.NoError(tb, err)
	for _, ix := range indexes {
		_, err := db.ExecContext(ctx, ix.Def)
		require.NoError(tb, err)
	}
	_, err = db.ExecContext(ctx, `VACUUM ANALYZE files`)
	require.NoError(tb, err)
}

// BenchmarkSearch measures typical catalog searches, and the statistics, on 1,000,000 files;
// each reports its 95th percentile latency (p95-ms). The database is filled once (a minute or
// two): run it with a fixed count, e.g.
//
//	go test -run '^$' -bench BenchmarkSearch -benchtime 50x ./store
func BenchmarkSearch(b *testing.B) {
	ctx := context.Background()
	db, _ := testenv.DB(b)
	start := time.Now()
	fillCatalog(ctx, b, db, 1_000_000)
	b.Logf("filled 1,000,000 rows and built the indexes in %s", time.Since(start).Round(time.Second))

	size := func(n int64) *int64 { return &n }
	after := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	searches := []struct {
		name string
		p    store.SearchParams
	}{
		{"name_rare", store.SearchParams{Query: "3f9a"}},      // ~90 matches
		{"name_some", store.SearchParams{Query: "report-3"}},  // ~6,000 matches
		{"name_common", store.SearchParams{Query: "holiday"}}, // 100,000 matches
		{"name_short", store.SearchParams{Query: "a"}},        // most names; no trigram
		{"name_in_root_dir", store.SearchParams{Query: "holiday", RootIDs: []int64{2}, Path: "d042"}},
		{"ext_size_range", store.SearchParams{Extensions: []string{"jpg", "png"}, MinSize: size(1 << 20), MaxSize: size(10 << 20)}},
		{"mime_modified", store.SearchParams{MimeType: "image/*", ModifiedAfter: &after, SortBy: "modified_at", SortOrder: "desc"}},
		{"path_prefix", store.SearchParams{Path: "d042"}}, // 1,000 files in 4 roots
		{"path_prefix_sorted", store.SearchParams{Path: "d042", SortBy: "size", SortOrder: "desc"}},
		{"all_by_name", store.SearchParams{}}, // page 1 of everything
		{"all_by_size_page_11", store.SearchParams{SortBy: "size", SortOrder: "desc", Offset: 1000}},
		{"all_by_mtime", store.SearchParams{SortBy: "modified_at", SortOrder: "desc"}},
	}
	for _, s := range searches {
		s.p.Limit = 100
		b.Run("search/"+s.name, func(b *testing.B) {
			var total int64
			measure(b, func() {
				res, err := store.Search(ctx, db, s.p)
				require.NoError(b, err)
				total = res.Total
			})
			b.ReportMetric(float64(total), "matches")
		})
	}

	stats := []struct {
		name string
		fn   func() error
	}{
		{"totals", func() error { _, err := store.Totals(ctx, db, 0); return err }},
		{"filetypes", func() error { _, _, err := store.FileTypeStats(ctx, db, 0, "size", 50); return err }},
		{"sizes", func() error { _, err := store.SizeStats(ctx, db, 0); return err }},
		{"directories_recursive", func() error { _, err := store.DirectoriesBySize(ctx, db, 0, true, 20); return err }},
		{"growth_12_months", func() error {
			_, err := store.Growth(ctx, db, 0, store.GrowthMonth, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC))
			return err
		}},
		{"growth_root_30_days", func() error {
			_, err := store.Growth(ctx, db, 2, store.GrowthDay, time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 30, 0, 0, 0, 0, time.UTC))
			return err
		}},
		{"duplicates", func() error { _, err := store.CatalogDuplicateStats(ctx, db, ""); return err }},
	}
	for _, s := range stats {
		b.Run("stats/"+s.name, func(b *testing.B) {
			measure(b, func() { require.NoError(b, s.fn()) })
		})
	}
}

// measure runs fn b.N times and reports the 95th percentile and median latency in ms.
func measure(b *testing.B, fn func()) {
	b.Helper()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		t := time.Now()
		fn()
		took = append(took, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(took)
	pct := func(p float64) float64 {
		return float64(took[min(len(took)-1, int(p*float64(len(took))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.50), "p50-ms")
}
