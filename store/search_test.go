package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/store"
)

// TestSearchOrders checks Search's name-term pages, whichever way it finds them (a window of
// the sort order, or the trigram lookup and a sort), against the plain SQL of the same filter
// and order, on 30,000 generated rows: a common term (10% of names), a clustered one, a rare
// one; every sort, both directions, near and far pages.
func TestSearchOrders(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	fillCatalog(ctx, t, db, 30_000)
	cols := map[string]string{"name": "lower(name)", "path": "path", "size": "size", "modified_at": "mtime", "extension": "ext"}
	for _, term := range []string{"holiday", "report-3", "3f9a", "HOLIDAY-1"} {
		for sortBy, col := range cols {
			for _, dir := range []string{"asc", "desc"} {
				for _, offset := range []int{0, 40, 2500} {
					p := store.SearchParams{Query: term, SortBy: sortBy, SortOrder: dir, Limit: 20, Offset: offset}
					name := fmt.Sprintf("%s/%s/%s/%d", term, sortBy, dir, offset)
					res, err := store.Search(ctx, db, p)
					require.NoError(t, err, name)
					var want []string
					require.NoError(t, db.SelectContext(ctx, &want, fmt.Sprintf(`SELECT path FROM files
						WHERE NOT deleted AND lower(name) LIKE '%%' || lower($1) || '%%'
						ORDER BY %s %s, root_id %[2]s, path %[2]s LIMIT 20 OFFSET $2`, col, dir), term, offset))
					got := make([]string, len(res.Files))
					for i, f := range res.Files {
						got[i] = f.Path
					}
					if want == nil {
						want = []string{}
					}
					require.Equal(t, want, got, name)
				}
			}
		}
	}
	var n int64
	require.NoError(t, db.GetContext(ctx, &n, `SELECT count(*) FROM files WHERE lower(name) LIKE '%holiday%'`))
	res, err := store.Search(ctx, db, store.SearchParams{Query: "holiday", Limit: 10})
	require.NoError(t, err)
	if !res.TotalEstimated {
		require.Equal(t, n, res.Total, "an exact count when it fits the budget")
	} else {
		require.InDelta(t, float64(n), float64(res.Total), float64(n)/2, "an estimate near the count")
	}
}
