package storage

import (
	"sync"
	"time"
)

// Limits of a Listings cache: how many directories it keeps, and how long.
const (
	ListingsKept = 4
	ListingTTL   = time.Minute
)

// Listings keeps the sorted entries (of a backend's own type T) of the few large directories
// a backend listed last, so that the pages of a directory of n entries cost one read of it,
// not one each: without it a scan of a flat directory of 50,000 files on a local disk read
// it 50 times (local's BenchmarkListFlatDir). An entry serves while the directory's
// modification time is what it was (adding, removing or renaming an entry changes it) and
// for ListingTTL at most. A directory modified less than two seconds before it was read is
// not kept: a change made in the same clock tick as the read (two seconds on FAT volumes a
// NAS may share) would leave its modification time as it was. The zero value is ready to use.
type Listings[T any] struct {
	mu   sync.Mutex
	dirs []listing[T] // oldest first
}

type listing[T any] struct {
	dir    string
	mtime  time.Time // the directory's, when read
	readAt time.Time
	items  []T
}

// Get returns the items kept for dir when its modification time is still mtime.
func (l *Listings[T]) Get(dir string, mtime time.Time) ([]T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.dirs {
		if d.dir == dir {
			return d.items, d.mtime.Equal(mtime) && time.Since(d.readAt) < ListingTTL
		}
	}
	return nil, false
}

// Put keeps items, read from dir at readAt when its modification time was mtime, in place
// of what was kept for dir, or of the oldest directory kept.
func (l *Listings[T]) Put(dir string, mtime, readAt time.Time, items []T) {
	if readAt.Sub(mtime) < 2*time.Second {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, d := range l.dirs {
		if d.dir == dir {
			l.dirs = append(l.dirs[:i], l.dirs[i+1:]...)
			break
		}
	}
	if len(l.dirs) == ListingsKept {
		l.dirs = l.dirs[1:]
	}
	l.dirs = append(l.dirs, listing[T]{dir: dir, mtime: mtime, readAt: readAt, items: items})
}
