package store

import (
	"context"

	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
)

// DuplicateStats are the catalog's duplicate totals (files with the same content and size).
type DuplicateStats struct {
	Groups       int64   `json:"duplicate_groups" db:"groups"`
	Duplicates   int64   `json:"total_duplicates" db:"dups"`
	WastedSpace  int64   `json:"wasted_space" db:"wasted"`
	LargestGroup int64   `json:"largest_duplicate_group" db:"largest"`
	AverageGroup float64 `json:"average_group_size" db:"average"`
}

// catalogScopes returns every root named root ("" for all roots) as a whole-root scope: the
// catalog's duplicates are grouped as a dedupe scan of those roots groups them.
func catalogScopes(ctx context.Context, q sqlx.QueryerContext, root string) (any, any, error) {
	var scopes []Scope
	err := sqlx.SelectContext(ctx, q, &scopes, `SELECT id AS root_id, name AS root FROM roots WHERE $1 = '' OR name = $1`, root)
	ids, prefixes := scopeArgs(scopes)
	return ids, prefixes, translate(err, "catalog scopes")
}

// CatalogDuplicateStats returns the duplicate totals of root ("" for all roots).
func CatalogDuplicateStats(ctx context.Context, q sqlx.QueryerContext, root string) (DuplicateStats, error) {
	var s DuplicateStats
	ids, prefixes, err := catalogScopes(ctx, q, root)
	if err != nil {
		return s, err
	}
	err = sqlx.GetContext(ctx, q, &s, `WITH `+identities+contentGroups+`
		SELECT count(*) AS groups, coalesce(sum(n - 1), 0) AS dups, coalesce(sum((n - 1) * size), 0) AS wasted,
			coalesce(max(n), 0) AS largest, coalesce(round(avg(n), 2), 0)::float8 AS average FROM groups`, ids, prefixes)
	return s, translate(err, "duplicate stats")
}

// CatalogDuplicateGroups returns the largest duplicate groups of root ("" for all), by
// "count" (files) or "size" (wasted bytes).
func CatalogDuplicateGroups(ctx context.Context, q sqlx.QueryerContext, root, sortBy string, limit int) ([]filefleet.DuplicateGroup, error) {
	order := "(n - 1) * size DESC"
	if sortBy == "count" {
		order = "n DESC, size DESC"
	}
	ids, prefixes, err := catalogScopes(ctx, q, root)
	if err != nil {
		return nil, err
	}
	var rows []groupRow
	err = sqlx.SelectContext(ctx, q, &rows, `WITH `+identities+contentGroups+`
		SELECT 0 AS id, hash, size, file_ids FROM groups ORDER BY `+order+`, hash LIMIT $3`, ids, prefixes, limit)
	if err != nil {
		return nil, translate(err, "duplicate groups")
	}
	return withFiles(ctx, q, rows)
}
