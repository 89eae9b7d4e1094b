// Package e2e tests filefleet end to end through its HTTP API on real Redis, PostgreSQL and
// MinIO servers, with workers in the test process or as separate processes.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/storage/local"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// putObjects uploads one object per path of spec, 16 at a time.
func putObjects(t *testing.T, c *minio.Client, bucket string, spec map[string]int64) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, len(spec))
	for p, size := range spec {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := c.PutObject(context.Background(), bucket, p, bytes.NewReader(make([]byte, size)), size, minio.PutObjectOptions{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// writeTree creates the files of spec below dir.
func writeTree(t *testing.T, dir string, spec map[string]int64) {
	t.Helper()
	for p, size := range spec {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, make([]byte, size), 0o644))
	}
}

// scanAndFollow submits a scan, follows its SSE stream to the end and checks the events.
func scanAndFollow(t *testing.T, s *testenv.Stack, root string) filefleet.Job {
	t.Helper()
	job := submit(t, s, map[string]any{"type": "scan", "root": root})
	require.Equal(t, filefleet.JobStatePending, job.Status)
	evs := readEvents(t, s, job.ID, 0, 2*time.Minute)
	require.NotEmpty(t, evs)
	last := evs[len(evs)-1]
	require.Equal(t, string(filefleet.EventJobCompleted), last.Type, "events: %+v", evs)
	for i := 1; i < len(evs); i++ {
		require.Greater(t, evs[i].ID, evs[i-1].ID, "event ids increase")
	}
	done := getJob(t, s, job.ID)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status)
	require.Equal(t, done.Progress.UnitsTotal, done.Progress.UnitsDone)
	require.Equal(t, last.Event.Progress.Files, done.Progress.Files)
	return done
}

// TestScanS3 scans 2,000 MinIO objects, checks the catalog, deletes 10 and rescans.
func TestScanS3(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{ScanPageSize: 200})
	cfg, mc := testenv.S3(t)
	bucket := testenv.Bucket(t, mc)
	spec := treeSpec(2000)
	putObjects(t, mc, bucket, spec)

	r := s.Do(t, http.MethodPost, "/api/v1/roots", map[string]any{"name": "media", "kind": "s3",
		"endpoint": cfg.Endpoint, "bucket": bucket, "access_key": cfg.AccessKey, "secret_key": cfg.SecretKey})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	require.NotContains(t, string(r.Raw), cfg.SecretKey, "the secret is never returned")
	require.NotContains(t, string(s.Do(t, http.MethodGet, "/api/v1/roots/media", nil).Raw), cfg.SecretKey)

	checkScanAndRescan(t, s, "media", spec, func(paths []string) {
		for _, p := range paths {
			require.NoError(t, mc.RemoveObject(context.Background(), bucket, p, minio.RemoveObjectOptions{}))
		}
	})
}

// TestScanLocal is TestScanS3 on a local directory.
func TestScanLocal(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{ScanPageSize: 200})
	dir := t.TempDir()
	spec := treeSpec(2000)
	writeTree(t, dir, spec)
	addLocalRoot(t, s, "disk", dir)

	checkScanAndRescan(t, s, "disk", spec, func(paths []string) {
		for _, p := range paths {
			require.NoError(t, os.Remove(filepath.Join(dir, filepath.FromSlash(p))))
		}
	})
}

func checkScanAndRescan(t *testing.T, s *testenv.Stack, root string, spec map[string]int64, remove func([]string)) {
	job := scanAndFollow(t, s, root)
	require.EqualValues(t, len(spec), job.Progress.Files)
	require.Greater(t, job.Progress.UnitsTotal, int64(20), "the scan was split into tasks")
	before := catalog(t, s, root, false)
	require.Equal(t, spec, sizesOf(before), "the catalog holds exactly the files, with their sizes")

	gone := keys(spec)[:10]
	remove(gone)
	job2 := scanAndFollow(t, s, root)
	var result filefleet.ScanResult
	require.NoError(t, json.Unmarshal(job2.Result, &result), "result: %s", job2.Result)
	require.EqualValues(t, 10, result.Deleted)

	after := catalog(t, s, root, true)
	require.Len(t, after, len(spec), "deleted files stay in the catalog, flagged")
	for p, f := range before {
		a := after[p]
		if contains(gone, p) {
			require.True(t, a.Deleted, "%s is marked deleted", p)
			continue
		}
		require.False(t, a.Deleted, p)
		require.Equal(t, f.ID, a.ID, p)
		require.Equal(t, f.Size, a.Size, p)
		require.Equal(t, f.ModifiedAt, a.ModifiedAt, p)
		require.Equal(t, f.UpdatedAt, a.UpdatedAt, "%s did not change", p)
	}
	require.Len(t, catalog(t, s, root, false), len(spec)-10)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestEventsResume reconnects with Last-Event-ID and gets only the later events.
func TestEventsResume(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{ScanPageSize: 5})
	dir := t.TempDir()
	writeTree(t, dir, treeSpec(300))
	addLocalRoot(t, s, "disk", dir)
	job := submit(t, s, map[string]any{"type": "scan", "root": "disk"})
	all := readEvents(t, s, job.ID, 0, time.Minute)
	require.GreaterOrEqual(t, len(all), 2)
	resumed := readEvents(t, s, job.ID, all[0].ID, time.Minute)
	require.Equal(t, all[1:], resumed, "a resumed stream replays exactly the events after Last-Event-ID")

	// Malformed Last-Event-ID is a 400 with the envelope.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/jobs/"+job.ID+"/events", nil)
	req.Header.Set("Last-Event-ID", "abc")
	s.Header(req)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// TestScanSkipsNamesNotUTF8 scans a local root holding a file whose name is not UTF-8 (the
// catalog cannot hold it): the scan succeeds with the other files.
func TestScanSkipsNamesNotUTF8(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir := t.TempDir()
	writeTree(t, dir, map[string]int64{"a.txt": 1, "sub/b.txt": 2})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "\xff\xfe.txt"), []byte("odd"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub\xff"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub\xff", "c.txt"), []byte("odd"), 0o644))
	addLocalRoot(t, s, "disk", dir)

	scanAndFollow(t, s, "disk")
	require.Equal(t, map[string]int64{"a.txt": 1, "sub/b.txt": 2}, sizesOf(catalog(t, s, "disk", false)))
}

// TestScanDirectoryRemovedMidScan: a directory removed after its parent was listed (here: a
// unit added for it, as the parent would have, after it was removed) does not fail the scan;
// the scan succeeds and the catalog marks what was under it deleted.
func TestScanDirectoryRemovedMidScan(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	dir := t.TempDir()
	writeTree(t, dir, map[string]int64{"keep/a.txt": 10, "gone/b.txt": 20})
	addLocalRoot(t, s, "live", dir)
	w := s.StartWorker(t)
	waitReady(t, w)
	require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, submit(t, s, map[string]any{"type": "scan", "root": "live"}).ID, time.Minute).Status)
	require.NoError(t, w.Cmd.Process.Kill())
	w.Cmd.Wait()

	require.NoError(t, os.RemoveAll(filepath.Join(dir, "gone")))
	job := submit(t, s, map[string]any{"type": "scan", "root": "live"})
	var params struct {
		Generation int64 `json:"generation"`
	}
	require.NoError(t, json.Unmarshal(getJob(t, s, job.ID).Params, &params))
	var rootID int64
	require.NoError(t, s.DB.Get(&rootID, `SELECT id FROM roots WHERE name = 'live'`))
	p := tasks.ScanDirPayload{Header: tasks.Header{JobID: job.ID, Unit: tasks.ScanUnit("gone", "")}, RootID: rootID,
		Dir: "gone", Gen: params.Generation}
	payload, err := json.Marshal(p)
	require.NoError(t, err)
	u := store.UnitTask{Unit: p.Unit, Type: tasks.TypeScanDir, Payload: payload}
	require.NoError(t, store.AddUnitTasks(context.Background(), s.DB, job.ID, []store.UnitTask{u}))
	_, err = s.Jobs.Queue.Enqueue(tasks.UnitTaskOf(job.ID, u, tasks.QueueDefault))
	require.NoError(t, err)

	waitReady(t, s.StartWorker(t))
	done := waitJob(t, s, job.ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)
	require.Equal(t, map[string]int64{"keep/a.txt": 10}, sizesOf(catalog(t, s, "live", false)), "gone/b.txt is marked deleted")
}

// TestScanOfVanishedStorage: a scan that finds no file at all where the catalog holds some
// (a NAS not mounted shows as an empty directory) fails and marks nothing deleted, for scan
// and hash jobs alike; with "allow_empty": true it records the files as gone.
func TestScanOfVanishedStorage(t *testing.T) {
	recheck := local.RootRecheck
	t.Cleanup(func() { local.RootRecheck = recheck }) // after the stack's own clean-ups
	local.RootRecheck = 0                             // the worker follows the path at once, not within 10 s
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir := filepath.Join(t.TempDir(), "nas")
	spec := map[string]int64{"a.txt": 10, "photos/b.jpg": 20, "photos/c.jpg": 30}
	writeTree(t, dir, spec)
	addLocalRoot(t, s, "nas", dir)
	scanAndFollow(t, s, "nas")
	require.Len(t, catalog(t, s, "nas", false), 3)

	require.NoError(t, os.Rename(dir, dir+".mounted")) // the share goes away: an empty mount point
	require.NoError(t, os.Mkdir(dir, 0o755))
	for _, body := range []map[string]any{{"type": "scan", "root": "nas"}, {"type": "hash", "root": "nas"},
		{"type": "scan", "root": "nas", "prefix": "photos"}} {
		if body["prefix"] != nil {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "photos"), 0o755))
		}
		job := waitJob(t, s, submit(t, s, body).ID, time.Minute)
		require.Equal(t, filefleet.JobStateFailed, job.Status, "%v", body)
		require.Contains(t, job.Error, "is its storage mounted", "%v", body)
		require.Contains(t, job.Error, "allow_empty", "%v", body)
		require.Len(t, catalog(t, s, "nas", false), 3, "nothing marked deleted: %v", body)
	}

	job := waitJob(t, s, submit(t, s, map[string]any{"type": "scan", "root": "nas", "allow_empty": true}).ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	require.Empty(t, catalog(t, s, "nas", false), "allowed: the files are recorded as gone")
}
