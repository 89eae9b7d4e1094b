package local_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/local"
	"github.com/filefleet/filefleet/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		return open(t, t.TempDir())
	})
}

func open(t *testing.T, dir string) *local.Backend {
	t.Helper()
	b, err := local.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	_, err := local.New(filepath.Join(dir, "missing"))
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err), "%v", err)

	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	_, err = local.New(file)
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err), "%v", err)

	_, err = local.New("")
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err), "%v", err)
}

func TestSymlinks(t *testing.T) {
	ctx := t.Context()
	dir, outside := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "real.txt"), []byte("real"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.Symlink("/etc", filepath.Join(dir, "etc")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "out-file")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "out-dir")))
	require.NoError(t, os.Symlink("../../"+filepath.Base(outside), filepath.Join(dir, "sub", "up")))
	require.NoError(t, os.Symlink("real.txt", filepath.Join(dir, "in-file")))
	require.NoError(t, os.Symlink("sub", filepath.Join(dir, "in-dir")))
	require.NoError(t, os.Symlink("nowhere", filepath.Join(dir, "dangling")))
	b := open(t, dir)

	for _, p := range []string{"etc", "etc/hostname", "etc/passwd", "out-file", "out-dir", "out-dir/secret.txt", "sub/up/secret.txt"} {
		_, err := b.Stat(ctx, p)
		require.Error(t, err, "Stat %q", p)
		_, err = b.Open(ctx, p, 0, -1)
		require.Error(t, err, "Open %q", p)
		require.NotEqual(t, filefleet.EINTERNAL, filefleet.ErrorCode(err), "%v", err)
		_, _, err = b.List(ctx, p, "", 10)
		require.Error(t, err, "List %q", p)
	}
	_, err := b.Stat(ctx, "out-dir/secret.txt")
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err), "%v", err)

	// Writes through an escaping symlink fail and leave the outside alone.
	_, err = b.Put(ctx, "out-dir/planted.txt", strings.NewReader("x"))
	require.Error(t, err)
	require.Error(t, b.Copy(ctx, "real.txt", "out-dir/copied.txt"))
	require.Error(t, b.Rename(ctx, "real.txt", "out-dir/moved.txt"))
	entries, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Len(t, entries, 1)

	// Symlinks inside the root are followed.
	st, err := b.Stat(ctx, "in-file")
	require.NoError(t, err)
	real, err := b.Stat(ctx, "real.txt")
	require.NoError(t, err)
	require.NotEmpty(t, real.FileKey)
	require.Equal(t, storage.Entry{Path: "in-file", Size: 4, ModTime: st.ModTime, FileKey: real.FileKey}, st,
		"a link has the key of the file it names")
	rc, err := b.Open(ctx, "in-file", 1, 2)
	require.NoError(t, err)
	buf := make([]byte, 10)
	n, _ := rc.Read(buf)
	require.NoError(t, rc.Close())
	require.Equal(t, "ea", string(buf[:n]))
	st, err = b.Stat(ctx, "in-dir")
	require.NoError(t, err)
	require.True(t, st.IsDir)

	var got []string
	list, next, err := b.List(ctx, "", "", 100)
	require.NoError(t, err)
	require.Equal(t, "", next)
	for _, e := range list {
		got = append(got, e.Name())
	}
	require.Equal(t, []string{"in-dir", "in-file", "real.txt", "sub"}, got)
}

func TestTempFilesHidden(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, local.TempPrefix+"leftover"), []byte("x"), 0o644))
	b := open(t, dir)
	_, err := b.Put(t.Context(), "a.txt", strings.NewReader("a"))
	require.NoError(t, err)
	list, _, err := b.List(t.Context(), "", "", 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "a.txt", list[0].Path)
}

// TestStaleTempRemoved: a listing removes temporary files older than a day (a writer that
// died before renaming its file into place) and leaves fresh ones (writes in progress); it
// lists neither.
func TestStaleTempRemoved(t *testing.T) {
	dir := t.TempDir()
	old, fresh := filepath.Join(dir, local.TempPrefix+"old"), filepath.Join(dir, local.TempPrefix+"fresh")
	for _, p := range []string{old, fresh, filepath.Join(dir, "kept.txt")} {
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	}
	long := time.Now().Add(-2 * storage.TempStaleAfter)
	require.NoError(t, os.Chtimes(old, long, long))

	entries, _, err := open(t, dir).List(t.Context(), "", "", 100)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "kept.txt", entries[0].Name())
	require.NoFileExists(t, old, "the stale temporary file is gone")
	require.FileExists(t, fresh, "a write in progress is left alone")
}

// TestSymlinkLoops: a link to the directory it is in, or to one above it, is left out of
// listings (following it would never end); a link to a directory elsewhere in the root is
// listed as a directory, and a Walk of the root ends.
func TestSymlinkLoops(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a/b"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "other"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a/b/f.txt"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink(".", filepath.Join(dir, "a/b/self")))
	require.NoError(t, os.Symlink("..", filepath.Join(dir, "a/b/up")))
	require.NoError(t, os.Symlink("../..", filepath.Join(dir, "a/b/top")))
	require.NoError(t, os.Symlink("../../other", filepath.Join(dir, "a/b/side")))
	b := open(t, dir)

	entries, _, err := b.List(t.Context(), "a/b", "", 100)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name()+map[bool]string{true: "/"}[e.IsDir])
	}
	require.Equal(t, []string{"f.txt", "side/"}, got)
	require.Equal(t, []string{"a/b/f.txt"}, storagetest.WalkPaths(t, b, ""))
}

// TestListLargeDirChangingBetweenPages: the pages of a large directory come from one read of
// it, unless it changed since: a file added between two pages is listed.
func TestListLargeDirChangingBetweenPages(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	b, err := local.New(dir)
	require.NoError(t, err)
	defer b.Close()
	storagetest.ListChangingBetweenPages(t, b, storagetest.DirOps{
		Write: func(name string, data []byte) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
		},
		Remove: func(name string) { require.NoError(t, os.Remove(filepath.Join(dir, name))) },
		Age:    func() { require.NoError(t, os.Chtimes(dir, old, old)) },
	})

	// Unchanged since (and with an old modification time again), its pages come from the
	// read kept: a file whose name sorts later is still listed as it is now.
	require.NoError(t, os.Chtimes(dir, old, old))
	page, next, err := b.List(t.Context(), "", "", 10)
	require.NoError(t, err)
	require.Len(t, page, 10)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a29"), []byte("grown"), 0o644))
	for next != "" {
		page, next, err = b.List(t.Context(), "", next, 10)
		require.NoError(t, err)
		if len(page) > 0 && page[len(page)-1].Path == "a29" {
			require.EqualValues(t, 5, page[len(page)-1].Size, "sizes are read at each page")
		}
	}
}

// BenchmarkListFlatDir lists every page of one directory of 50,000 files, 1,000 a page (a
// scan's page size), as a scan does.
func BenchmarkListFlatDir(b *testing.B) {
	dir := b.TempDir()
	const files = 50_000
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%06d.txt", i)), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour) // a directory not written to lately, as most are
	if err := os.Chtimes(dir, old, old); err != nil {
		b.Fatal(err)
	}
	be, err := local.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	storagetest.BenchmarkList(b, be, "", files)
}

// TestDirectoryReplaced: when the root's path comes to name another directory (a file system
// mounted on it, or the directory replaced) the backend follows the path, not the directory
// it opened first: a scan of the old one would find none of the files.
func TestDirectoryReplaced(t *testing.T) {
	defer func(d time.Duration) { local.RootRecheck = d }(local.RootRecheck)
	local.RootRecheck = 0
	dir := filepath.Join(t.TempDir(), "nas")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mountpoint.txt"), nil, 0o644))
	b, err := local.New(dir)
	require.NoError(t, err)
	defer b.Close()
	entries, _, err := b.List(t.Context(), "", "", 10)
	require.NoError(t, err)
	require.Len(t, entries, 1)

	require.NoError(t, os.Rename(dir, dir+".old"))
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "share.txt"), []byte("on the share"), 0o644))
	entries, _, err = b.List(t.Context(), "", "", 10)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "share.txt", entries[0].Path)
	e, err := b.Put(t.Context(), "new.txt", strings.NewReader("x"))
	require.NoError(t, err)
	require.Equal(t, "new.txt", e.Path)
	_, err = os.Stat(filepath.Join(dir, "new.txt"))
	require.NoError(t, err, "written to the directory the path names now")
}

// TestClosedStaysClosed: a closed backend does not open its directory again (the path
// check of fs would otherwise take the closed root for a replaced directory).
func TestClosedStaysClosed(t *testing.T) {
	defer func(d time.Duration) { local.RootRecheck = d }(local.RootRecheck)
	local.RootRecheck = 0
	b, err := local.New(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, b.Close())
	_, _, err = b.List(t.Context(), "", "", 10)
	require.Error(t, err, "a closed backend lists nothing")
}
