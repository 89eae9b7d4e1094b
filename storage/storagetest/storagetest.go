// Package storagetest is the conformance suite every storage.Backend must pass.
package storagetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
)

// LargeSize is the size of the unknown-size stream the suite writes, larger than the
// 16 MiB part size of the S3 backend.
const LargeSize = 20 << 20

// Run runs the suite. open returns a backend for one subtest (registering its Close with
// t.Cleanup); subtests work in fresh directories named after them, so backends may share
// a root with other runs.
func Run(t *testing.T, open func(t *testing.T) storage.Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b storage.Backend, dir string)
	}{
		{"PutStatOpen", testPutStatOpen},
		{"ZeroByte", testZeroByte},
		{"Names", testNames},
		{"NestedDirs", testNestedDirs},
		{"ListPaging", testListPaging},
		{"Walk", testWalk},
		{"Rename", testRename},
		{"Copy", testCopy},
		{"Remove", testRemove},
		{"Missing", testMissing},
		{"BadPaths", testBadPaths},
		{"LargeUnknownSize", testLargeUnknownSize},
		{"TruncatedSource", testTruncatedSource},
		{"ManyEntries", testManyEntries},
		{"EmptyDirs", testEmptyDirs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := open(t)
			tt.fn(t, b, UniqueDir(t))
		})
	}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// UniqueDir returns a directory name made of t's name and a random suffix.
func UniqueDir(t testing.TB) string {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return unsafeChars.ReplaceAllString(t.Name(), "_") + "-" + hex.EncodeToString(rnd[:])
}

func testPutStatOpen(t *testing.T, b storage.Backend, dir string) {
	p := dir + "/hello.txt"
	const content = "hello, filefleet"
	e := put(t, b, p, content)
	require.Equal(t, p, e.Path)
	require.Equal(t, "hello.txt", e.Name())
	require.Equal(t, int64(len(content)), e.Size)
	require.False(t, e.IsDir)

	st, err := b.Stat(t.Context(), p)
	require.NoError(t, err)
	require.Equal(t, p, st.Path)
	require.Equal(t, int64(len(content)), st.Size)
	require.False(t, st.IsDir)
	require.False(t, st.ModTime.IsZero(), "file ModTime")

	for _, c := range []struct {
		offset, length int64
		want           string
	}{
		{0, -1, content},
		{7, -1, "filefleet"},
		{0, 5, "hello"},
		{7, 4, "file"},
		{15, 1, "t"},
		{0, 0, ""},
		{11, 100, "fleet"},
		{int64(len(content)), -1, ""},
	} {
		require.Equal(t, c.want, read(t, b, p, c.offset, c.length), "offset %d length %d", c.offset, c.length)
	}

	put(t, b, p, "v2")
	require.Equal(t, "v2", read(t, b, p, 0, -1), "Put replaces the file")
	st, err = b.Stat(t.Context(), p)
	require.NoError(t, err)
	require.Equal(t, int64(2), st.Size)
	require.Equal(t, []string{"hello.txt"}, names(ListAll(t, b, dir)))
}

func testZeroByte(t *testing.T, b storage.Backend, dir string) {
	p := dir + "/empty"
	e := put(t, b, p, "")
	require.Equal(t, int64(0), e.Size)
	st, err := b.Stat(t.Context(), p)
	require.NoError(t, err)
	require.Equal(t, int64(0), st.Size)
	require.False(t, st.IsDir)
	require.Equal(t, "", read(t, b, p, 0, -1))
	require.Equal(t, "", read(t, b, p, 0, 10))
	entries := ListAll(t, b, dir)
	require.Len(t, entries, 1)
	require.Equal(t, p, entries[0].Path)
	require.False(t, entries[0].IsDir)
	require.Equal(t, int64(0), entries[0].Size)

	require.NoError(t, b.Copy(t.Context(), p, dir+"/empty-copy"))
	require.Equal(t, "", read(t, b, dir+"/empty-copy", 0, -1))
}

func testNames(t *testing.T, b storage.Backend, dir string) {
	files := []string{
		"with space.txt",
		" leading space",
		"ünïcödé.txt",
		"日本語/ファイル 1.txt",
		"plus+sign&amp=eq.txt",
		"percent%41%2F.txt",
		"hash#question?.txt",
		"quote'double\".txt",
		"emoji 🎉/💾.bin",
	}
	for _, f := range files {
		p := dir + "/" + f
		put(t, b, p, f)
		st, err := b.Stat(t.Context(), p)
		require.NoError(t, err, f)
		require.Equal(t, p, st.Path)
		require.Equal(t, int64(len(f)), st.Size)
		require.Equal(t, f, read(t, b, p, 0, -1))
	}
	var found []string
	require.NoError(t, storage.Walk(t.Context(), b, dir, 3, func(e storage.Entry) error {
		found = append(found, strings.TrimPrefix(e.Path, dir+"/"))
		return nil
	}))
	sort.Strings(found)
	want := append([]string(nil), files...)
	sort.Strings(want)
	require.Equal(t, want, found)

	top := ListAll(t, b, dir)
	require.Contains(t, names(top), "日本語")
	require.Contains(t, names(top), "with space.txt")
}

func testNestedDirs(t *testing.T, b storage.Backend, dir string) {
	put(t, b, dir+"/a/b/c/deep.txt", "deep")
	for _, d := range []string{dir, dir + "/a", dir + "/a/b", dir + "/a/b/c"} {
		st, err := b.Stat(t.Context(), d)
		require.NoError(t, err, d)
		require.True(t, st.IsDir, d)
		require.Equal(t, d, st.Path)
	}
	// Paths are cleaned.
	st, err := b.Stat(t.Context(), dir+"//a/./b/c/deep.txt")
	require.NoError(t, err)
	require.Equal(t, dir+"/a/b/c/deep.txt", st.Path)

	root, err := b.Stat(t.Context(), "")
	require.NoError(t, err)
	require.True(t, root.IsDir)
	require.Equal(t, "", root.Path)

	entries := ListAll(t, b, dir)
	require.Len(t, entries, 1)
	require.Equal(t, storage.Entry{Path: dir + "/a", IsDir: true}, withoutTime(entries[0]))
	entries = ListAll(t, b, dir+"/a/b/c")
	require.Len(t, entries, 1)
	require.Equal(t, dir+"/a/b/c/deep.txt", entries[0].Path)

	_, _, err = b.List(t.Context(), dir+"/no-such-dir", "", 10)
	requireCode(t, filefleet.ENOTFOUND, err)
}

// testListPaging checks paging and the order: by name, a directory's name compared as if
// it ended in "/" (S3 key order), so dir "file-12" comes after file "file-12.txt".
func testListPaging(t *testing.T, b storage.Backend, dir string) {
	var want []storage.Entry
	for i := range 25 {
		name := fmt.Sprintf("file-%02d.txt", i)
		content := strings.Repeat("x", i)
		put(t, b, dir+"/"+name, content)
		want = append(want, storage.Entry{Path: dir + "/" + name, Size: int64(i)})
	}
	for _, d := range []string{"dir-a", "file-12", "zz"} {
		put(t, b, dir+"/"+d+"/one", "1")
		put(t, b, dir+"/"+d+"/two", "22")
		want = append(want, storage.Entry{Path: dir + "/" + d, IsDir: true})
	}
	sort.Slice(want, func(i, j int) bool { return sortKey(want[i]) < sortKey(want[j]) })

	full, next, err := b.List(t.Context(), dir, "", 100)
	require.NoError(t, err)
	require.Equal(t, "", next)
	for i := range full {
		if !full[i].IsDir {
			require.False(t, full[i].ModTime.IsZero(), full[i].Path)
		}
		full[i] = withoutTime(full[i])
	}
	require.Equal(t, want, full)

	for _, limit := range []int{1, 4, 7, 28} {
		var got []storage.Entry
		cursor := ""
		for page := 0; ; page++ {
			require.Less(t, page, 100, "limit %d: too many pages", limit)
			entries, next, err := b.List(t.Context(), dir, cursor, limit)
			require.NoError(t, err)
			require.LessOrEqual(t, len(entries), limit)
			if next != "" {
				require.NotEmpty(t, entries, "limit %d: empty page with a next cursor", limit)
			}
			for _, e := range entries {
				got = append(got, withoutTime(e))
			}
			if next == "" {
				break
			}
			cursor = next
		}
		require.Equal(t, want, got, "limit %d", limit)
	}
}

func testWalk(t *testing.T, b storage.Backend, dir string) {
	files := []string{"top.txt", "a/1.txt", "a/b/2.txt", "a/b/c/3.txt", "a/b/c/4.txt", "d/5.txt", "e/f/g/6.txt", "space name/7.txt"}
	for _, f := range files {
		put(t, b, dir+"/"+f, f)
	}
	seen := map[string]int{}
	require.NoError(t, storage.Walk(t.Context(), b, dir, 2, func(e storage.Entry) error {
		require.False(t, e.IsDir)
		rel := strings.TrimPrefix(e.Path, dir+"/")
		require.Equal(t, int64(len(rel)), e.Size, rel)
		seen[rel]++
		return nil
	}))
	require.Len(t, seen, len(files))
	for _, f := range files {
		require.Equal(t, 1, seen[f], f)
	}
}

func testRename(t *testing.T, b storage.Backend, dir string) {
	src, other := dir+"/src.txt", dir+"/other.txt"
	put(t, b, src, "one")
	put(t, b, other, "two")

	moved := dir + "/new/sub/moved.txt"
	require.NoError(t, b.Rename(t.Context(), src, moved))
	_, err := b.Stat(t.Context(), src)
	requireCode(t, filefleet.ENOTFOUND, err)
	require.Equal(t, "one", read(t, b, moved, 0, -1))

	requireCode(t, filefleet.ECONFLICT, b.Rename(t.Context(), moved, other))
	require.Equal(t, "one", read(t, b, moved, 0, -1))
	require.Equal(t, "two", read(t, b, other, 0, -1))

	requireCode(t, filefleet.ENOTFOUND, b.Rename(t.Context(), dir+"/missing", dir+"/x"))
	_, err = b.Stat(t.Context(), dir+"/x")
	requireCode(t, filefleet.ENOTFOUND, err)
}

func testCopy(t *testing.T, b storage.Backend, dir string) {
	src := dir + "/src.txt"
	put(t, b, src, "copy me")
	cp := dir + "/c/d/copy.txt"
	require.NoError(t, b.Copy(t.Context(), src, cp))
	require.Equal(t, "copy me", read(t, b, src, 0, -1))
	require.Equal(t, "copy me", read(t, b, cp, 0, -1))
	st, err := b.Stat(t.Context(), cp)
	require.NoError(t, err)
	require.Equal(t, int64(7), st.Size)

	put(t, b, dir+"/other.txt", "other")
	requireCode(t, filefleet.ECONFLICT, b.Copy(t.Context(), src, dir+"/other.txt"))
	require.Equal(t, "other", read(t, b, dir+"/other.txt", 0, -1))
	requireCode(t, filefleet.ENOTFOUND, b.Copy(t.Context(), dir+"/missing", dir+"/y"))
}

func testRemove(t *testing.T, b storage.Backend, dir string) {
	p := dir + "/gone.txt"
	put(t, b, p, "bye")
	put(t, b, dir+"/stays.txt", "hi")
	require.NoError(t, b.Remove(t.Context(), p))
	_, err := b.Stat(t.Context(), p)
	requireCode(t, filefleet.ENOTFOUND, err)
	_, err = b.Open(t.Context(), p, 0, -1)
	requireCode(t, filefleet.ENOTFOUND, err)
	requireCode(t, filefleet.ENOTFOUND, b.Remove(t.Context(), p))
	require.Equal(t, []string{"stays.txt"}, names(ListAll(t, b, dir)))
}

func testMissing(t *testing.T, b storage.Backend, dir string) {
	put(t, b, dir+"/exists", "x")
	for _, p := range []string{dir + "/nope", dir + "/no/such/file", "no-such-top-" + dir} {
		_, err := b.Open(t.Context(), p, 0, -1)
		requireCode(t, filefleet.ENOTFOUND, err)
		_, err = b.Open(t.Context(), p, 1, 1)
		requireCode(t, filefleet.ENOTFOUND, err)
		_, err = b.Stat(t.Context(), p)
		requireCode(t, filefleet.ENOTFOUND, err)
	}
}

func testBadPaths(t *testing.T, b storage.Backend, dir string) {
	ctx := t.Context()
	good := dir + "/good.txt"
	put(t, b, good, "good")
	for _, bad := range []string{"../x", "/abs", "a\x00b", dir + "/../../x", `a\b`} {
		_, _, err := b.List(ctx, bad, "", 10)
		requireCode(t, filefleet.EINVALID, err, "List %q", bad)
		_, err = b.Stat(ctx, bad)
		requireCode(t, filefleet.EINVALID, err, "Stat %q", bad)
		_, err = b.Open(ctx, bad, 0, -1)
		requireCode(t, filefleet.EINVALID, err, "Open %q", bad)
		_, err = b.Put(ctx, bad, strings.NewReader("x"))
		requireCode(t, filefleet.EINVALID, err, "Put %q", bad)
		requireCode(t, filefleet.EINVALID, b.Rename(ctx, bad, dir+"/r"), "Rename from %q", bad)
		requireCode(t, filefleet.EINVALID, b.Rename(ctx, good, bad), "Rename to %q", bad)
		requireCode(t, filefleet.EINVALID, b.Copy(ctx, bad, dir+"/c"), "Copy from %q", bad)
		requireCode(t, filefleet.EINVALID, b.Copy(ctx, good, bad), "Copy to %q", bad)
		requireCode(t, filefleet.EINVALID, b.Remove(ctx, bad), "Remove %q", bad)
	}
	_, err := b.Put(ctx, "", strings.NewReader("x"))
	requireCode(t, filefleet.EINVALID, err, "Put of the root")
	requireCode(t, filefleet.EINVALID, b.Remove(ctx, ""), "Remove of the root")
	_, _, err = b.List(ctx, dir, "", 0)
	requireCode(t, filefleet.EINVALID, err, "List with limit 0")
	_, err = b.Open(ctx, good, -1, 1)
	requireCode(t, filefleet.EINVALID, err, "Open at a negative offset")
	require.Equal(t, "good", read(t, b, good, 0, -1))
	require.Equal(t, []string{"good.txt"}, names(ListAll(t, b, dir)))
}

func testLargeUnknownSize(t *testing.T, b storage.Backend, dir string) {
	p := dir + "/large.bin"
	e, err := b.Put(t.Context(), p, &genReader{n: LargeSize})
	require.NoError(t, err)
	require.Equal(t, int64(LargeSize), e.Size)
	st, err := b.Stat(t.Context(), p)
	require.NoError(t, err)
	require.Equal(t, int64(LargeSize), st.Size)

	want := sha256.New()
	_, _ = io.Copy(want, &genReader{n: LargeSize})
	rc, err := b.Open(t.Context(), p, 0, -1)
	require.NoError(t, err)
	got := sha256.New()
	n, err := io.Copy(got, rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, int64(LargeSize), n)
	require.Equal(t, want.Sum(nil), got.Sum(nil), "sha256 of the read-back")

	for _, c := range []struct{ offset, length int64 }{
		{16<<20 - 100, 200},   // across the first part boundary
		{LargeSize - 50, -1},  // the tail
		{LargeSize - 10, 100}, // past the end
		{5 << 20, 1},          // one byte
	} {
		wantLen := LargeSize - c.offset
		if c.length >= 0 {
			wantLen = min(wantLen, c.length)
		}
		wantBytes := make([]byte, wantLen)
		for i := range wantBytes {
			wantBytes[i] = genByte(c.offset + int64(i))
		}
		rc, err := b.Open(t.Context(), p, c.offset, c.length)
		require.NoError(t, err)
		gotBytes, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.True(t, bytes.Equal(wantBytes, gotBytes), "offset %d length %d: got %d bytes", c.offset, c.length, len(gotBytes))
	}
}

// testTruncatedSource puts content whose reader ends with io.ErrUnexpectedEOF (a multipart
// upload whose body ended before its closing boundary), small and past a part: Put fails and
// neither a new file nor a replaced one holds the truncated content.
func testTruncatedSource(t *testing.T, b storage.Backend, dir string) {
	for _, n := range []int64{1000, 20 << 20} {
		p := fmt.Sprintf("%s/cut-%d.bin", dir, n)
		_, err := b.Put(t.Context(), p, io.MultiReader(&genReader{n: n}, iotest.ErrReader(io.ErrUnexpectedEOF)))
		require.Error(t, err, "a truncated source of %d bytes is an error", n)
		_, err = b.Stat(t.Context(), p)
		requireCode(t, filefleet.ENOTFOUND, err, "nothing at %s", p)

		put(t, b, p, "old")
		_, err = b.Put(t.Context(), p, io.MultiReader(&genReader{n: n}, iotest.ErrReader(io.ErrUnexpectedEOF)))
		require.Error(t, err)
		require.Equal(t, "old", read(t, b, p, 0, -1), "the file a truncated Put would replace stays")
	}
}

// ManyEntries is how many entries testManyEntries puts in one directory.
const ManyEntries = 10_000

// testManyEntries puts ManyEntries entries in one directory, every 100th a directory
// holding one file, and checks that List in pages of 999 and Walk see each exactly once.
// It is skipped with -short.
func testManyEntries(t *testing.T, b storage.Backend, dir string) {
	if testing.Short() {
		t.Skip("writes 10,000 files")
	}
	name := func(i int) string { return fmt.Sprintf("e-%05d", i) }
	isDir := func(i int) bool { return i%100 == 37 }
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(16)
	for i := range ManyEntries {
		p := dir + "/" + name(i)
		if isDir(i) {
			p += "/inner"
		}
		g.Go(func() error {
			_, err := b.Put(ctx, p, strings.NewReader(""))
			if err != nil {
				return fmt.Errorf("Put %q: %w", p, err)
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())

	const pageSize = 999
	seen := make(map[string]int, ManyEntries)
	var prev storage.Entry
	cursor, pages := "", 0
	for {
		entries, next, err := b.List(t.Context(), dir, cursor, pageSize)
		require.NoError(t, err)
		pages++
		require.LessOrEqual(t, pages, ManyEntries/pageSize+2, "too many pages")
		require.LessOrEqual(t, len(entries), pageSize)
		if next != "" {
			require.NotEmpty(t, entries, "empty page with a next cursor")
		}
		for _, e := range entries {
			if prev.Path != "" {
				require.Less(t, sortKey(prev), sortKey(e), "List order")
			}
			prev = e
			seen[e.Name()]++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	require.Equal(t, ManyEntries/pageSize+1, pages)
	require.Len(t, seen, ManyEntries)
	for i := range ManyEntries {
		require.Equal(t, 1, seen[name(i)], "List saw %s", name(i))
	}

	walked := make(map[string]int, ManyEntries)
	require.NoError(t, storage.Walk(t.Context(), b, dir, pageSize, func(e storage.Entry) error {
		require.False(t, e.IsDir)
		walked[strings.TrimPrefix(e.Path, dir+"/")]++
		return nil
	}))
	require.Len(t, walked, ManyEntries)
	for i := range ManyEntries {
		want := name(i)
		if isDir(i) {
			want += "/inner"
		}
		require.Equal(t, 1, walked[want], "Walk saw %s", want)
	}
}

// testEmptyDirs leaves directory a holding only the empty directory a/empty (by putting a
// file there and removing it), next to a file. Backends with real directories (local, SMB)
// keep a and a/empty: List shows them, Walk yields no file in them, and Remove takes
// a/empty and then a. Backends whose directories are key prefixes (S3) drop both with the
// file: List and Walk of the parent show only the other file.
func testEmptyDirs(t *testing.T, b storage.Backend, dir string) {
	ctx := t.Context()
	put(t, b, dir+"/keep.txt", "keep")
	put(t, b, dir+"/a/empty/gone.txt", "gone")
	require.NoError(t, b.Remove(ctx, dir+"/a/empty/gone.txt"))

	var walked []string
	require.NoError(t, storage.Walk(ctx, b, dir, 10, func(e storage.Entry) error {
		walked = append(walked, e.Path)
		return nil
	}))
	require.Equal(t, []string{dir + "/keep.txt"}, walked, "Walk yields only the file")

	_, err := b.Stat(ctx, dir+"/a/empty")
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		t.Log("the backend keeps no empty directories")
		_, err = b.Stat(ctx, dir+"/a")
		requireCode(t, filefleet.ENOTFOUND, err)
		require.Equal(t, []string{"keep.txt"}, names(ListAll(t, b, dir)))
		return
	}
	require.NoError(t, err)

	top := ListAll(t, b, dir)
	require.Len(t, top, 2)
	require.Equal(t, storage.Entry{Path: dir + "/a", IsDir: true}, withoutTime(top[0]))
	require.Equal(t, dir+"/keep.txt", top[1].Path)
	sub := ListAll(t, b, dir+"/a")
	require.Len(t, sub, 1)
	require.Equal(t, storage.Entry{Path: dir + "/a/empty", IsDir: true}, withoutTime(sub[0]))
	entries, next, err := b.List(ctx, dir+"/a/empty", "", 10)
	require.NoError(t, err)
	require.Empty(t, entries)
	require.Equal(t, "", next)

	require.NoError(t, storage.Walk(ctx, b, dir+"/a", 10, func(e storage.Entry) error {
		return fmt.Errorf("Walk of a tree of empty directories yielded %q", e.Path)
	}))

	requireCode(t, filefleet.ECONFLICT, b.Remove(ctx, dir+"/a"), "Remove of a directory that is not empty")
	require.NoError(t, b.Remove(ctx, dir+"/a/empty"))
	require.NoError(t, b.Remove(ctx, dir+"/a"))
	require.Equal(t, []string{"keep.txt"}, names(ListAll(t, b, dir)))
}

// genReader generates n deterministic pseudo-random bytes without holding them. It has
// no Len or Size method, so backends cannot learn the size in advance.
type genReader struct{ off, n int64 }

func (r *genReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = genByte(r.off + int64(i))
	}
	r.off += int64(len(p))
	return len(p), nil
}

func genByte(i int64) byte {
	x := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	return byte(x >> 56)
}

func put(t *testing.T, b storage.Backend, p, content string) storage.Entry {
	t.Helper()
	e, err := b.Put(t.Context(), p, strings.NewReader(content))
	require.NoError(t, err, "Put %q", p)
	return e
}

func read(t *testing.T, b storage.Backend, p string, offset, length int64) string {
	t.Helper()
	rc, err := b.Open(t.Context(), p, offset, length)
	require.NoError(t, err, "Open %q", p)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err, "read %q", p)
	return string(data)
}

// WalkPaths returns the paths of the files storage.Walk finds below dir, in its order.
func WalkPaths(t testing.TB, b storage.Backend, dir string) []string {
	t.Helper()
	var paths []string
	require.NoError(t, storage.Walk(t.Context(), b, dir, 10, func(e storage.Entry) error {
		paths = append(paths, e.Path)
		return nil
	}))
	return paths
}

// DirOps change the top directory of a backend behind its back, as another program would.
type DirOps struct {
	Write  func(name string, data []byte)
	Remove func(name string)
	Age    func() // sets the directory's modification time an hour back
}

// ListChangingBetweenPages checks that the pages of a large directory, which a backend may
// read once for all of them, see a change made between two pages: it makes files a00..a29
// at the top of b (through ops), lists one page of 10, adds a25b and removes a20, lists the
// rest, and wants a25b listed and a20 not, in order.
func ListChangingBetweenPages(t *testing.T, b storage.Backend, ops DirOps) {
	t.Helper()
	for i := range 30 {
		ops.Write(fmt.Sprintf("a%02d", i), nil)
	}
	ops.Age()
	page, next, err := b.List(t.Context(), "", "", 10)
	require.NoError(t, err)
	require.Equal(t, "a09", next)
	got := paths(page)
	ops.Write("a25b", []byte("new"))
	ops.Remove("a20")
	for next != "" {
		page, next, err = b.List(t.Context(), "", next, 10)
		require.NoError(t, err)
		got = append(got, paths(page)...)
	}
	require.Len(t, got, 30)
	require.Contains(t, got, "a25b", "the file added between pages")
	require.NotContains(t, got, "a20", "the file removed between pages")
	require.IsIncreasing(t, got)
}

// paths returns the paths of entries.
func paths(entries []storage.Entry) []string {
	var ps []string
	for _, e := range entries {
		ps = append(ps, e.Path)
	}
	return ps
}

// BenchmarkList lists every page of dir b.N times (as ListAll), checks that it holds want
// entries, and reports entries/s.
func BenchmarkList(b *testing.B, be storage.Backend, dir string, want int) {
	b.ResetTimer()
	for range b.N {
		require.Len(b, ListAll(b, be, dir), want)
	}
	b.ReportMetric(float64(want*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// ListAll lists dir in pages of 1000, a scan's page size.
func ListAll(t testing.TB, b storage.Backend, dir string) []storage.Entry {
	t.Helper()
	var all []storage.Entry
	cursor := ""
	for {
		entries, next, err := b.List(t.Context(), dir, cursor, 1000)
		require.NoError(t, err, "List %q", dir)
		all = append(all, entries...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

func names(entries []storage.Entry) []string {
	var ns []string
	for _, e := range entries {
		ns = append(ns, e.Name())
	}
	return ns
}

// sortKey is the List order of an entry: its name, plus "/" for a directory.
func sortKey(e storage.Entry) string {
	if e.IsDir {
		return e.Name() + "/"
	}
	return e.Name()
}

// withoutTime keeps the fields every backend fills the same way (not ModTime, ETag).
func withoutTime(e storage.Entry) storage.Entry {
	return storage.Entry{Path: e.Path, Size: e.Size, IsDir: e.IsDir}
}

// requireCode checks err's filefleet code; what describes the call.
func requireCode(t *testing.T, want string, err error, what ...any) {
	t.Helper()
	msg := ""
	if len(what) > 0 {
		msg = fmt.Sprintf(what[0].(string), what[1:]...) + ": "
	}
	require.Equal(t, want, filefleet.ErrorCode(err), "%serror %v", msg, err)
}
