package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/api"
	"github.com/filefleet/filefleet/convert/converttest"
	"github.com/filefleet/filefleet/internal/testenv"
)

// openAPIChecker sends requests to a stack and checks each response (status, headers, body)
// against the operation the OpenAPI document has for it; requests that succeed must match
// the document too. It records the operations exercised.
type openAPIChecker struct {
	t         *testing.T
	s         *testenv.Stack
	router    routers.Router
	events    *openapi3.Schema        // the Event schema
	exercised map[string]map[int]bool // "GET /api/v1/jobs/{id}" → statuses seen
}

func init() {
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
	for _, ct := range []string{"application/zip", "application/x-tar", "application/gzip", "application/zstd"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// do sends a JSON request with credentials cred (as testenv.Stack.DoAs) and checks that the
// answer has status want and matches the document.
func (c *openAPIChecker) do(cred, method, path string, body any, want int) testenv.Response {
	c.t.Helper()
	r := c.s.DoAs(c.t, cred, method, path, body)
	require.Equal(c.t, want, r.Status, "%s %s: %s", method, path, r.Raw)
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		sent = []byte(b)
	default:
		var err error
		sent, err = json.Marshal(b)
		require.NoError(c.t, err)
	}
	req, err := http.NewRequest(method, c.s.URL+path, nil)
	require.NoError(c.t, err)
	if sent != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	setCred(req, cred)
	c.check(req, sent, r.Status, r.Header, r.Raw)
	return r
}

// raw sends a request without a body, with extra headers, and checks the answer as do does;
// for answers that are not JSON envelopes.
func (c *openAPIChecker) raw(cred, method, path string, header http.Header, want int) (http.Header, []byte) {
	c.t.Helper()
	return c.send(cred, method, path, header, nil, want)
}

// send is raw with a request body (its Content-Type in header), which is checked against the
// document too when the request succeeds.
func (c *openAPIChecker) send(cred, method, path string, header http.Header, sent []byte, want int) (http.Header, []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var body io.Reader
	if sent != nil {
		body = bytes.NewReader(sent)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.s.URL+path, body)
	require.NoError(c.t, err)
	for k, vs := range header {
		req.Header[k] = vs
	}
	setCred(req, cred)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	require.Equal(c.t, want, resp.StatusCode, "%s %s: %s", method, path, got)
	c.check(req, sent, resp.StatusCode, resp.Header, got)
	return resp.Header, got
}

// upload sends a multipart/form-data upload to POST /api/v1/files/upload: fields in order,
// then the file part (none when filename is ""), and checks the answer as do does.
func (c *openAPIChecker) upload(cred string, fields [][2]string, filename string, data []byte, want int) testenv.Response {
	c.t.Helper()
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for _, f := range fields {
		require.NoError(c.t, mw.WriteField(f[0], f[1]))
	}
	if filename != "" {
		fw, err := mw.CreateFormFile("file", filename)
		require.NoError(c.t, err)
		_, err = fw.Write(data)
		require.NoError(c.t, err)
	}
	require.NoError(c.t, mw.Close())
	h, raw := c.send(cred, "POST", "/api/v1/files/upload", http.Header{"Content-Type": {mw.FormDataContentType()}},
		form.Bytes(), want)
	r := testenv.Response{Status: want, Raw: raw, Header: h}
	require.NoError(c.t, json.Unmarshal(raw, &r), "%s", raw)
	r.Status, r.Raw = want, raw
	return r
}

// streamUntil reads the SSE stream at path until an event of type typ, checking every event
// against the Event schema and the 200 (with the part read) against the document.
func (c *openAPIChecker) streamUntil(cred, path, typ string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.s.URL+path, nil)
	require.NoError(c.t, err)
	setCred(req, cred)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	var read bytes.Buffer
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	found := false
	for !found && sc.Scan() {
		read.WriteString(sc.Text() + "\n")
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			c.event([]byte(data))
			var ev struct{ Type string }
			require.NoError(c.t, json.Unmarshal([]byte(data), &ev))
			found = ev.Type == typ
		}
	}
	require.True(c.t, found, "no %s event on %s (%v): %s", typ, path, sc.Err(), read.Bytes())
	c.check(req, nil, resp.StatusCode, resp.Header, read.Bytes())
}

// event checks an SSE data line or WebSocket message against the Event schema.
func (c *openAPIChecker) event(data []byte) {
	c.t.Helper()
	var v any
	require.NoError(c.t, json.Unmarshal(data, &v))
	require.NoError(c.t, c.events.VisitJSON(v, openapi3.VisitAsResponse()), "event %s", data)
}

// websocket opens the WebSocket at path, checks the handshake's 101 against the document and
// every message against the Event schema until the server closes the socket normally.
func (c *openAPIChecker) websocket(cred, path string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequest(http.MethodGet, c.s.URL+path, nil)
	require.NoError(c.t, err)
	setCred(req, cred)
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.s.URL, "http")+path,
		&websocket.DialOptions{HTTPHeader: req.Header})
	require.NoError(c.t, err)
	defer conn.CloseNow()
	c.check(req, nil, resp.StatusCode, resp.Header, nil)
	n := 0
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			require.Equal(c.t, websocket.StatusNormalClosure, websocket.CloseStatus(err), "%v", err)
			break
		}
		require.Equal(c.t, websocket.MessageText, typ)
		c.event(data)
		n++
	}
	require.NotZero(c.t, n, "no events on the WebSocket")
}

func setCred(req *http.Request, cred string) {
	switch {
	case strings.HasPrefix(cred, "fo_"):
		req.Header.Set("X-API-Key", cred)
	case cred != "":
		req.Header.Set("Authorization", "Bearer "+cred)
	}
}

// check validates one exchange against the document.
func (c *openAPIChecker) check(req *http.Request, sent []byte, status int, header http.Header, body []byte) {
	c.t.Helper()
	ctx := context.Background()
	route, params, err := c.router.FindRoute(req)
	require.NoError(c.t, err, "%s %s is not in the document", req.Method, req.URL.Path)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if status < 400 {
		if sent != nil {
			req.Body = io.NopCloser(bytes.NewReader(sent))
		}
		require.NoError(c.t, openapi3filter.ValidateRequest(ctx, in), "request %s %s %s", req.Method, req.URL, sent)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	require.NoError(c.t, openapi3filter.ValidateResponse(ctx, out), "response to %s %s (%d): %s", req.Method, req.URL, status, body)
	op := route.Method + " " + route.Path
	if c.exercised[op] == nil {
		c.exercised[op] = map[int]bool{}
	}
	c.exercised[op][status] = true
}

// ginPath turns gin's :param and *param (a catch-all, slashes included) into OpenAPI's {param}.
func ginPath(p string) string {
	return regexp.MustCompile(`[:*]([A-Za-z_]+)`).ReplaceAllString(p, "{$1}")
}

// loadOpenAPI fetches /openapi.json from the stack and validates it as a document.
func loadOpenAPI(t *testing.T, s *testenv.Stack) *openapi3.T {
	t.Helper()
	resp, err := http.Get(s.URL + "/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(loader.Context))
	return doc
}

// TestOpenAPIDocumentsEveryRoute checks that every route the API serves is in the document,
// and that the document has no operation the API does not serve.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	doc := loadOpenAPI(t, s)

	served := map[string]bool{}
	for _, r := range s.API.Routes() {
		served[r.Method+" "+ginPath(r.Path)] = true
	}
	for _, p := range []string{"/health", "/ready", "/metrics", "/openapi.json", "/docs", "/redoc"} {
		served["GET "+p] = true
	}
	served["GET "+api.MonitoringPath+"/{path}"] = true // asynqmon, mounted beside the routes

	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			documented[key] = true
			require.NotEmpty(t, op.Summary, "%s has no summary", key)
			require.NotNil(t, op.Extensions["x-permission"], "%s has no x-permission", key)
			require.Contains(t, op.Description, "Permission:", "%s does not name its permission", key)
		}
	}
	for key := range served {
		require.True(t, documented[key], "%s is served but not documented", key)
	}
	for key := range documented {
		require.True(t, served[key], "%s is documented but not served", key)
	}
	t.Logf("%d operations documented", len(documented))
}

// TestOpenAPIResponses exercises the API for real and validates every answer against the
// document.
func TestOpenAPIResponses(t *testing.T) {
	t.Parallel()
	s := testenv.NewStack(t, testenv.StackOpts{RateLimits: map[string]int{api.LimitAuth: 12}})
	doc := loadOpenAPI(t, s)
	doc.Servers = openapi3.Servers{{URL: s.URL}}
	router, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)
	c := &openAPIChecker{t: t, s: s, router: router, events: doc.Components.Schemas["Event"].Value,
		exercised: map[string]map[int]bool{}}
	admin := s.AdminKey
	viewer := s.NewUser(t, "oa-viewer", "viewer")

	// A local root with a small tree: two copies of one file, an image, notes.
	dir := t.TempDir()
	for p, data := range map[string]string{
		"docs/report.txt":      "quarterly report",
		"docs/copy/report.txt": "quarterly report",
		"photos/cat.jpg":       strings.Repeat("jpeg", 64),
		"notes/todo.md":        "- write the docs",
		"old/archive.zip":      strings.Repeat("z", 2048),
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(data), 0o644))
	}
	wait := func(id string) filefleet.Job {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			var j filefleet.Job
			c.do(admin, "GET", "/api/v1/jobs/"+id, nil, 200).Decode(t, &j)
			if j.Status.Terminal() {
				require.Equal(t, filefleet.JobStateSucceeded, j.Status, "job %s: %s", id, j.Error)
				return j
			}
			require.True(t, time.Now().Before(deadline), "job %s still %s", id, j.Status)
			time.Sleep(100 * time.Millisecond)
		}
	}
	jobOf := func(r testenv.Response) filefleet.Job {
		var j filefleet.Job
		r.Decode(t, &j)
		return j
	}
	missing := uuid.NewString()

	// System.
	c.raw("", "GET", "/health", nil, 200)
	c.raw("", "GET", "/ready", nil, 200)
	c.raw("", "GET", "/metrics", nil, 200)
	c.raw("", "GET", "/openapi.json", nil, 200)
	_, page := c.raw("", "GET", "/docs", nil, 200)
	require.Contains(t, string(page), "swagger-ui")
	_, page = c.raw("", "GET", "/redoc", nil, 200)
	require.Contains(t, string(page), "/openapi.json")
	c.raw(admin, "GET", "/monitoring/queues", nil, 200)
	c.raw("", "GET", "/monitoring/queues", nil, 401)
	c.raw(viewer, "GET", "/monitoring/queues", nil, 403)

	// Users, sessions, roles and keys.
	var me struct {
		User struct{ ID int64 } `json:"user"`
	}
	c.do(admin, "GET", "/api/v1/auth/me", nil, 200).Decode(t, &me)
	c.do("", "GET", "/api/v1/auth/me", nil, 401)
	c.do("fo_bogus_key", "GET", "/api/v1/auth/me", nil, 401)
	var ana struct{ ID int64 }
	c.do(admin, "POST", "/api/v1/users", map[string]any{"username": "ana", "email": "ana@example.com",
		"password": "a long passphrase", "role": "operator"}, 201).Decode(t, &ana)
	c.do(admin, "POST", "/api/v1/users", map[string]any{"username": "ana", "password": "another passphrase", "role": "viewer"}, 409)
	c.do(admin, "POST", "/api/v1/users", map[string]any{"username": "bob", "password": "another passphrase", "role": "nope"}, 422)
	c.do(admin, "POST", "/api/v1/users", map[string]any{"username": "bad name!", "password": "another passphrase", "role": "viewer"}, 400)
	c.do(admin, "POST", "/api/v1/users", map[string]any{"username": "bob", "nickname": "b"}, 400)
	c.do(viewer, "POST", "/api/v1/users", map[string]any{"username": "bob", "password": "another passphrase", "role": "viewer"}, 403)
	c.do(admin, "GET", "/api/v1/users", nil, 200)
	c.do(admin, "GET", fmt.Sprintf("/api/v1/users/%d", ana.ID), nil, 200)
	c.do(admin, "GET", "/api/v1/users/abc", nil, 400)
	c.do(admin, "GET", "/api/v1/users/987654", nil, 404)
	c.do(viewer, "GET", fmt.Sprintf("/api/v1/users/%d", ana.ID), nil, 403)
	c.do(admin, "PATCH", fmt.Sprintf("/api/v1/users/%d", ana.ID), map[string]any{"email": "ana@example.org"}, 200)
	c.do(admin, "PATCH", fmt.Sprintf("/api/v1/users/%d", ana.ID), map[string]any{"role": "nope"}, 422)

	var sess struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	c.do("", "POST", "/api/v1/auth/login", map[string]any{"username": "ana", "password": "a long passphrase",
		"remember_me": true}, 200).Decode(t, &sess)
	c.do("", "POST", "/api/v1/auth/login", map[string]any{"username": "ana", "password": "wrong"}, 401)
	c.do("", "POST", "/api/v1/auth/login", map[string]any{"username": "ana"}, 400)
	c.do(sess.AccessToken, "GET", "/api/v1/auth/me", nil, 200)
	c.do("", "POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": sess.RefreshToken}, 200).Decode(t, &sess)
	c.do("", "POST", "/api/v1/auth/refresh", map[string]any{"refresh_token": "rt_bogus"}, 401)
	c.do(sess.AccessToken, "POST", "/api/v1/auth/logout", nil, 200)
	c.do(sess.AccessToken, "GET", "/api/v1/auth/me", nil, 401)
	c.do("", "POST", "/api/v1/auth/login", map[string]any{"username": "ana", "password": "a long passphrase"}, 200).Decode(t, &sess)
	c.do(sess.AccessToken, "PATCH", fmt.Sprintf("/api/v1/users/%d", ana.ID), map[string]any{"password": "a new passphrase"}, 400)
	c.do(sess.AccessToken, "PATCH", fmt.Sprintf("/api/v1/users/%d", ana.ID), map[string]any{"password": "a new passphrase",
		"current_password": "a long passphrase"}, 200)

	c.do(admin, "GET", "/api/v1/roles/permissions", nil, 200)
	c.do(viewer, "GET", "/api/v1/roles/permissions", nil, 403)
	var roles []struct {
		ID   int64
		Name string
	}
	c.do(admin, "GET", "/api/v1/roles", nil, 200).Decode(t, &roles)
	var role struct{ ID int64 }
	c.do(admin, "POST", "/api/v1/roles", map[string]any{"name": "uploader", "description": "uploads",
		"permissions": []string{"roots.view", "jobs.submit", "jobs.view"}}, 201).Decode(t, &role)
	c.do(admin, "POST", "/api/v1/roles", map[string]any{"name": "uploader", "permissions": []string{"jobs.view"}}, 409)
	c.do(admin, "POST", "/api/v1/roles", map[string]any{"name": "x", "permissions": []string{"fly"}}, 400)
	c.do(admin, "GET", fmt.Sprintf("/api/v1/roles/%d", role.ID), nil, 200)
	c.do(admin, "GET", "/api/v1/roles/987654", nil, 404)
	c.do(admin, "PUT", fmt.Sprintf("/api/v1/roles/%d", role.ID), map[string]any{"name": "uploader",
		"permissions": []string{"jobs.view"}}, 200)
	c.do(admin, "PUT", fmt.Sprintf("/api/v1/roles/%d", roles[0].ID), map[string]any{"name": roles[0].Name,
		"permissions": []string{"jobs.view"}}, 409)
	c.do(admin, "DELETE", fmt.Sprintf("/api/v1/roles/%d", role.ID), nil, 200)
	c.do(admin, "DELETE", fmt.Sprintf("/api/v1/roles/%d", roles[0].ID), nil, 409)

	var key struct {
		Key    string              `json:"key"`
		APIKey struct{ ID string } `json:"api_key"`
	}
	c.do(admin, "POST", "/api/v1/keys", map[string]any{"name": "laptop", "expires_in_days": 30,
		"scopes": []string{"jobs.view"}}, 201).Decode(t, &key)
	c.do(admin, "POST", "/api/v1/keys", map[string]any{}, 400)
	c.do(viewer, "POST", "/api/v1/keys", map[string]any{"name": "more", "scopes": []string{"roots.manage"}}, 403)
	c.do(admin, "GET", "/api/v1/keys", nil, 200)
	c.do(admin, "GET", "/api/v1/keys?all=true", nil, 200)
	c.do(viewer, "GET", "/api/v1/keys?all=true", nil, 403)
	c.do(key.Key, "GET", "/api/v1/jobs", nil, 200)
	c.do(key.Key, "GET", "/api/v1/roots", nil, 403)
	c.do(admin, "DELETE", "/api/v1/keys/"+key.APIKey.ID, nil, 200)
	c.do(admin, "DELETE", "/api/v1/keys/nokey", nil, 404)
	c.do(key.Key, "GET", "/api/v1/jobs", nil, 401)

	// Roots and SMB.
	c.do(admin, "POST", "/api/v1/roots", map[string]any{"name": "docs", "kind": "local", "path": dir}, 201)
	c.do(admin, "POST", "/api/v1/roots", map[string]any{"name": "docs", "kind": "local", "path": dir}, 409)
	c.do(admin, "POST", "/api/v1/roots", map[string]any{"name": "gone", "kind": "local", "path": filepath.Join(dir, "nope")}, 422)
	c.do(admin, "POST", "/api/v1/roots", map[string]any{"name": "odd", "kind": "ftp"}, 400)
	c.do(viewer, "POST", "/api/v1/roots", map[string]any{"name": "odd", "kind": "local", "path": dir}, 403)
	c.do(admin, "POST", "/api/v1/roots?verify=false", map[string]any{"name": "later", "kind": "local",
		"path": filepath.Join(dir, "nope")}, 201)
	smb := smbEnv()
	host, port, _ := strings.Cut(smb.Addr, ":")
	var smbPort int
	fmt.Sscan(port, &smbPort)
	c.do(admin, "POST", "/api/v1/roots?verify=false", map[string]any{"name": "nas", "kind": "smb", "host": host,
		"port": smbPort, "share": smb.Share, "path": "", "username": smb.User, "password": smb.Password}, 201)
	c.do(admin, "POST", "/api/v1/roots?verify=false", map[string]any{"name": "media", "kind": "s3", "endpoint": "127.0.0.1:9",
		"bucket": "media", "access_key": "a", "secret_key": "b", "region": "us-east-1"}, 201)
	c.do(admin, "GET", "/api/v1/roots", nil, 200)
	c.do(viewer, "GET", "/api/v1/roots/docs", nil, 200)
	c.do(admin, "GET", "/api/v1/roots/nas", nil, 200)
	c.do(admin, "GET", "/api/v1/roots/nope", nil, 404)
	c.do(admin, "GET", "/api/v1/roots/docs/status", nil, 200)
	c.do(admin, "GET", "/api/v1/roots/later/status", nil, 200)
	c.do(admin, "GET", "/api/v1/roots/docs/browse?path=docs&limit=10", nil, 200)
	c.do(admin, "GET", "/api/v1/roots/docs/browse?limit=5000", nil, 400)
	c.do(admin, "DELETE", "/api/v1/roots/later", nil, 200)
	c.do(admin, "DELETE", "/api/v1/roots/later", nil, 404)
	smbConn := map[string]any{"host": host, "port": smbPort, "username": smb.User, "password": smb.Password}
	c.do(admin, "POST", "/api/v1/smb/discover", smbConn, 200)
	c.do(admin, "POST", "/api/v1/smb/discover", map[string]any{"port": 445}, 400)
	smbConn["share"] = smb.Share
	c.do(admin, "POST", "/api/v1/smb/test", smbConn, 200)
	c.do(admin, "POST", "/api/v1/smb/browse", smbConn, 200)
	c.do(admin, "POST", "/api/v1/smb/test", map[string]any{"host": host, "port": smbPort, "share": smb.Share,
		"username": smb.User, "password": "wrong"}, 422)
	c.do(viewer, "POST", "/api/v1/smb/test", smbConn, 403)

	// Schedules (none yet: the list is null).
	c.do(admin, "GET", "/api/v1/schedules", nil, 200)
	var sched struct{ ID string }
	c.do(admin, "POST", "/api/v1/schedules", map[string]any{"name": "nightly", "cron": "0 3 * * *",
		"timezone": "Europe/Paris", "job": map[string]any{"type": "scan", "root": "docs"}}, 201).Decode(t, &sched)
	c.do(admin, "POST", "/api/v1/schedules", map[string]any{"name": "bad", "cron": "every day",
		"job": map[string]any{"type": "scan", "root": "docs"}}, 400)
	c.do(admin, "POST", "/api/v1/schedules", map[string]any{"name": "ghost", "cron": "@daily",
		"job": map[string]any{"type": "scan", "root": "ghost"}}, 422)
	_, err = s.DB.Exec(`UPDATE schedules SET last_error = 'tick 2024-05-01T01:00:00Z: Redis is unavailable',
		last_error_at = now() WHERE id = $1`, sched.ID)
	require.NoError(t, err)
	c.do(admin, "GET", "/api/v1/schedules", nil, 200)
	c.do(admin, "GET", "/api/v1/schedules/"+sched.ID, nil, 200)
	c.do(admin, "GET", "/api/v1/schedules/not-a-uuid", nil, 400)
	c.do(admin, "GET", "/api/v1/schedules/"+missing, nil, 404)
	c.do(admin, "PATCH", "/api/v1/schedules/"+sched.ID, map[string]any{"enabled": false}, 200)
	c.do(viewer, "PATCH", "/api/v1/schedules/"+sched.ID, map[string]any{"enabled": true}, 403)
	c.do(admin, "DELETE", "/api/v1/schedules/"+sched.ID, nil, 200)
	c.do(admin, "DELETE", "/api/v1/schedules/"+sched.ID, nil, 404)

	// Jobs, events and the catalog.
	scan := jobOf(c.do(admin, "POST", "/api/v1/jobs", map[string]any{"type": "scan", "root": "docs"}, 202))
	c.do(admin, "POST", "/api/v1/jobs", map[string]any{"type": "scan", "root": "ghost"}, 422)
	c.do(admin, "POST", "/api/v1/jobs", map[string]any{"type": "scan", "root": "docs", "color": "red"}, 400)
	c.do(admin, "POST", "/api/v1/jobs", `{"type": "scan"`, 400)
	c.do(viewer, "POST", "/api/v1/jobs", map[string]any{"type": "noop"}, 403)
	c.do(admin, "POST", "/api/v1/jobs/batch", map[string]any{"jobs": []any{map[string]any{"type": "noop"},
		map[string]any{"type": "noop"}}}, 202)
	c.do(admin, "POST", "/api/v1/jobs/batch", map[string]any{"jobs": []any{}}, 400)
	wait(scan.ID)
	c.do(admin, "GET", "/api/v1/jobs?type=scan&status=succeeded&sort_by=created_at&sort_order=desc&limit=10", nil, 200)
	c.do(admin, "GET", "/api/v1/jobs?status=bogus", nil, 400)
	c.do(admin, "GET", "/api/v1/jobs/not-a-uuid", nil, 400)
	c.do(admin, "GET", "/api/v1/jobs/"+missing, nil, 404)
	c.do(admin, "POST", "/api/v1/jobs/"+scan.ID+"/cancel", nil, 409)
	c.do(admin, "POST", "/api/v1/jobs/"+missing+"/cancel", nil, 404)
	c.do(viewer, "POST", "/api/v1/jobs/"+scan.ID+"/cancel", nil, 403)
	h, stream := c.raw(admin, "GET", "/api/v1/jobs/"+scan.ID+"/events", nil, 200)
	require.Equal(t, "text/event-stream", h.Get("Content-Type"))
	require.Contains(t, string(stream), "event: job_completed")
	for _, line := range strings.Split(string(stream), "\n") {
		if data, found := strings.CutPrefix(line, "data: "); found {
			c.event([]byte(data))
		}
	}
	c.websocket(admin, "/api/v1/ws/oa-client?job_id="+scan.ID)
	c.raw(admin, "GET", "/api/v1/jobs/"+scan.ID+"/events", http.Header{"Last-Event-Id": {"x"}}, 400)
	c.raw(admin, "GET", "/api/v1/jobs/"+missing+"/events", nil, 404)
	c.do(admin, "GET", "/api/v1/events?last_event_id=-1", nil, 400)
	c.do("", "GET", "/api/v1/events", nil, 401)
	c.do(admin, "GET", "/api/v1/ws/bad!client", nil, 400)
	c.do(admin, "GET", "/api/v1/ws/client-1?job_id="+missing, nil, 404)

	var files struct {
		Files []filefleet.File `json:"files"`
	}
	c.do(admin, "GET", "/api/v1/files?root=docs&path=docs&sort_by=size&sort_order=desc&limit=50", nil, 200).Decode(t, &files)
	require.NotEmpty(t, files.Files)
	c.do(admin, "GET", "/api/v1/files?include_deleted=true", nil, 200)
	c.do(admin, "GET", "/api/v1/files?root=nope", nil, 404)
	c.do(admin, "GET", "/api/v1/files?limit=0", nil, 400)
	c.do(admin, "GET", fmt.Sprintf("/api/v1/files/%d", files.Files[0].ID), nil, 200)
	c.do(admin, "GET", "/api/v1/files/0", nil, 400)
	c.do(admin, "GET", "/api/v1/files/987654321", nil, 404)
	hash := jobOf(c.do(admin, "POST", "/api/v1/jobs", map[string]any{"type": "hash", "root": "docs",
		"algorithms": []string{"sha256", "md5"}}, 202))
	wait(hash.ID)
	c.do(admin, "GET", fmt.Sprintf("/api/v1/files/%d", files.Files[0].ID), nil, 200)

	// Search and statistics.
	c.do(admin, "GET", "/api/v1/search?query=report&extension=txt,.md&root=docs&sort_by=path&limit=5", nil, 200)
	c.do(admin, "GET", "/api/v1/search?mime_type=image/*&min_size=1&max_size=100000&modified_after=2000-01-01T00:00:00Z", nil, 200)
	c.do(admin, "GET", "/api/v1/search?is_directory=true", nil, 200)
	c.do(admin, "GET", "/api/v1/search?min_size=-1", nil, 400)
	c.do(admin, "GET", "/api/v1/search?roots=ghost", nil, 404)
	c.do(admin, "GET", "/api/v1/stats/duplicates", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/duplicates?root=docs", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/duplicates/count?smb_root=docs", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/duplicates/groups?sort_by=size&limit=5", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/duplicates/groups?limit=500", nil, 400)
	c.do(admin, "GET", "/api/v1/stats/overall", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/overall?root=docs", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/overall?root=ghost", nil, 404)
	c.do(admin, "GET", "/api/v1/stats/roots/docs", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/roots/ghost", nil, 404)
	c.do(admin, "GET", "/api/v1/stats/smb/nas", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/filetypes?sort_by=count&limit=10", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/filetypes?limit=0", nil, 400)
	c.do(admin, "GET", "/api/v1/stats/sizes?root=docs", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/directories/by-size?recursive=false&limit=5", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/directories/by-size", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/directories/by-size?recursive=maybe", nil, 400)
	c.do(admin, "GET", "/api/v1/stats/growth?period=day", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/growth?months=24&root=docs", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/growth?period=week", nil, 400)
	c.do(admin, "GET", "/api/v1/stats/scans?root=docs&limit=5", nil, 200)
	c.do(admin, "GET", "/api/v1/stats/scans?offset=-1", nil, 400)
	c.do(viewer, "GET", "/api/v1/stats/scans", nil, 200)

	// Dedupe: scan, groups, a trash plan, execute, undo.
	dd := jobOf(c.do(admin, "POST", "/api/v1/dedupe/scan", map[string]any{"roots": []string{"docs"}}, 202))
	c.do(admin, "POST", "/api/v1/dedupe/scan", map[string]any{"roots": []string{"ghost"}}, 422)
	c.do(admin, "POST", "/api/v1/dedupe/scan", map[string]any{"root": "docs", "where": "here"}, 400)
	wait(dd.ID)
	c.do(admin, "GET", "/api/v1/dedupe/groups?job_id="+dd.ID+"&sort_by=count", nil, 200)
	c.do(admin, "GET", "/api/v1/dedupe/groups?job_id=x", nil, 400)
	c.do(admin, "GET", "/api/v1/dedupe/groups?job_id="+missing, nil, 404)
	var preview struct {
		PlanID string `json:"plan_id"`
	}
	c.do(admin, "POST", "/api/v1/dedupe/preview", map[string]any{"job_id": dd.ID, "keep": "shortest_path",
		"action": "trash"}, 201).Decode(t, &preview)
	c.do(admin, "POST", "/api/v1/dedupe/preview", map[string]any{"job_id": dd.ID, "keep": "biggest"}, 400)
	c.do(admin, "POST", "/api/v1/dedupe/preview", map[string]any{"job_id": scan.ID}, 422)
	c.do(admin, "POST", "/api/v1/dedupe/preview", map[string]any{"job_id": dd.ID}, 201) // default keep and action
	c.do(admin, "GET", "/api/v1/dedupe/plans/"+preview.PlanID, nil, 200)
	c.do(admin, "GET", "/api/v1/dedupe/plans/"+missing, nil, 404)
	var started struct {
		Job filefleet.Job `json:"job"`
	}
	c.do(admin, "POST", "/api/v1/dedupe/execute", map[string]any{"plan_id": preview.PlanID}, 202).Decode(t, &started)
	wait(started.Job.ID)
	c.do(admin, "POST", "/api/v1/dedupe/execute", map[string]any{"plan_id": preview.PlanID}, 409)
	c.do(admin, "POST", "/api/v1/dedupe/execute", map[string]any{}, 400)
	c.do(viewer, "POST", "/api/v1/dedupe/execute", map[string]any{"plan_id": preview.PlanID}, 403)
	c.do(admin, "GET", "/api/v1/dedupe/plans/"+preview.PlanID, nil, 200)
	c.do(admin, "POST", "/api/v1/dedupe/undo", map[string]any{"plan_id": preview.PlanID}, 202).Decode(t, &started)
	wait(started.Job.ID)
	c.do(admin, "POST", "/api/v1/dedupe/undo", map[string]any{"plan_id": missing}, 404)

	// Organize: rule sets, a scan with a plan, preview, dry run, execute, undo.
	rules := []any{map[string]any{"name": "pictures", "extensions": []string{"jpg", "png"}, "destination": "Pictures/{year}/{name}{ext}"},
		map[string]any{"min_size": 1000, "destination": "Big/{dir}/"}}
	c.do(admin, "POST", "/api/v1/organize/rules", map[string]any{"name": "pics", "description": "images", "rules": rules}, 201)
	c.do(admin, "POST", "/api/v1/organize/rules", map[string]any{"name": "pics", "rules": rules}, 409)
	c.do(admin, "POST", "/api/v1/organize/rules", map[string]any{"name": "empty", "rules": []any{}}, 400)
	c.do(admin, "GET", "/api/v1/organize/rules", nil, 200)
	c.do(admin, "GET", "/api/v1/organize/rules/pics", nil, 200)
	c.do(admin, "GET", "/api/v1/organize/rules/ghost", nil, 404)
	c.do(admin, "PUT", "/api/v1/organize/rules/pics", map[string]any{"rules": rules[:1]}, 200)
	c.do(admin, "PUT", "/api/v1/organize/rules/ghost", map[string]any{"rules": rules[:1]}, 404)
	c.do(admin, "PUT", "/api/v1/organize/rules/pics", map[string]any{"name": "other", "rules": rules[:1]}, 400)

	org := jobOf(c.do(admin, "POST", "/api/v1/organize/scan", map[string]any{"path": "/docs/photos", "methodology": "by_type"}, 202))
	c.do(admin, "POST", "/api/v1/organize/scan", map[string]any{"root": "docs", "methodology": "alphabetical"}, 400)
	c.do(admin, "POST", "/api/v1/organize/scan", map[string]any{"root": "ghost"}, 422)
	wait(org.ID)
	c.do(admin, "GET", "/api/v1/organize/status/"+org.ID, nil, 200)
	c.do(admin, "GET", "/api/v1/organize/status/"+scan.ID, nil, 200)
	c.do(admin, "GET", "/api/v1/organize/status/x", nil, 400)
	c.do(admin, "GET", "/api/v1/organize/status/"+missing, nil, 404)
	var oprev struct {
		PlanID string `json:"plan_id"`
	}
	c.do(admin, "POST", "/api/v1/organize/preview", map[string]any{"root": "docs", "path": "", "rule_set": "pics"}, 201).Decode(t, &oprev)
	c.do(admin, "POST", "/api/v1/organize/preview", map[string]any{"job_id": org.ID, "methodology": "by_date",
		"target_root": "docs", "target_path": "sorted"}, 201)
	c.do(admin, "POST", "/api/v1/organize/preview", map[string]any{"root": "docs", "methodology": "para",
		"para": map[string]any{"archive_after_days": 30}}, 201)
	c.do(admin, "POST", "/api/v1/organize/preview", map[string]any{"root": "docs", "rule_set": "ghost"}, 422)
	c.do(admin, "POST", "/api/v1/organize/preview", map[string]any{"job_id": scan.ID, "methodology": "by_type"}, 422)
	c.do(admin, "GET", "/api/v1/organize/plans/"+oprev.PlanID, nil, 200)
	c.do(admin, "GET", "/api/v1/organize/plans/x", nil, 400)
	c.do(admin, "POST", "/api/v1/organize/execute", map[string]any{"plan_id": oprev.PlanID, "dry_run": true}, 200)
	c.do(admin, "POST", "/api/v1/organize/execute", map[string]any{"plan_id": preview.PlanID, "dry_run": true}, 422)
	c.do(admin, "POST", "/api/v1/organize/execute", map[string]any{"job_id": org.ID}, 202).Decode(t, &started)
	wait(started.Job.ID)
	c.do(admin, "GET", "/api/v1/organize/status/"+started.Job.ID, nil, 200)
	c.do(admin, "POST", "/api/v1/organize/execute", map[string]any{"job_id": org.ID}, 409)
	c.do(admin, "POST", "/api/v1/organize/undo", map[string]any{"job_id": org.ID}, 202).Decode(t, &started)
	wait(started.Job.ID)
	c.do(admin, "POST", "/api/v1/organize/undo", map[string]any{"plan_id": "x"}, 400)
	c.do(admin, "DELETE", "/api/v1/organize/rules/pics", nil, 200)
	c.do(admin, "DELETE", "/api/v1/organize/rules/pics", nil, 404)

	// Archives, downloads, uploads and conversions.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "inbox"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "inbox", "memo.pdf"), converttest.PDF("quarterly memo"), 0o644))
	arch := jobOf(c.do(admin, "POST", "/api/v1/archive", map[string]any{"root": "docs", "prefix": "notes",
		"format": "tar.gz", "target_path": "archives/notes.tar.gz"}, 202))
	c.do(admin, "POST", "/api/v1/archive", map[string]any{"root": "docs", "format": "rar"}, 400)
	c.do(admin, "POST", "/api/v1/archive", map[string]any{"root": "ghost"}, 422)
	c.do(viewer, "POST", "/api/v1/archive", map[string]any{"root": "docs"}, 403)
	wait(arch.ID)
	c.do(admin, "POST", "/api/v1/archive", map[string]any{"root": "docs", "paths": []string{"notes/todo.md"},
		"target_path": "archives/notes.tar.gz"}, 409)
	wait(jobOf(c.do(admin, "POST", "/api/v1/jobs", map[string]any{"type": "archive", "archive": map[string]any{
		"root": "docs", "paths": []string{"notes", "docs/report.txt"}, "format": "zip", "target_path": "archives/mixed.zip"}}, 202)).ID)

	var up struct {
		FileID int64 `json:"file_id"`
	}
	c.upload(admin, [][2]string{{"destination", "docs:inbox/"}}, "hello.txt", []byte("hello, upload"), 200)
	c.upload(admin, [][2]string{{"root", "docs"}, {"path", "inbox"}}, "hello.txt", []byte("again"), 409)
	c.upload(admin, [][2]string{{"root", "docs"}, {"path", "inbox/hello.txt"}, {"overwrite", "true"}}, "hello.txt",
		[]byte("hello again, upload"), 200).Decode(t, &up)
	c.upload(admin, [][2]string{{"destination", "docs"}}, "hello.txt", []byte("x"), 400)
	c.upload(admin, [][2]string{{"destination", "docs:inbox/"}}, "", nil, 400)
	c.upload(admin, [][2]string{{"destination", "ghost:inbox/"}}, "hello.txt", []byte("x"), 404)
	c.upload(viewer, [][2]string{{"destination", "docs:inbox/"}}, "hello.txt", []byte("x"), 403)
	c.streamUntil(admin, "/api/v1/events?last_event_id=0", string(filefleet.EventFileUploaded))

	fileURL := fmt.Sprintf("/api/v1/download/file/%d", up.FileID)
	_, body := c.raw(admin, "GET", fileURL, nil, 200)
	require.Equal(t, "hello again, upload", string(body))
	_, body = c.raw(viewer, "GET", fileURL, http.Header{"Range": {"bytes=0-4"}}, 206)
	require.Equal(t, "hello", string(body))
	c.raw(admin, "GET", fileURL, http.Header{"Range": {"bytes=1000-"}}, 416)
	c.raw(admin, "GET", "/api/v1/download/file/x", nil, 400)
	c.raw(admin, "GET", "/api/v1/download/file/987654321", nil, 404)
	c.raw("", "GET", fileURL, nil, 401)
	for format, contentType := range map[string]string{"": "application/zip", "?format=tar": "application/x-tar",
		"?format=tar.gz": "application/gzip", "?format=tar.zst": "application/zstd"} {
		h, _ := c.raw(viewer, "GET", "/api/v1/download/directory/docs/notes"+format, nil, 200)
		require.Equal(t, contentType, h.Get("Content-Type"))
	}
	c.raw(admin, "GET", "/api/v1/download/directory/docs/notes?format=rar", nil, 400)
	c.raw(admin, "GET", "/api/v1/download/directory/docs/ghost", nil, 404)
	c.raw(admin, "GET", "/api/v1/download/directory/ghost/notes", nil, 404)
	asJSON := func(v any) []byte {
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		return raw
	}
	jsonBody := http.Header{"Content-Type": {"application/json"}}
	_, body = c.send(admin, "POST", "/api/v1/download/archive", jsonBody, asJSON(map[string]any{
		"paths": []string{"notes/todo.md", "inbox"}, "format": "tar", "root": "docs"}), 200)
	require.Contains(t, string(body), "inbox/hello.txt")
	c.send(admin, "POST", "/api/v1/download/archive", jsonBody, asJSON(map[string]any{"paths": []string{}, "root": "docs"}), 400)
	c.send(admin, "POST", "/api/v1/download/archive", jsonBody, asJSON(map[string]any{"paths": []string{"ghost.txt"},
		"smb_root": "docs"}), 404)

	c.do(viewer, "GET", "/api/v1/conversions/formats", nil, 200)
	c.do("", "GET", "/api/v1/conversions/formats", nil, 401)
	var conv struct{ ID, Status, Error string }
	toText := map[string]any{"root": "docs", "source_path": "inbox/memo.pdf", "target_format": "txt", "priority": 5}
	c.do(admin, "POST", "/api/v1/conversions", toText, 202).Decode(t, &conv)
	c.do(admin, "POST", "/api/v1/conversions", map[string]any{"root": "docs", "source_path": "inbox/memo.pdf",
		"target_format": "mp3"}, 400)
	c.do(admin, "POST", "/api/v1/conversions", map[string]any{"root": "docs", "source_path": "inbox/ghost.wav",
		"target_format": "mp3"}, 404)
	c.do(admin, "POST", "/api/v1/conversions", map[string]any{"root": "ghost", "source_path": "inbox/memo.pdf"}, 422)
	deadline := time.Now().Add(60 * time.Second)
	for conv.Status != "completed" {
		require.NotContains(t, []string{"failed", "cancelled"}, conv.Status, "conversion %s: %s", conv.ID, conv.Error)
		require.True(t, time.Now().Before(deadline), "conversion %s still %s", conv.ID, conv.Status)
		time.Sleep(100 * time.Millisecond)
		c.do(admin, "GET", "/api/v1/conversions/"+conv.ID, nil, 200).Decode(t, &conv)
	}
	c.do(admin, "POST", "/api/v1/conversions", toText, 409)
	c.do(admin, "GET", "/api/v1/conversions/x", nil, 400)
	c.do(admin, "GET", "/api/v1/conversions/"+scan.ID, nil, 404)
	c.do(admin, "GET", "/api/v1/conversions?status=completed&limit=10", nil, 200)
	c.do(admin, "GET", "/api/v1/conversions?status=bogus", nil, 400)
	c.do(admin, "POST", "/api/v1/conversions/"+conv.ID+"/cancel", nil, 409)
	c.do(admin, "POST", "/api/v1/conversions/"+missing+"/cancel", nil, 404)
	c.do(admin, "POST", "/api/v1/conversions", map[string]any{"root": "docs", "source_path": "inbox/memo.pdf",
		"target_path": "inbox/later.txt", "quality": "high", "settings": `{"bitrate": "128k"}`,
		"scheduled_for": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}, 202).Decode(t, &conv)
	c.do(viewer, "POST", "/api/v1/conversions/"+conv.ID+"/cancel", nil, 403)
	c.do(admin, "POST", "/api/v1/conversions/"+conv.ID+"/cancel", nil, 200)
	c.do(admin, "GET", "/api/v1/conversions?status=canceled", nil, 200)

	// Clean up a user, then run into the auth rate limit.
	c.do(admin, "DELETE", fmt.Sprintf("/api/v1/users/%d", ana.ID), nil, 200)
	c.do(admin, "DELETE", fmt.Sprintf("/api/v1/users/%d", ana.ID), nil, 404)
	c.do(admin, "DELETE", fmt.Sprintf("/api/v1/users/%d", me.User.ID), nil, 409)
	for i := 0; ; i++ {
		r := c.s.DoAs(t, "", "POST", "/api/v1/auth/login", map[string]any{"username": "nobody", "password": "x"})
		if r.Status == http.StatusTooManyRequests {
			break
		}
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Less(t, i, 20, "no 429 from the auth rate limit")
	}
	c.do("", "POST", "/api/v1/auth/login", map[string]any{"username": "nobody", "password": "x"}, 429)

	// Deleting files, last: the checks above count them.
	c.do(viewer, "DELETE", fmt.Sprintf("/api/v1/files/%d", files.Files[0].ID), nil, 403)
	c.do(admin, "DELETE", fmt.Sprintf("/api/v1/files/%d", files.Files[0].ID), nil, 200)
	c.do(admin, "DELETE", fmt.Sprintf("/api/v1/files/%d", files.Files[0].ID), nil, 404)
	c.do(admin, "DELETE", fmt.Sprintf("/api/v1/files/%d?permanent=true", files.Files[1].ID), nil, 200)
	c.do(admin, "DELETE", "/api/v1/files/x", nil, 400)

	// Report what was exercised.
	var ops []string
	statuses := 0
	for op, st := range c.exercised {
		ops = append(ops, op)
		statuses += len(st)
	}
	slices.Sort(ops)
	var notExercised []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if c.exercised[method+" "+path] == nil {
				notExercised = append(notExercised, method+" "+path)
			}
		}
	}
	slices.Sort(notExercised)
	t.Logf("%d operations exercised (%d operation/status pairs); not exercised: %v", len(ops), statuses, notExercised)
	require.GreaterOrEqual(t, len(ops), 60)
}
