package e2e

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/zeebo/blake3"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/archive"
	"github.com/filefleet/filefleet/archive/archivetest"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/storage"
)

// contentTree writes n files of random content (some empty, some with unicode names) under
// dir/prefix and returns path below prefix → content.
func contentTree(t *testing.T, dir, prefix string, n int) map[string][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	out := map[string][]byte{}
	for i := range n {
		p := fmt.Sprintf("d%02d/sub%d/file-%04d.bin", i%17, i%3, i)
		switch {
		case i%97 == 0:
			p = fmt.Sprintf("d%02d/Grüße 日本 %d.txt", i%17, i)
		case i%50 == 1:
			p = fmt.Sprintf("top-%d.dat", i)
		}
		data := make([]byte, rng.IntN(6000))
		if i%41 == 0 {
			data = nil
		}
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		full := filepath.Join(dir, filepath.FromSlash(prefix), filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, data, 0o644))
		out[p] = data
	}
	return out
}

// readAll returns the content of file p of backend b.
func readAll(t *testing.T, b storage.Backend, p string) []byte {
	t.Helper()
	r, err := b.Open(context.Background(), p, 0, -1)
	require.NoError(t, err, p)
	defer r.Close()
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	return data
}

// runArchive submits POST /archive and waits for the job to end.
func runArchive(t *testing.T, s *testenv.Stack, body map[string]any) filefleet.Job {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/archive", body)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var job filefleet.Job
	r.Decode(t, &job)
	require.Equal(t, filefleet.JobTypeArchive, job.Type)
	return waitJob(t, s, job.ID, 3*time.Minute)
}

// TestArchiveSambaToMinIO archives a 1,000-file prefix of an SMB share into a MinIO bucket:
// the archive lists every file, each entry equals its source, and the result describes it.
func TestArchiveSambaToMinIO(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)
	want := map[string][]byte{}
	for p, data := range contentTree(t, d.nasDir, "photos", 1000) {
		want["photos/"+p] = data
	}
	contentTree(t, d.nasDir, "other", 5) // beside the prefix: not archived
	var total int64
	for _, data := range want {
		total += int64(len(data))
	}

	job := runArchive(t, s, map[string]any{"root": "nas", "prefix": "photos", "format": "tar.gz",
		"target_root": "s3", "target_path": "backups/photos.tar.gz"})
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, "error: %s", job.Error)
	var res filefleet.ArchiveResult
	require.NoError(t, json.Unmarshal(job.Result, &res))
	require.Equal(t, filefleet.ArchiveResult{Root: "s3", Path: "backups/photos.tar.gz", Format: "tar.gz", Size: res.Size,
		Entries: 1000, Bytes: total, BLAKE3: res.BLAKE3}, res)
	require.Equal(t, int64(1000), job.Progress.Files)
	require.Equal(t, total, job.Progress.Bytes)

	data := readAll(t, d.s3, "backups/photos.tar.gz")
	require.Equal(t, res.Size, int64(len(data)))
	sum := blake3.Sum256(data)
	require.Equal(t, fmt.Sprintf("%x", sum), res.BLAKE3)
	got := archivetest.Entries(t, archive.TarGz, data)
	require.Len(t, got, 1000)
	for p, content := range want {
		require.Equal(t, string(content), got[p], "entry %s", p)
	}

	// The archive is in the catalog with its hash.
	files := catalog(t, s, "s3", false)
	require.Contains(t, files, "backups/photos.tar.gz")
	require.Equal(t, res.Size, files["backups/photos.tar.gz"].Size)
}

// TestArchiveFormatsAndPaths writes every format from a list of paths on a local root, and
// checks the bad requests.
func TestArchiveFormatsAndPaths(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)
	tree := contentTree(t, d.disk, "", 60)
	for _, f := range archive.Formats {
		target := "out/list." + f.Ext()
		job := runArchive(t, s, map[string]any{"root": "disk", "paths": []string{"d01", "top-1.dat", "d02/sub2"},
			"format": f, "target_path": target})
		require.Equal(t, filefleet.JobStateSucceeded, job.Status, "%s: %s", f, job.Error)
		got := archivetest.Entries(t, f, readAll(t, d.fs, target))
		want := map[string]string{}
		for p, c := range tree {
			if strings.HasPrefix(p, "d01/") || p == "top-1.dat" || strings.HasPrefix(p, "d02/sub2/") {
				want[p] = string(c)
			}
		}
		require.Equal(t, want, got, "format %s", f)
	}

	// A second archive to the same path needs overwrite.
	r := s.Do(t, http.MethodPost, "/api/v1/archive", map[string]any{"root": "disk", "prefix": "d01", "target_path": "out/list.zip"})
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	job := runArchive(t, s, map[string]any{"root": "disk", "prefix": "d01", "target_path": "out/list.zip", "overwrite": true})
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	require.Len(t, archivetest.Entries(t, archive.Zip, readAll(t, d.fs, "out/list.zip")), len(filesUnder(tree, "d01/")))

	// An archive of the whole root that replaces one inside it (as a retried job does) does
	// not hold the archive it replaces.
	job = runArchive(t, s, map[string]any{"root": "disk", "target_path": "out/list.zip", "overwrite": true})
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	require.NotContains(t, archivetest.Entries(t, archive.Zip, readAll(t, d.fs, "out/list.zip")), "out/list.zip")

	// The default target: archives/<dir>-<time>.zip in the same root.
	job = runArchive(t, s, map[string]any{"root": "disk", "prefix": "d03"})
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	var res filefleet.ArchiveResult
	require.NoError(t, json.Unmarshal(job.Result, &res))
	require.Regexp(t, `^archives/d03-\d{8}-\d{6}\.zip$`, res.Path)
	got := archivetest.Entries(t, archive.Zip, readAll(t, d.fs, res.Path))
	for p := range filesUnder(tree, "d03/") {
		require.Contains(t, got, p, "a directory keeps its own name in the archive")
	}

	for name, tc := range map[string]struct {
		body map[string]any
		code int
	}{
		"bad format":      {map[string]any{"root": "disk", "prefix": "d01", "format": "rar"}, http.StatusBadRequest},
		"no root":         {map[string]any{"prefix": "d01"}, http.StatusBadRequest},
		"unknown root":    {map[string]any{"root": "nope", "prefix": "d01"}, http.StatusUnprocessableEntity},
		"traversal":       {map[string]any{"root": "disk", "prefix": "../etc"}, http.StatusBadRequest},
		"absolute target": {map[string]any{"root": "disk", "prefix": "d01", "target_path": "/tmp/x.zip"}, http.StatusBadRequest},
		"both":            {map[string]any{"root": "disk", "prefix": "d01", "paths": []string{"d02"}}, http.StatusBadRequest},
		"target is dir":   {map[string]any{"root": "disk", "prefix": "d01", "target_path": "d02"}, http.StatusConflict},
		"unknown field":   {map[string]any{"root": "disk", "prefix": "d01", "compression": 9}, http.StatusBadRequest},
	} {
		r := s.Do(t, http.MethodPost, "/api/v1/archive", tc.body)
		require.Equal(t, tc.code, r.Status, "%s: %s", name, r.Raw)
		require.NotNil(t, r.Error, name)
	}

	// A missing prefix fails the job with a reason, and writes nothing.
	job = runArchive(t, s, map[string]any{"root": "disk", "prefix": "missing", "target_path": "out/missing.zip"})
	require.Equal(t, filefleet.JobStateFailed, job.Status)
	require.Contains(t, job.Error, "no such file or directory")
	_, err := d.fs.Stat(context.Background(), "out/missing.zip")
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err))
}

// filesUnder returns the files of tree below prefix.
func filesUnder(tree map[string][]byte, prefix string) map[string][]byte {
	out := map[string][]byte{}
	for p, c := range tree {
		if strings.HasPrefix(p, prefix) {
			out[p] = c
		}
	}
	return out
}

// TestArchiveSurvivesKilledWorker SIGKILLs the worker process writing an archive into MinIO:
// nothing shows at the target meanwhile, and a new worker writes the whole archive, entry for
// entry equal to the source.
func TestArchiveSurvivesKilledWorker(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	d := newDedupeRoots(t, s)
	want := map[string][32]byte{}
	var total int64
	for i := range 120 {
		data := randomBytes(4 << 20)
		p := fmt.Sprintf("big/part-%03d.bin", i)
		require.NoError(t, os.MkdirAll(filepath.Join(d.disk, "big"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d.disk, p), data, 0o644))
		want[p] = blake3.Sum256(data)
		total += int64(len(data))
	}
	w1 := s.StartWorker(t)
	waitReady(t, w1)
	r := s.Do(t, http.MethodPost, "/api/v1/archive", map[string]any{"root": "disk", "prefix": "big", "format": "tar",
		"target_root": "s3", "target_path": "backups/big.tar"})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var job filefleet.Job
	r.Decode(t, &job)
	deadline := time.Now().Add(time.Minute)
	for {
		j := getJob(t, s, job.ID)
		require.False(t, j.Status.Terminal(), "the archive finished before the worker could be killed")
		if j.Progress.Bytes > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the archive made no progress")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, w1.Cmd.Process.Signal(syscall.SIGKILL))
	w1.Cmd.Wait()
	mid := getJob(t, s, job.ID)
	t.Logf("killed the worker at %d of %d bytes", mid.Progress.Bytes, total)
	_, err := d.s3.Stat(context.Background(), "backups/big.tar")
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err), "no partial archive is visible")

	w2 := s.StartWorker(t)
	waitReady(t, w2)
	done := waitJob(t, s, job.ID, 4*time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)
	rc, err := d.s3.Open(context.Background(), "backups/big.tar", 0, -1)
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	got := map[string][32]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		sum := blake3.New()
		_, err = io.Copy(sum, tr)
		require.NoError(t, err)
		var digest [32]byte
		copy(digest[:], sum.Sum(nil))
		got[h.Name] = digest
	}
	require.Equal(t, want, got, "every entry once, equal to its source")
}

// TestArchiveTargetTakenAfterSubmit: the target was free when the job was submitted, and a
// file took it before the job ran (a scheduled job, or another job aiming at the same name):
// without overwrite the job fails, saying so, and the file is left as it is.
func TestArchiveTargetTakenAfterSubmit(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	dir := t.TempDir()
	contentTree(t, dir, "", 40)
	addLocalRoot(t, s, "disk", dir)
	r := s.Do(t, http.MethodPost, "/api/v1/archive", map[string]any{"root": "disk", "prefix": "d03", "target_path": "out/a.zip"})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var job filefleet.Job
	r.Decode(t, &job)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "out"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "out/a.zip"), []byte("someone's file"), 0o644))

	waitReady(t, s.StartWorker(t))
	job = waitJob(t, s, job.ID, time.Minute)
	require.Equal(t, filefleet.JobStateFailed, job.Status)
	require.Contains(t, job.Error, "appeared after the job was submitted")
	data, err := os.ReadFile(filepath.Join(dir, "out/a.zip"))
	require.NoError(t, err)
	require.Equal(t, "someone's file", string(data), "left as it was")
}
