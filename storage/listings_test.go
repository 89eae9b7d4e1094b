package storage_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/storage"
)

// TestListings: a listing serves while its directory's mtime is unchanged, and only when the
// directory was not modified just before the read; the oldest of more than ListingsKept goes.
func TestListings(t *testing.T) {
	var l storage.Listings[string]
	now := time.Now()
	old := now.Add(-time.Hour)
	l.Put("a", old, now, []string{"x", "y"})
	items, ok := l.Get("a", old)
	require.True(t, ok)
	require.Equal(t, []string{"x", "y"}, items)
	_, ok = l.Get("a", old.Add(time.Nanosecond))
	require.False(t, ok, "the directory changed since")
	_, ok = l.Get("b", old)
	require.False(t, ok, "never listed")

	l.Put("fresh", now.Add(-time.Second), now, []string{"z"})
	_, ok = l.Get("fresh", now.Add(-time.Second))
	require.False(t, ok, "modified a second before the read: a change in the same tick would go unseen")

	l.Put("stale", old, now.Add(-storage.ListingTTL), []string{"z"})
	_, ok = l.Get("stale", old)
	require.False(t, ok, "read longer ago than ListingTTL")

	for i := range storage.ListingsKept {
		l.Put(fmt.Sprint("d", i), old, now, []string{"z"})
	}
	_, ok = l.Get("a", old)
	require.False(t, ok, "the oldest listing made room")
	_, ok = l.Get(fmt.Sprint("d", storage.ListingsKept-1), old)
	require.True(t, ok)
}
