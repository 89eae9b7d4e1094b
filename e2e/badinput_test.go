package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// TestBadInput sends malformed requests: each gets a 4xx error envelope and nothing is queued.
func TestBadInput(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	addLocalRoot(t, s, "disk", t.TempDir())

	cases := []struct {
		desc, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown job type", "POST", "/api/v1/jobs", `{"type":"explode","root":"disk"}`, 400, "INVALID_REQUEST"},
		{"no job type", "POST", "/api/v1/jobs", `{"root":"disk"}`, 400, "INVALID_REQUEST"},
		{"missing root field", "POST", "/api/v1/jobs", `{"type":"scan"}`, 400, "INVALID_REQUEST"},
		{"root that does not exist", "POST", "/api/v1/jobs", `{"type":"scan","root":"nope"}`, 422, "UNPROCESSABLE"},
		{"dot-dot prefix", "POST", "/api/v1/jobs", `{"type":"scan","root":"disk","prefix":"a/../../etc"}`, 400, "INVALID_REQUEST"},
		{"absolute prefix", "POST", "/api/v1/jobs", `{"type":"scan","root":"disk","prefix":"/etc"}`, 400, "INVALID_REQUEST"},
		{"NUL in prefix", "POST", "/api/v1/jobs", `{"type":"scan","root":"disk","prefix":"a\u0000b"}`, 400, "INVALID_REQUEST"},
		{"malformed JSON", "POST", "/api/v1/jobs", `{"type":"scan",`, 400, "INVALID_REQUEST"},
		{"empty body", "POST", "/api/v1/jobs", ``, 400, "INVALID_REQUEST"},
		{"unknown field", "POST", "/api/v1/jobs", `{"type":"scan","root":"disk","prefx":"a"}`, 400, "INVALID_REQUEST"},
		{"body over 8 MiB", "POST", "/api/v1/jobs", `{"type":"noop","x":"` + strings.Repeat("a", 9<<20) + `"}`, 413, "PAYLOAD_TOO_LARGE"},
		{"wrong field type", "POST", "/api/v1/jobs", `{"type":7}`, 400, "INVALID_REQUEST"},
		{"duplicate key", "POST", "/api/v1/jobs", `{"type":"scan","root":"disk","type":"noop"}`, 400, "INVALID_REQUEST"},
		{"key twice but for case", "POST", "/api/v1/jobs", `{"type":"scan","root":"disk","TYPE":"noop"}`, 400, "INVALID_REQUEST"},
		{"duplicate nested key", "POST", "/api/v1/jobs/batch", `{"jobs":[{"type":"noop"},{"type":"noop","type":"scan"}]}`, 400, "INVALID_REQUEST"},
		{"unknown organize field", "POST", "/api/v1/jobs",
			`{"type":"organize","root":"disk","organize":{"methodology":"by_type","bogus_field":1}}`, 400, "INVALID_REQUEST"},
		{"empty batch", "POST", "/api/v1/jobs/batch", `{"jobs":[]}`, 400, "INVALID_REQUEST"},
		{"batch with one bad job", "POST", "/api/v1/jobs/batch", `{"jobs":[{"type":"noop"},{"type":"bad"}]}`, 400, "INVALID_REQUEST"},
		{"unknown job id", "GET", "/api/v1/jobs/7b0c8f2e-4a1d-4c7e-9a55-0b8e2d1f3c4a", nil, 404, "NOT_FOUND"},
		{"job id not a uuid", "GET", "/api/v1/jobs/42", nil, 400, "INVALID_REQUEST"},
		{"cancel unknown job", "POST", "/api/v1/jobs/7b0c8f2e-4a1d-4c7e-9a55-0b8e2d1f3c4a/cancel", nil, 404, "NOT_FOUND"},
		{"events of unknown job", "GET", "/api/v1/jobs/7b0c8f2e-4a1d-4c7e-9a55-0b8e2d1f3c4a/events", nil, 404, "NOT_FOUND"},
		{"bad status filter", "GET", "/api/v1/jobs?status=weird", nil, 400, "INVALID_REQUEST"},
		{"bad limit", "GET", "/api/v1/jobs?limit=0", nil, 400, "INVALID_REQUEST"},
		{"huge limit", "GET", "/api/v1/files?limit=100000", nil, 400, "INVALID_REQUEST"},
		{"files of unknown root", "GET", "/api/v1/files?root=nope", nil, 404, "NOT_FOUND"},
		{"files with dot-dot path", "GET", "/api/v1/files?path=../x", nil, 400, "INVALID_REQUEST"},
		{"file id not a number", "GET", "/api/v1/files/abc", nil, 400, "INVALID_REQUEST"},
		{"unknown file", "GET", "/api/v1/files/999999", nil, 404, "NOT_FOUND"},
		{"root kind unknown", "POST", "/api/v1/roots", `{"name":"x","kind":"ftp"}`, 400, "INVALID_REQUEST"},
		{"local root relative path", "POST", "/api/v1/roots", `{"name":"x","kind":"local","path":"rel/dir"}`, 400, "INVALID_REQUEST"},
		{"local root missing dir", "POST", "/api/v1/roots", `{"name":"x","kind":"local","path":"/nonexistent/dir"}`, 422, "UNPROCESSABLE"},
		{"s3 root unreachable", "POST", "/api/v1/roots", `{"name":"x","kind":"s3","endpoint":"127.0.0.1:1","bucket":"bucket"}`, 422, "STORAGE_UNREACHABLE"},
		{"s3 bad bucket name", "POST", "/api/v1/roots", `{"name":"x","kind":"s3","endpoint":"127.0.0.1:1","bucket":"b"}`, 400, "INVALID_REQUEST"},
		{"bad root name", "POST", "/api/v1/roots", `{"name":"../x","kind":"local","path":"/tmp"}`, 400, "INVALID_REQUEST"},
		{"duplicate root", "POST", "/api/v1/roots", map[string]any{"name": "disk", "kind": "local", "path": t.TempDir()}, 409, "CONFLICT"},
		{"unknown root", "GET", "/api/v1/roots/nope", nil, 404, "NOT_FOUND"},
		{"unknown route", "GET", "/api/v1/nothing", nil, 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		r := s.Do(t, tc.method, tc.path, tc.body)
		require.Equal(t, tc.status, r.Status, "%s: %s", tc.desc, r.Raw)
		require.False(t, r.Success, tc.desc)
		require.NotNil(t, r.Error, tc.desc)
		require.Equal(t, tc.code, r.Error.Code, "%s: %s", tc.desc, r.Raw)
		require.NotEmpty(t, r.Error.Message, tc.desc)
	}

	var jobs int
	require.NoError(t, s.DB.Get(&jobs, `SELECT count(*) FROM jobs`))
	require.Zero(t, jobs, "no job was recorded")
	queues, err := s.Jobs.Inspector.Queues()
	require.NoError(t, err)
	for _, q := range queues {
		info, err := s.Jobs.Inspector.GetQueueInfo(q)
		require.NoError(t, err)
		require.Zero(t, info.Size, "queue %s is empty", q)
	}
}

// TestBadText sends strings PostgreSQL cannot store (a NUL byte, bytes that are not UTF-8) to
// endpoints that look them up or store them: each is a 400 INVALID_REQUEST, not a 500.
func TestBadText(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	addLocalRoot(t, s, "disk", t.TempDir())

	cases := []struct{ desc, method, path, body string }{
		{"NUL in a user name", "POST", "/api/v1/auth/login", `{"username":"admin\u0000","password":"x"}`},
		{"root name not UTF-8", "GET", "/api/v1/roots/%ff", ""},
		{"file path not UTF-8", "GET", "/api/v1/files?path=%ff", ""},
		{"search query not UTF-8", "GET", "/api/v1/search?query=%ff", ""},
		{"NUL in a key name", "POST", "/api/v1/keys", `{"name":"a\u0000b"}`},
		{"NUL in a job's root", "POST", "/api/v1/jobs", `{"type":"scan","root":"x\u0000"}`},
	}
	for _, tc := range cases {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		r := s.Do(t, tc.method, tc.path, body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", tc.desc, r.Raw)
		require.Equal(t, "INVALID_REQUEST", r.Error.Code, "%s: %s", tc.desc, r.Raw)
		require.Contains(t, r.Error.Message, "UTF-8", tc.desc)
	}
}

// TestLongNames sends paths with a name longer than a local file system takes (255 bytes):
// each is a 400 INVALID_REQUEST naming the limit.
func TestLongNames(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	dir := t.TempDir()
	addLocalRoot(t, s, "disk", dir)
	long := strings.Repeat("a", 300)

	cases := []struct {
		desc, method, path string
		body               any
	}{
		{"browse", "GET", "/api/v1/roots/disk/browse?path=" + long, nil},
		{"archive download", "POST", "/api/v1/download/archive", map[string]any{"root": "disk", "paths": []string{long}}},
		{"archive job target", "POST", "/api/v1/archive", map[string]any{"root": "disk", "target_path": "x/" + long + ".zip"}},
		{"root path", "POST", "/api/v1/roots", map[string]any{"name": "long", "kind": "local", "path": dir + "/" + long}},
	}
	for _, tc := range cases {
		r := s.Do(t, tc.method, tc.path, tc.body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", tc.desc, r.Raw)
		require.Equal(t, "INVALID_REQUEST", r.Error.Code, "%s: %s", tc.desc, r.Raw)
		require.Contains(t, r.Error.Message, "255", "%s: %s", tc.desc, r.Raw)
	}
}

// TestUUIDForms names resources by UUIDs in the other forms uuid.Parse takes (urn:uuid:,
// braces, upper case): they find what the canonical form finds, 404 when there is nothing.
func TestUUIDForms(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	r := s.Do(t, http.MethodPost, "/api/v1/schedules", map[string]any{"name": "daily", "cron": "@daily",
		"job": map[string]any{"type": "noop"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var sc filefleet.Schedule
	r.Decode(t, &sc)
	for _, id := range []string{"urn:uuid:" + sc.ID, "{" + sc.ID + "}", strings.ToUpper(sc.ID)} {
		r := s.Do(t, http.MethodGet, "/api/v1/schedules/"+url.PathEscape(id), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", id, r.Raw)
		var got filefleet.Schedule
		r.Decode(t, &got)
		require.Equal(t, sc.ID, got.ID)
	}

	urn := "urn:uuid:7b0c8f2e-4a1d-4c7e-9a55-0b8e2d1f3c4a"
	cases := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/dedupe/plans/" + urn, nil},
		{"GET", "/api/v1/organize/plans/" + urn, nil},
		{"POST", "/api/v1/organize/execute", map[string]any{"plan_id": urn}},
		{"POST", "/api/v1/dedupe/execute", map[string]any{"job_id": urn}},
		{"POST", "/api/v1/dedupe/preview", map[string]any{"job_id": urn}},
		{"POST", "/api/v1/organize/preview", map[string]any{"job_id": urn}},
		{"GET", "/api/v1/dedupe/groups?job_id=" + urn, nil},
		{"GET", "/api/v1/organize/status/" + urn, nil},
		{"DELETE", "/api/v1/schedules/" + urn, nil},
	}
	for _, tc := range cases {
		r := s.Do(t, tc.method, tc.path, tc.body)
		require.Equal(t, http.StatusNotFound, r.Status, "%s %s: %s", tc.method, tc.path, r.Raw)
	}
}
