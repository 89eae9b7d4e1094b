package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/filefleet/filefleet/internal/testenv"
)

// fuzzTargets are the routes FuzzRequests sends bodies (POST, PUT, PATCH) or queries (GET) to.
var fuzzTargets = []struct{ method, path string }{
	{http.MethodPost, "/api/v1/jobs"},
	{http.MethodPost, "/api/v1/jobs/batch"},
	{http.MethodPost, "/api/v1/roots"},
	{http.MethodPost, "/api/v1/schedules"},
	{http.MethodPost, "/api/v1/dedupe/scan"},
	{http.MethodPost, "/api/v1/dedupe/preview"},
	{http.MethodPost, "/api/v1/organize/scan"},
	{http.MethodPost, "/api/v1/organize/preview"},
	{http.MethodPost, "/api/v1/organize/execute"},
	{http.MethodPost, "/api/v1/organize/rules"},
	{http.MethodPost, "/api/v1/keys"},
	{http.MethodPost, "/api/v1/users"},
	{http.MethodPost, "/api/v1/roles"},
	{http.MethodPost, "/api/v1/auth/refresh"},
	{http.MethodPatch, "/api/v1/schedules/00000000-0000-0000-0000-000000000000"},
	{http.MethodGet, "/api/v1/files"},
	{http.MethodGet, "/api/v1/jobs"},
	{http.MethodGet, "/api/v1/dedupe/groups"},
	{http.MethodGet, "/api/v1/stats/duplicates/groups"},
	{http.MethodGet, "/api/v1/roots/disk/browse"},
}

// FuzzRequests sends malformed and odd bodies and query strings to the API's parsing: every
// answer is an envelope with a 2xx or 4xx status, never a 5xx or a panic. It runs against a
// real stack (without a worker); `make test` fuzzes it for a short while.
func FuzzRequests(f *testing.F) {
	seeds := []string{`{}`, `{"type":"scan","root":"disk","prefix":"../x"}`, `{"jobs":[{"type":"noop"}]}`,
		`{"name":"r","kind":"local","path":"/tmp"}`, `{"cron":"* * *","job":{}}`, `{"methodology":"rules","rules":[{"destination":"{x}"}]}`,
		`{"root":"disk","methodology":"para","para":{"archive_after_days":-1}}`, `[1,2]`, `null`, `{"job_id":"x"}`,
		`limit=-1&offset=x`, `sort_by=size&sort_order=sideways`, `path=..%2F..&limit=5`, `{"scopes":["nope"],"name":""}`}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	s := testenv.NewStack(f, testenv.StackOpts{NoWorker: true, RateLimits: map[string]int{"api": 0, "submit": 0, "auth": 0}})
	s.Do(f, http.MethodPost, "/api/v1/roots", map[string]any{"name": "disk", "kind": "local", "path": f.TempDir()})
	handler := s.API.Handler()
	f.Fuzz(func(t *testing.T, target uint8, input []byte) {
		tg := fuzzTargets[int(target)%len(fuzzTargets)]
		var req *http.Request
		if tg.method == http.MethodGet {
			req = httptest.NewRequest(tg.method, tg.path+"?"+url.PathEscape(string(input)), nil)
			req.URL.RawQuery = string(input)
		} else {
			req = httptest.NewRequest(tg.method, tg.path, bytes.NewReader(input))
		}
		req.Header.Set("X-API-Key", s.AdminKey)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", tg.method, tg.path, input, rec.Code, rec.Body)
		}
		var env struct {
			Success *bool `json:"success"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Success == nil {
			t.Fatalf("%s %s with %q: %d, not an envelope: %s", tg.method, tg.path, input, rec.Code, rec.Body)
		}
	})
}
