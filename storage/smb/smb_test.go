package smb_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/smb"
	"github.com/filefleet/filefleet/storage/storagetest"
)

const servicesHint = "start the test servers with `make services` (or set FILEFLEET_TEST_SMB_ADDR, " +
	"FILEFLEET_TEST_SMB_USER, FILEFLEET_TEST_SMB_PASSWORD, FILEFLEET_TEST_SMB_SHARE)"

// testConfig returns the Samba settings from FILEFLEET_TEST_SMB_* with `make services`
// defaults, for the share's top.
func testConfig(t testing.TB) smb.Config {
	t.Helper()
	addr := cmp.Or(os.Getenv("FILEFLEET_TEST_SMB_ADDR"), "127.0.0.1:4445")
	return configFor(t, addr, cmp.Or(os.Getenv("FILEFLEET_TEST_SMB_SHARE"), "data"))
}

func configFor(t testing.TB, addr, share string) smb.Config {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	n, err := strconv.Atoi(port)
	require.NoError(t, err)
	return smb.Config{
		Host:     host,
		Port:     n,
		Share:    share,
		Username: cmp.Or(os.Getenv("FILEFLEET_TEST_SMB_USER"), testenv.SambaUser),
		Password: cmp.Or(os.Getenv("FILEFLEET_TEST_SMB_PASSWORD"), testenv.SambaPassword),
	}
}

func newBackend(t *testing.T, cfg smb.Config) *smb.Backend {
	t.Helper()
	b, err := smb.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// mount logs in to the server of cfg and mounts its share with go-smb2 directly, for
// setting up and cleaning up what the backend cannot (directories). It fails t with a hint
// when the server does not answer.
func mount(t *testing.T, cfg smb.Config) *smb2.Share {
	t.Helper()
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("no SMB server at %s: %v; %s", addr, err, servicesHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: cfg.Username, Password: cfg.Password}}
	sess, err := d.DialConn(ctx, conn, cfg.Host)
	if err != nil {
		_ = conn.Close()
		t.Fatalf("cannot log in to the SMB server at %s as %s: %v; %s", addr, cfg.Username, err, servicesHint)
	}
	t.Cleanup(func() { _ = sess.Logoff() })
	share, err := sess.Mount(cfg.Share, smb2.WithMapPosix())
	if err != nil {
		t.Fatalf("cannot mount share %s on %s: %v; %s", cfg.Share, addr, err, servicesHint)
	}
	return share
}

// testRoot returns cfg with Path set to a new directory of the share, removed with its
// contents when t ends.
func testRoot(t *testing.T, cfg smb.Config) smb.Config {
	t.Helper()
	share := mount(t, cfg)
	cfg.Path = "fftest/" + storagetest.UniqueDir(t)
	require.NoError(t, share.MkdirAll(cfg.Path, 0o755))
	t.Cleanup(func() {
		if err := share.RemoveAll(cfg.Path); err != nil {
			t.Errorf("remove %s: %v", cfg.Path, err)
		}
	})
	return cfg
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		return newBackend(t, testRoot(t, testConfig(t)))
	})
}

func TestNew(t *testing.T) {
	for _, c := range []struct {
		desc string
		cfg  smb.Config
		ok   bool
	}{
		{"minimal", smb.Config{Host: "server", Share: "data"}, true},
		{"host with port", smb.Config{Host: "server:4445", Share: "data"}, true},
		{"path with backslashes", smb.Config{Host: "server", Share: "data", Path: `a\b\`}, true},
		{"no host", smb.Config{Share: "data"}, false},
		{"no share", smb.Config{Host: "server"}, false},
		{"share with slash", smb.Config{Host: "server", Share: "data/x"}, false},
		{"UNC share", smb.Config{Host: "server", Share: `\\server\data`}, false},
		{"port out of range", smb.Config{Host: "server", Port: 70000, Share: "data"}, false},
		{"two ports", smb.Config{Host: "server:4445", Port: 445, Share: "data"}, false},
		{"path leaves the share", smb.Config{Host: "server", Share: "data", Path: "a/../../b"}, false},
	} {
		_, err := smb.New(c.cfg)
		if c.ok {
			require.NoError(t, err, c.desc)
		} else {
			require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err), "%s: %v", c.desc, err)
		}
	}
}

func TestCheck(t *testing.T) {
	cfg := testRoot(t, testConfig(t))
	require.NoError(t, newBackend(t, cfg).Check(t.Context()))

	missing := cfg
	missing.Path += "/no-such-dir"
	err := newBackend(t, missing).Check(t.Context())
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err), "%v", err)

	b := newBackend(t, cfg)
	_, err = b.Put(t.Context(), "file", strings.NewReader("x"))
	require.NoError(t, err)
	file := cfg
	file.Path += "/file"
	err = newBackend(t, file).Check(t.Context())
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err), "%v", err)
}

func TestWrongPassword(t *testing.T) {
	cfg := testConfig(t)
	mount(t, cfg) // fails with a hint when the server is down
	cfg.Password = "not-the-password-" + strconv.Itoa(int(time.Now().UnixNano()%1000))
	b := newBackend(t, cfg)
	err := b.Check(t.Context())
	require.Equal(t, filefleet.EFORBIDDEN, filefleet.ErrorCode(err), "%v", err)
	require.Contains(t, filefleet.ErrorMessage(err), "the SMB server refused the username or password")
	require.NotContains(t, err.Error(), cfg.Password)
	require.NotContains(t, filefleet.ErrorMessage(err), cfg.Password)

	_, err = smb.ListShares(t.Context(), cfg)
	require.Equal(t, filefleet.EFORBIDDEN, filefleet.ErrorCode(err), "%v", err)
	require.NotContains(t, err.Error(), cfg.Password)

	cfg.Username = "no-such-user"
	err = newBackend(t, cfg).Check(t.Context())
	require.Equal(t, filefleet.EFORBIDDEN, filefleet.ErrorCode(err), "%v", err)
}

func TestUnreachable(t *testing.T) {
	cfg := testConfig(t)
	cfg.Host, cfg.Port = "127.0.0.1", 1
	b := newBackend(t, cfg)
	start := time.Now()
	err := b.Check(t.Context())
	require.Equal(t, filefleet.EUNAVAILABLE, filefleet.ErrorCode(err), "%v", err)
	require.Contains(t, filefleet.ErrorMessage(err), "127.0.0.1:1")
	require.NotContains(t, err.Error(), cfg.Password)
	_, err = b.Stat(t.Context(), "x")
	require.Equal(t, filefleet.EUNAVAILABLE, filefleet.ErrorCode(err), "%v", err)
	_, err = smb.ListShares(t.Context(), cfg)
	require.Equal(t, filefleet.EUNAVAILABLE, filefleet.ErrorCode(err), "%v", err)
	require.Less(t, time.Since(start), 3*time.Second)
}

func TestReadOnlyShare(t *testing.T) {
	cfg := testConfig(t)
	cfg.Share = "readonly"
	mount(t, cfg)
	b := newBackend(t, cfg)
	require.NoError(t, b.Check(t.Context()))
	_, err := b.Put(t.Context(), storagetest.UniqueDir(t)+"/x.txt", strings.NewReader("x"))
	require.Equal(t, filefleet.EFORBIDDEN, filefleet.ErrorCode(err), "%v", err)
	_, err = b.Put(t.Context(), "x.txt", strings.NewReader("x"))
	require.Equal(t, filefleet.EFORBIDDEN, filefleet.ErrorCode(err), "%v", err)
	entries, _, err := b.List(t.Context(), "", "", 100)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), smb.TempPrefix), e.Path)
	}
}

func TestMissingShare(t *testing.T) {
	cfg := testConfig(t)
	mount(t, cfg)
	cfg.Share = "no-such-share"
	b := newBackend(t, cfg)
	err := b.Check(t.Context())
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err), "%v", err)
	require.Contains(t, filefleet.ErrorMessage(err), `share "no-such-share" not found`)
	_, err = b.Stat(t.Context(), "x")
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err), "%v", err)
}

func TestListShares(t *testing.T) {
	cfg := testConfig(t)
	mount(t, cfg)
	shares, err := smb.ListShares(t.Context(), cfg)
	require.NoError(t, err)
	byName := map[string]smb.Share{}
	for _, s := range shares {
		byName[s.Name] = s
	}
	require.Contains(t, byName, "data")
	require.Contains(t, byName, "readonly")
	require.NotContains(t, byName, "IPC$")
	require.Equal(t, "disktree", byName["data"].Type)
}

func TestStatfs(t *testing.T) {
	b := newBackend(t, testRoot(t, testConfig(t)))
	total, free, err := b.Statfs(t.Context())
	require.NoError(t, err)
	require.Positive(t, total)
	require.LessOrEqual(t, free, total)
}

// TestCopyLarge copies files around the 16 MiB limit of the server-side copy and checks
// the content.
func TestCopyLarge(t *testing.T) {
	b := newBackend(t, testRoot(t, testConfig(t)))
	for _, size := range []int{16 << 20, 16<<20 + 1, 20 << 20} {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		_, err := b.Put(t.Context(), "src.bin", bytes.NewReader(data))
		require.NoError(t, err)
		require.NoError(t, b.Copy(t.Context(), "src.bin", "dst.bin"))
		rc, err := b.Open(t.Context(), "dst.bin", 0, -1)
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		require.True(t, bytes.Equal(data, got), "size %d: copy differs (got %d bytes)", size, len(got))
		require.NoError(t, b.Remove(t.Context(), "dst.bin"))
	}
}

// TestConcurrent runs more operations at once than the backend has sessions.
func TestConcurrent(t *testing.T) {
	b := newBackend(t, testRoot(t, testConfig(t)))
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			p := "c/" + strconv.Itoa(i)
			if _, err := b.Put(t.Context(), p, strings.NewReader(p)); err != nil {
				errs <- err
				return
			}
			rc, err := b.Open(t.Context(), p, 0, -1)
			if err != nil {
				errs <- err
				return
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err == nil && string(got) != p {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	entries, _, err := b.List(t.Context(), "c", "", 100)
	require.NoError(t, err)
	require.Len(t, entries, 32)
}

// TestCancelledRead closes a reader after its context ended; the backend goes on working.
func TestCancelledRead(t *testing.T) {
	b := newBackend(t, testRoot(t, testConfig(t)))
	_, err := b.Put(t.Context(), "f", strings.NewReader(strings.Repeat("x", 3<<20)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	rc, err := b.Open(ctx, "f", 0, -1)
	require.NoError(t, err)
	_, err = rc.Read(make([]byte, 1<<20))
	require.NoError(t, err)
	cancel()
	_, err = rc.Read(make([]byte, 1<<20))
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, rc.Close())
	require.NoError(t, b.Remove(t.Context(), "f"), "the file is not held open")
}

// TestReconnectAfterRestart stops and starts a Samba server of the test's own under one
// Backend: operations fail with EUNAVAILABLE while it is down and work again after.
func TestReconnectAfterRestart(t *testing.T) {
	addr, stop, start := testenv.SambaServer(t)
	cfg := configFor(t, addr, "data")
	cfg.Username, cfg.Password = testenv.SambaUser, testenv.SambaPassword
	b := newBackend(t, cfg)
	ctx := t.Context()

	_, err := b.Put(ctx, "a/before.txt", strings.NewReader("before"))
	require.NoError(t, err)
	st, err := b.Stat(ctx, "a/before.txt")
	require.NoError(t, err)
	require.Equal(t, int64(6), st.Size)

	stop()
	began := time.Now()
	_, err = b.Stat(ctx, "a/before.txt")
	require.Equal(t, filefleet.EUNAVAILABLE, filefleet.ErrorCode(err), "%v", err)
	require.Contains(t, filefleet.ErrorMessage(err), addr)
	require.NotContains(t, err.Error(), cfg.Password)
	_, err = b.Put(ctx, "a/down.txt", strings.NewReader("down"))
	require.Equal(t, filefleet.EUNAVAILABLE, filefleet.ErrorCode(err), "%v", err)
	require.Less(t, time.Since(began), 5*time.Second)

	start()
	st, err = b.Stat(ctx, "a/before.txt")
	require.NoError(t, err)
	require.Equal(t, int64(6), st.Size)
	_, err = b.Put(ctx, "a/after.txt", strings.NewReader("after"))
	require.NoError(t, err)
	entries, _, err := b.List(ctx, "a", "", 10)
	require.NoError(t, err)
	require.Len(t, entries, 2)

	// A restart between operations, with sessions idle in the pool.
	stop()
	start()
	rc, err := b.Open(ctx, "a/after.txt", 0, -1)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, "after", string(got))
}

// TestStaleTempRemoved: a listing removes temporary files older than a day (a writer that
// died before renaming its file into place) and leaves fresh ones (writes in progress); it
// lists neither.
func TestStaleTempRemoved(t *testing.T) {
	cfg := testRoot(t, testConfig(t))
	share := mount(t, cfg)
	old, fresh := cfg.Path+"/"+smb.TempPrefix+"old", cfg.Path+"/"+smb.TempPrefix+"fresh"
	for _, p := range []string{old, fresh, cfg.Path + "/kept.txt"} {
		require.NoError(t, share.WriteFile(p, []byte("x"), 0o644))
	}
	long := time.Now().Add(-2 * storage.TempStaleAfter)
	require.NoError(t, share.Chtimes(old, long, long))

	entries, _, err := newBackend(t, cfg).List(context.Background(), "", "", 100)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, "kept.txt", entries[0].Name())
	_, err = share.Stat(old)
	require.ErrorIs(t, err, os.ErrNotExist, "the stale temporary file is gone")
	_, err = share.Stat(fresh)
	require.NoError(t, err, "a write in progress is left alone")
}

// TestSymlinkLoops: Samba follows symlinks itself, so links to the directory they are in or
// to one above it look like plain directories; listings leave them out (following them would
// never end), and a Walk of the root ends with each file once.
func TestSymlinkLoops(t *testing.T) {
	cfg := testRoot(t, testConfig(t))
	share := mount(t, cfg)
	require.NoError(t, share.MkdirAll(cfg.Path+"/a/b", 0o777))
	require.NoError(t, share.WriteFile(cfg.Path+"/a/b/f.txt", []byte("x"), 0o644))
	dir := os.Getenv("FILEFLEET_TEST_SMB_DIR")
	if dir == "" {
		t.Fatal("FILEFLEET_TEST_SMB_DIR (the share's directory on this machine) is needed to make links; run through make test")
	}
	for name, target := range map[string]string{"self": ".", "up": "..", "top": "../.."} {
		link := filepath.Join(dir, filepath.FromSlash(cfg.Path), "a/b", name)
		require.NoError(t, os.Symlink(target, link))
		t.Cleanup(func() { os.Remove(link) }) // before the root's removal, which would follow it
	}
	b := newBackend(t, cfg)
	entries, _, err := b.List(context.Background(), "a/b", "", 100)
	require.NoError(t, err)
	require.Len(t, entries, 1, "%+v", entries)
	require.Equal(t, "f.txt", entries[0].Name())
	require.Equal(t, []string{"a/b/f.txt"}, storagetest.WalkPaths(t, b, ""))
}

// TestListLargeDirChangingBetweenPages: the pages of a large directory come from one read of
// it, unless it changed since: a file added between two pages is listed, one removed is not.
func TestListLargeDirChangingBetweenPages(t *testing.T) {
	cfg := testRoot(t, testConfig(t))
	share := mount(t, cfg)
	old := time.Now().Add(-time.Hour)
	storagetest.ListChangingBetweenPages(t, newBackend(t, cfg), storagetest.DirOps{
		Write:  func(name string, data []byte) { require.NoError(t, share.WriteFile(cfg.Path+"/"+name, data, 0o644)) },
		Remove: func(name string) { require.NoError(t, share.Remove(cfg.Path+"/"+name)) },
		Age:    func() { require.NoError(t, share.Chtimes(cfg.Path, old, old)) },
	})
}

// BenchmarkListFlatDir lists every page of one directory of 20,000 files, 1,000 a page (a
// scan's page size), as a scan does.
func BenchmarkListFlatDir(b *testing.B) {
	dir := os.Getenv("FILEFLEET_TEST_SMB_DIR")
	if dir == "" {
		b.Fatal("FILEFLEET_TEST_SMB_DIR (the share's directory on this machine) is needed to write the files fast; run through make")
	}
	cfg := testConfig(b)
	cfg.Path = "fftest/bench-flat-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	local := filepath.Join(dir, filepath.FromSlash(cfg.Path))
	const files = 20_000
	require.NoError(b, os.MkdirAll(local, 0o755))
	b.Cleanup(func() { os.RemoveAll(local) })
	for i := range files {
		require.NoError(b, os.WriteFile(filepath.Join(local, fmt.Sprintf("f%06d.txt", i)), nil, 0o644))
	}
	old := time.Now().Add(-time.Hour) // a directory not written to lately, as most are
	require.NoError(b, os.Chtimes(local, old, old))
	be, err := smb.New(cfg)
	require.NoError(b, err)
	defer be.Close()
	storagetest.BenchmarkList(b, be, "", files)
}
