package store

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
)

// DuplicateStats are the catalog's duplicate totals (files with the same BLAKE3 and size).
type DuplicateStats struct {
	Groups       int64   `json:"duplicate_groups" db:"groups"`
	Duplicates   int64   `json:"total_duplicates" db:"dups"`
	WastedSpace  int64   `json:"wasted_space" db:"wasted"`
	LargestGroup int64   `json:"largest_duplicate_group" db:"largest"`
	AverageGroup float64 `json:"average_group_size" db:"average"`
}

// catalogGroups groups the present files of root $1 ("" for all) by content as dedupe does:
// by BLAKE3, or by MD5 (S3 ETags) where every file of a size has one; hard links count once
// and the trash is left out.
const catalogGroups = `
	hashed AS (
		SELECT DISTINCT ON (f.root_id, CASE WHEN f.file_key = '' THEN f.id::text ELSE f.file_key END) f.*
		FROM files f
		WHERE NOT f.deleted AND f.size > 0 AND NOT starts_with(f.path, '` + filefleet.TrashDir + `/')
			AND ($1 = '' OR f.root_id = (SELECT id FROM roots WHERE name = $1))
		ORDER BY f.root_id, CASE WHEN f.file_key = '' THEN f.id::text ELSE f.file_key END, f.id),
	keyed AS (
		SELECT *, CASE WHEN bool_and(hash_md5 IS NOT NULL) OVER (PARTITION BY size) THEN hash_md5
			ELSE hash_blake3 END AS content_key
		FROM hashed),
	g AS (
		SELECT content_key AS hash, size, array_agg(id ORDER BY root_id, path) AS file_ids, count(*) AS n
		FROM keyed WHERE content_key IS NOT NULL GROUP BY content_key, size HAVING count(*) > 1)`

// CatalogDuplicateStats returns the duplicate totals of root ("" for all roots).
func CatalogDuplicateStats(ctx context.Context, q sqlx.QueryerContext, root string) (DuplicateStats, error) {
	var s DuplicateStats
	err := sqlx.GetContext(ctx, q, &s, `WITH `+catalogGroups+`
		SELECT count(*) AS groups, coalesce(sum(n - 1), 0) AS dups, coalesce(sum((n - 1) * size), 0) AS wasted,
			coalesce(max(n), 0) AS largest, coalesce(round(avg(n), 2), 0)::float8 AS average FROM g`, root)
	return s, translate(err, "duplicate stats")
}

// CatalogDuplicateGroups returns the largest duplicate groups of root ("" for all), by
// "count" (files) or "size" (wasted bytes).
func CatalogDuplicateGroups(ctx context.Context, q sqlx.QueryerContext, root, sortBy string, limit int) ([]filefleet.DuplicateGroup, error) {
	order := "(n - 1) * size DESC"
	if sortBy == "count" {
		order = "n DESC, size DESC"
	}
	var rows []groupRow
	err := sqlx.SelectContext(ctx, q, &rows, `WITH `+catalogGroups+`
		SELECT 0 AS id, hash, size, file_ids FROM g ORDER BY `+order+`, hash LIMIT $2`, root, limit)
	if err != nil {
		return nil, translate(err, "duplicate groups")
	}
	return withFiles(ctx, q, rows)
}
