package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// sseEvent is one event as read off the wire.
type sseEvent struct {
	ID    int64
	Type  string
	Event filefleet.Event
}

// readEvents reads the job's SSE stream (from lastID) until the server ends it, failing the
// test after timeout.
func readEvents(t *testing.T, s *testenv.Stack, jobID string, lastID int64, timeout time.Duration) []sseEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	header := http.Header{}
	if lastID > 0 {
		header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	sc := openSSE(t, ctx, s, "/api/v1/jobs/"+jobID+"/events", header)
	var evs []sseEvent
	for ev, ok := scanSSE(t, sc); ok; ev, ok = scanSSE(t, sc) {
		evs = append(evs, ev)
	}
	require.NoError(t, ctx.Err(), "the event stream did not end within %s; got %d events", timeout, len(evs))
	return evs
}

// openSSE opens the SSE stream at path with header (and the admin's key unless it holds one),
// until ctx ends.
func openSSE(t *testing.T, ctx context.Context, s *testenv.Stack, path string, header http.Header) *bufio.Scanner {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("X-API-Key") == "" {
		s.Header(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return sc
}

// scanSSE reads the next event off an SSE stream (comments skipped); false at its end.
func scanSSE(t *testing.T, sc *bufio.Scanner) (sseEvent, bool) {
	t.Helper()
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Type != "" {
				return cur, true
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.ID, _ = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
		case strings.HasPrefix(line, "event: "):
			cur.Type = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &cur.Event))
		}
	}
	return sseEvent{}, false
}

// addLocalRoot registers directory dir as local root name.
func addLocalRoot(t *testing.T, s *testenv.Stack, name, dir string) {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/roots", map[string]any{"name": name, "kind": "local", "path": dir})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
}

// submit posts a job and returns it.
func submit(t *testing.T, s *testenv.Stack, body any) filefleet.Job {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/jobs", body)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var j filefleet.Job
	r.Decode(t, &j)
	return j
}

// getJob fetches a job.
func getJob(t *testing.T, s *testenv.Stack, id string) filefleet.Job {
	t.Helper()
	r := s.Do(t, http.MethodGet, "/api/v1/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var j filefleet.Job
	r.Decode(t, &j)
	return j
}

// waitJob polls until the job is finished and returns it.
func waitJob(t *testing.T, s *testenv.Stack, id string, timeout time.Duration) filefleet.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := getJob(t, s, id)
		if j.Status.Terminal() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s after %s (progress %+v)", id, j.Status, timeout, j.Progress)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// catalog lists every file of a root through the API (paging), keyed by path.
func catalog(t *testing.T, s *testenv.Stack, root string, includeDeleted bool) map[string]filefleet.File {
	t.Helper()
	out := map[string]filefleet.File{}
	for offset := 0; ; offset += 1000 {
		r := s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/files?root=%s&limit=1000&offset=%d&include_deleted=%v",
			root, offset, includeDeleted), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
		var data struct {
			Files []filefleet.File `json:"files"`
		}
		r.Decode(t, &data)
		for _, f := range data.Files {
			_, dup := out[f.Path]
			require.False(t, dup, "path %q listed twice", f.Path)
			out[f.Path] = f
		}
		if len(data.Files) < 1000 {
			require.EqualValues(t, len(out), r.Meta["total"])
			return out
		}
	}
}

// sizesOf maps path → size.
func sizesOf(files map[string]filefleet.File) map[string]int64 {
	m := map[string]int64{}
	for p, f := range files {
		m[p] = f.Size
	}
	return m
}

// treeSpec returns n file paths in nested directories, with unicode and spaced names, and the
// size of each (every 10th is empty).
func treeSpec(n int) map[string]int64 {
	m := map[string]int64{}
	names := []string{"photo", "ünïcødé 文件", "with space", "plain"}
	for i := 0; i < n; i++ {
		dir := fmt.Sprintf("d%02d/sub%d", i%20, i%3)
		if i%7 == 0 {
			dir = fmt.Sprintf("d%02d", i%20)
		}
		p := fmt.Sprintf("%s/%s-%04d.txt", dir, names[i%len(names)], i)
		size := int64(i % 97 * 13)
		if i%10 == 0 {
			size = 0
		}
		m[p] = size
	}
	return m
}

func keys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func urlQuery(s string) string { return url.QueryEscape(s) }
