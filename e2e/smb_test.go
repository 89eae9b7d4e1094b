package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/storage/smb"
)

// smbTest is where the shared test Samba server is.
type smbTest struct {
	Addr, User, Password, Share, Dir string
}

func smbEnv() smbTest {
	return smbTest{
		Addr:     testenv.Env("FILEFLEET_TEST_SMB_ADDR", "127.0.0.1:4445"),
		User:     testenv.Env("FILEFLEET_TEST_SMB_USER", "fftest"),
		Password: testenv.Env("FILEFLEET_TEST_SMB_PASSWORD", "fftest-pass"),
		Share:    testenv.Env("FILEFLEET_TEST_SMB_SHARE", "data"),
		Dir:      testenv.Env("FILEFLEET_TEST_SMB_DIR", "/var/tmp/filefleet-samba/share"),
	}
}

// body returns the JSON fields of an SMB connection to this server.
func (e smbTest) body(extra map[string]any) map[string]any {
	host, port, _ := strings.Cut(e.Addr, ":")
	m := map[string]any{"host": host, "port": atoi(port), "share": e.Share, "username": e.User, "password": e.Password}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// smbTree writes spec into a fresh directory of the share (through the local filesystem that
// Samba serves) and returns the directory's name inside the share.
func smbTree(t *testing.T, e smbTest, spec map[string]int64) (string, string) {
	t.Helper()
	name := testenv.RandomName("e2e-")
	dir := filepath.Join(e.Dir, name)
	require.NoError(t, os.MkdirAll(dir, 0o755), "the samba share directory; run `make services`")
	t.Cleanup(func() { os.RemoveAll(dir) })
	writeTree(t, dir, spec)
	return name, dir
}

// TestScanSMB is TestScanS3 on an SMB share.
func TestScanSMB(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{ScanPageSize: 200})
	e := smbEnv()
	spec := treeSpec(2000)
	name, dir := smbTree(t, e, spec)
	r := s.Do(t, http.MethodPost, "/api/v1/roots", e.body(map[string]any{"name": "nas", "kind": "smb", "path": name}))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	require.NotContains(t, string(r.Raw), e.Password, "the password is never returned")

	checkScanAndRescan(t, s, "nas", spec, func(paths []string) {
		for _, p := range paths {
			require.NoError(t, os.Remove(filepath.Join(dir, filepath.FromSlash(p))))
		}
	})
}

// TestSMBEndpoints covers discovery, connection tests, browsing and root checks, with right
// and wrong credentials.
func TestSMBEndpoints(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	e := smbEnv()
	name, _ := smbTree(t, e, map[string]int64{"a/one.txt": 3, "b.txt": 5})

	r := s.Do(t, http.MethodPost, "/api/v1/smb/discover", e.body(nil))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Contains(t, string(r.Data), `"data"`)
	require.Contains(t, string(r.Data), `"readonly"`)
	require.NotContains(t, string(r.Data), "IPC$")

	r = s.Do(t, http.MethodPost, "/api/v1/smb/test", e.body(nil))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Contains(t, string(r.Data), `"connection":true`)

	r = s.Do(t, http.MethodPost, "/api/v1/smb/browse", e.body(map[string]any{"path": name}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var listing struct {
		Entries []struct {
			Name        string `json:"name"`
			Size        int64  `json:"size"`
			IsDirectory bool   `json:"is_directory"`
		} `json:"entries"`
	}
	r.Decode(t, &listing)
	require.Len(t, listing.Entries, 2)
	require.Equal(t, "a", listing.Entries[0].Name)
	require.True(t, listing.Entries[0].IsDirectory)
	require.Equal(t, "b.txt", listing.Entries[1].Name)
	require.EqualValues(t, 5, listing.Entries[1].Size)

	wrong := e.body(map[string]any{"password": "not-the-password"})
	for _, path := range []string{"/api/v1/smb/test", "/api/v1/smb/discover", "/api/v1/smb/browse"} {
		r = s.Do(t, http.MethodPost, path, wrong)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s: %s", path, r.Raw)
		require.Equal(t, "STORAGE_AUTH_FAILED", r.Error.Code, path)
		require.NotContains(t, string(r.Raw), "not-the-password")
	}
	r = s.Do(t, http.MethodPost, "/api/v1/smb/test", e.body(map[string]any{"port": 1}))
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Raw)
	require.Equal(t, "STORAGE_UNREACHABLE", r.Error.Code)
	r = s.Do(t, http.MethodPost, "/api/v1/smb/test", e.body(map[string]any{"share": "no-such-share"}))
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Raw)
	r = s.Do(t, http.MethodPost, "/api/v1/smb/test", `{"share":"data"}`)
	require.Equal(t, http.StatusBadRequest, r.Status, "host is required: %s", r.Raw)

	// Roots are checked on creation; ?verify=false skips the check.
	r = s.Do(t, http.MethodPost, "/api/v1/roots", e.body(map[string]any{"name": "bad", "kind": "smb",
		"password": "not-the-password"}))
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Raw)
	require.Equal(t, "STORAGE_AUTH_FAILED", r.Error.Code)
	require.Equal(t, http.StatusNotFound, s.Do(t, http.MethodGet, "/api/v1/roots/bad", nil).Status)
	r = s.Do(t, http.MethodPost, "/api/v1/roots?verify=false", e.body(map[string]any{"name": "bad", "kind": "smb",
		"password": "not-the-password"}))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)

	// Status: reachable with latency for a good root, the reason for a bad one.
	r = s.Do(t, http.MethodPost, "/api/v1/roots", e.body(map[string]any{"name": "nas", "kind": "smb", "path": name}))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var status struct {
		Reachable bool    `json:"reachable"`
		LatencyMS float64 `json:"latency_ms"`
		Error     *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	r = s.Do(t, http.MethodGet, "/api/v1/roots/nas/status", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r.Decode(t, &status)
	require.True(t, status.Reachable)
	require.Greater(t, status.LatencyMS, 0.0)
	r = s.Do(t, http.MethodGet, "/api/v1/roots/bad/status", nil)
	r.Decode(t, &status)
	require.False(t, status.Reachable)
	require.Equal(t, "FORBIDDEN", status.Error.Code)

	// Browse a root, one page at a time.
	r = s.Do(t, http.MethodGet, "/api/v1/roots/nas/browse?limit=1", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r.Decode(t, &listing)
	require.Len(t, listing.Entries, 1)
	require.Equal(t, "a", listing.Entries[0].Name)
	cursor, _ := r.Meta["next_cursor"].(string)
	require.NotEmpty(t, cursor)
	r = s.Do(t, http.MethodGet, "/api/v1/roots/nas/browse?limit=1&cursor="+urlQuery(cursor), nil)
	r.Decode(t, &listing)
	require.Equal(t, "b.txt", listing.Entries[0].Name)
	require.Equal(t, http.StatusBadRequest, s.Do(t, http.MethodGet, "/api/v1/roots/nas/browse?path=../x", nil).Status)
}

// TestSambaDownMidScan stops Samba during a scan: tasks fail and are retried with backoff, the
// job's events report the errors, and once Samba is back the job completes with an exact,
// duplicate-free catalog.
func TestSambaDownMidScan(t *testing.T) {
	addr, stop, start := testenv.SambaServer(t)
	s := testenv.NewStack(t, testenv.StackOpts{ScanPageSize: 10})
	e := smbEnv()
	e.Addr = addr
	name := testenv.RandomName("e2e-")
	spec := treeSpec(1500)
	putSMB(t, e, name, spec)
	r := s.Do(t, http.MethodPost, "/api/v1/roots", e.body(map[string]any{"name": "nas", "kind": "smb", "path": name}))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)

	job := submit(t, s, map[string]any{"type": "scan", "root": "nas"})
	events := make(chan []sseEvent, 1)
	go func() { events <- readEvents(t, s, job.ID, 0, 4*time.Minute) }()
	for getJob(t, s, job.ID).Progress.UnitsDone < 10 {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	mid := getJob(t, s, job.ID)
	require.False(t, mid.Status.Terminal(), "the scan finished before Samba stopped")
	deadline := time.Now().Add(time.Minute)
	for countEvents(t, s, job.ID, filefleet.EventError) == 0 {
		require.True(t, time.Now().Before(deadline), "no error event while Samba was down")
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let a few retries fail
	start()

	evs := <-events
	last := evs[len(evs)-1]
	require.Equal(t, string(filefleet.EventJobCompleted), last.Type)
	var errs int
	for _, ev := range evs {
		if ev.Type == string(filefleet.EventError) {
			errs++
			require.Contains(t, ev.Event.Message, "retrying")
		}
	}
	require.Greater(t, errs, 0, "the stream carried the errors")
	require.Equal(t, spec, sizesOf(catalog(t, s, "nas", false)))
	var rows int
	require.NoError(t, s.DB.Get(&rows, `SELECT count(*) FROM files`))
	require.Equal(t, len(spec), rows, "no duplicate catalog rows")
	require.EqualValues(t, len(spec), getJob(t, s, job.ID).Progress.Files)
}

// putSMB writes spec below dir of the share through the SMB backend, 8 files at a time.
func putSMB(t *testing.T, e smbTest, dir string, spec map[string]int64) {
	t.Helper()
	host, port, _ := strings.Cut(e.Addr, ":")
	b, err := smb.New(smb.Config{Host: host, Port: atoi(port), Share: e.Share, Username: e.User, Password: e.Password})
	require.NoError(t, err)
	defer b.Close()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	var mu sync.Mutex
	var firstErr error
	for p, size := range spec {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := b.Put(context.Background(), dir+"/"+p, strings.NewReader(strings.Repeat("x", int(size)))); err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.NoError(t, firstErr)
}

func countEvents(t *testing.T, s *testenv.Stack, jobID string, typ filefleet.EventType) int {
	var n int
	require.NoError(t, s.DB.Get(&n, `SELECT count(*) FROM job_events WHERE job_id = $1 AND type = $2`, jobID, typ))
	return n
}

// TestS3WrongSecret: a root with a wrong secret key is refused with STORAGE_AUTH_FAILED.
func TestS3WrongSecret(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	cfg, mc := testenv.S3(t)
	bucket := testenv.Bucket(t, mc)
	r := s.Do(t, http.MethodPost, "/api/v1/roots", map[string]any{"name": "media", "kind": "s3",
		"endpoint": cfg.Endpoint, "bucket": bucket, "access_key": cfg.AccessKey, "secret_key": "wrong-secret-123"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Raw)
	require.Equal(t, "STORAGE_AUTH_FAILED", r.Error.Code)
	require.NotContains(t, string(r.Raw), "wrong-secret-123")
}
