package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/store"
)

// TestAuthRequired: without credentials, or with bad ones, every /api/v1 route but login and
// refresh answers 401 with the envelope.
func TestAuthRequired(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	routes := 0
	for _, r := range s.API.Routes() {
		if r.Path == "/api/v1/auth/login" || r.Path == "/api/v1/auth/refresh" {
			continue
		}
		path := strings.NewReplacer(":id", "1", ":name", "x", ":job_id", "1", ":client_id", "c").Replace(r.Path)
		for _, cred := range []string{"", "fo_nokey_0123456789abcdefghij", "not-a-jwt", s.AdminKey + "x"} {
			resp := s.DoAs(t, cred, r.Method, path, nil)
			require.Equal(t, http.StatusUnauthorized, resp.Status, "%s %s with %q: %s", r.Method, path, cred, resp.Raw)
			require.Equal(t, "UNAUTHORIZED", resp.Error.Code)
		}
		routes++
	}
	require.Greater(t, routes, 50, "every route was tried")
	require.Equal(t, http.StatusOK, s.DoAs(t, "", http.MethodGet, "/health", nil).Status, "health stays open")
}

// TestAuthRolesAndKeys: a viewer reads but cannot submit, delete or execute; keys expire and
// are revoked; scopes narrow a key; a key's secret shows once and never in logs.
func TestAuthRolesAndKeys(t *testing.T) {
	var logs syncBuffer
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true, Log: &logs})
	localRoot(t, s, "media", map[string]int64{"a.txt": 3})
	viewer := s.NewUser(t, "vera", auth.RoleViewer)
	operator := s.NewUser(t, "otto", auth.RoleOperator)

	for _, tc := range []struct {
		cred, method, path string
		body               any
		status             int
	}{
		{viewer, http.MethodGet, "/api/v1/jobs", nil, 200},
		{viewer, http.MethodGet, "/api/v1/roots", nil, 200},
		{viewer, http.MethodPost, "/api/v1/jobs", map[string]any{"type": "scan", "root": "media"}, 403},
		{viewer, http.MethodDelete, "/api/v1/roots/media", nil, 403},
		{viewer, http.MethodPost, "/api/v1/organize/execute", map[string]any{"plan_id": "x"}, 403},
		{viewer, http.MethodGet, "/api/v1/users", nil, 403},
		{operator, http.MethodPost, "/api/v1/jobs", map[string]any{"type": "noop"}, 202},
		{operator, http.MethodGet, "/api/v1/roles", nil, 403},
		{s.AdminKey, http.MethodGet, "/api/v1/roles", nil, 200},
	} {
		r := s.DoAs(t, tc.cred, tc.method, tc.path, tc.body)
		require.Equal(t, tc.status, r.Status, "%s %s: %s", tc.method, tc.path, r.Raw)
		if tc.status == 403 {
			require.Equal(t, "FORBIDDEN", r.Error.Code)
		}
	}

	// A scoped key of the operator: jobs.view only.
	r := s.DoAs(t, operator, http.MethodPost, "/api/v1/keys", map[string]any{"name": "ci", "scopes": []string{"jobs.view"},
		"expires_in_days": 30})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var created struct {
		Key    string       `json:"key"`
		APIKey store.APIKey `json:"api_key"`
	}
	r.Decode(t, &created)
	require.True(t, strings.HasPrefix(created.Key, "fo_"+created.APIKey.ID+"_"), created.Key)
	_, secret, ok := auth.ParseKey(created.Key)
	require.True(t, ok)
	require.Equal(t, http.StatusOK, s.DoAs(t, created.Key, http.MethodGet, "/api/v1/jobs", nil).Status)
	require.Equal(t, http.StatusForbidden, s.DoAs(t, created.Key, http.MethodPost, "/api/v1/jobs",
		map[string]any{"type": "noop"}).Status, "the scope narrows the key")
	r = s.DoAs(t, viewer, http.MethodPost, "/api/v1/keys", map[string]any{"name": "x", "scopes": []string{"jobs.submit"}})
	require.Equal(t, http.StatusForbidden, r.Status, "a key cannot grant more than its user has: %s", r.Raw)
	r = s.DoAs(t, operator, http.MethodGet, "/api/v1/keys", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.NotContains(t, string(r.Raw), secret, "listing never shows a secret")
	require.Contains(t, string(r.Raw), created.APIKey.ID)

	// Revoked and expired keys: 401.
	r = s.DoAs(t, operator, http.MethodDelete, "/api/v1/keys/"+created.APIKey.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r = s.DoAs(t, created.Key, http.MethodGet, "/api/v1/jobs", nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Contains(t, r.Error.Message, "revoked")
	id, sec, expired := auth.NewKey()
	past := time.Now().Add(-time.Minute)
	viewerUser, err := store.UserByName(context.Background(), s.DB, "vera")
	require.NoError(t, err)
	require.NoError(t, store.CreateKey(context.Background(), s.DB, &store.APIKey{ID: id, UserID: viewerUser.ID, Name: "old",
		SecretHash: auth.HashSecret(sec), ExpiresAt: &past}))
	r = s.DoAs(t, expired, http.MethodGet, "/api/v1/jobs", nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Contains(t, r.Error.Message, "expired")
	r = s.DoAs(t, operator, http.MethodPost, "/api/v1/keys", map[string]any{"name": "x", "expires_at": past})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Raw)
	r = s.DoAs(t, operator, http.MethodPost, "/api/v1/keys", map[string]any{"name": "x", "expires_in_days": 200000})
	require.Equal(t, http.StatusBadRequest, r.Status, "a lifetime past 100 years: %s", r.Raw)
	require.Contains(t, r.Error.Message, "36500")

	// A key used as the token query parameter (as browsers must for streams and download
	// links) is taken there, and not logged; other routes refuse one, naming the headers.
	queryToken := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, s.URL+path+"?token="+operator, nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp := queryToken(http.MethodGet, "/api/v1/download/file/999999999")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the token was taken: the file is unknown")
	for _, path := range []string{"/api/v1/jobs", "/api/v1/keys", "/api/v1/auth/me"} {
		require.Equal(t, http.StatusUnauthorized, queryToken(http.MethodGet, path).StatusCode, path)
	}
	require.Equal(t, http.StatusUnauthorized, queryToken(http.MethodPost, "/api/v1/download/archive").StatusCode)
	r = s.Do(t, http.MethodGet, "/api/v1/jobs?token="+operator, nil) // with a header as well
	require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Raw)
	require.Equal(t, "UNAUTHORIZED", r.Error.Code)
	require.Contains(t, r.Error.Message, "Authorization: Bearer")
	for _, k := range []string{created.Key, operator, viewer, s.AdminKey} {
		_, sec, ok := auth.ParseKey(k)
		require.True(t, ok)
		require.NotContains(t, logs.String(), sec, "a key's secret is in the logs")
	}
	require.Contains(t, logs.String(), `"path":"/api/v1/download/file/999999999"`, "the access log was captured")
	require.Contains(t, logs.String(), `"path":"/api/v1/jobs"`, "the access log was captured")
}

// TestAuthLoginSessions: login, me, refresh with rotation, logout; wrong passwords and unknown
// users get the same 401.
func TestAuthLoginSessions(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	r := s.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"username": "lin", "password": "correct horse battery",
		"role": "operator", "email": "lin@example.com"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	require.NotContains(t, string(r.Raw), "correct horse")
	r = s.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"username": "short", "password": "short", "role": "viewer"})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Raw)
	r = s.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"username": "lin", "password": "another long one", "role": "viewer"})
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)

	for _, bad := range []map[string]any{{"username": "lin", "password": "wrong password!"},
		{"username": "nobody", "password": "correct horse battery"}} {
		r = s.DoAs(t, "", http.MethodPost, "/api/v1/auth/login", bad)
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Raw)
		require.Equal(t, "invalid credentials", r.Error.Message)
	}
	r = s.DoAs(t, "", http.MethodPost, "/api/v1/auth/login", map[string]any{"username": "lin", "password": "correct horse battery"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var tokens struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.Decode(t, &tokens)
	r = s.DoAs(t, tokens.AccessToken, http.MethodGet, "/api/v1/auth/me", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Contains(t, string(r.Raw), `"username":"lin"`)
	require.Equal(t, http.StatusAccepted, s.DoAs(t, tokens.AccessToken, http.MethodPost, "/api/v1/jobs",
		map[string]any{"type": "noop"}).Status)

	r = s.DoAs(t, "", http.MethodPost, "/api/v1/auth/refresh", map[string]any{"refresh_token": tokens.RefreshToken})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var next struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.Decode(t, &next)
	require.NotEqual(t, tokens.RefreshToken, next.RefreshToken)
	r = s.DoAs(t, "", http.MethodPost, "/api/v1/auth/refresh", map[string]any{"refresh_token": tokens.RefreshToken})
	require.Equal(t, http.StatusUnauthorized, r.Status, "a refresh token works once")
	require.Equal(t, http.StatusUnauthorized, s.DoAs(t, tokens.AccessToken, http.MethodGet, "/api/v1/auth/me", nil).Status,
		"the old session ended with its refresh")

	require.Equal(t, http.StatusOK, s.DoAs(t, next.AccessToken, http.MethodPost, "/api/v1/auth/logout", nil).Status)
	require.Equal(t, http.StatusUnauthorized, s.DoAs(t, next.AccessToken, http.MethodGet, "/api/v1/auth/me", nil).Status,
		"logout ends the session")
	r = s.DoAs(t, "", http.MethodPost, "/api/v1/auth/login", "{not json")
	require.Equal(t, http.StatusBadRequest, r.Status)
}

// TestRateLimitSharedByTwoAPIs: two API processes share one limit in Redis: the request past
// the limit is refused with 429 and Retry-After whichever process gets it.
func TestRateLimitSharedByTwoAPIs(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	env := []string{"FILEFLEET_RATE_LIMIT_API=20", "FILEFLEET_LOG_LEVEL=warn"}
	_, url1 := s.StartAPI(t, env...)
	_, url2 := s.StartAPI(t, env...)
	get := func(url string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/roots", nil)
		s.Header(req)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	for i := range 20 {
		resp := get([]string{url1, url2}[i%2])
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d", i+1)
		require.Equal(t, "20", resp.Header.Get("X-RateLimit-Limit"))
		require.NotEmpty(t, resp.Header.Get("X-RateLimit-Remaining"))
	}
	for _, url := range []string{url1, url2} {
		resp := get(url)
		require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		require.Equal(t, "0", resp.Header.Get("X-RateLimit-Remaining"))
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
	}
	// Another key has its own budget.
	other := s.NewUser(t, "other", auth.RoleViewer)
	req, _ := http.NewRequest(http.MethodGet, url1+"/api/v1/roots", nil)
	req.Header.Set("X-API-Key", other)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (log handlers of several goroutines).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRequestIDAndCORS: every answer carries a request id (the client's when sane); browsers
// on a configured origin may call the API, others get no CORS headers.
func TestRequestIDAndCORS(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true, CORSOrigins: []string{"https://ui.example"}})
	r := s.Do(t, http.MethodGet, "/api/v1/jobs", nil)
	require.Len(t, r.Header.Get("X-Request-ID"), 36, "a UUID when the client sends none")
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/jobs", nil)
	s.Header(req)
	req.Header.Set("X-Request-ID", "trace-42")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "trace-42", resp.Header.Get("X-Request-ID"))

	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, s.URL+"/api/v1/jobs", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "X-API-Key, Content-Type")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	resp = preflight("https://ui.example")
	require.Less(t, resp.StatusCode, 300)
	require.Equal(t, "https://ui.example", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Contains(t, strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "x-api-key")
	require.Empty(t, preflight("https://evil.example").Header.Get("Access-Control-Allow-Origin"))
}

// sessionTokens are the tokens of POST /auth/login and /auth/refresh.
type sessionTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// newLogin creates user username with role and password through the API, logs in and returns
// the user's id and session.
func newLogin(t *testing.T, s *testenv.Stack, username, role, password string) (int64, sessionTokens) {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"username": username, "password": password, "role": role})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var u store.User
	r.Decode(t, &u)
	return u.ID, login(t, s, username, password)
}

// login logs username in and returns the session's tokens.
func login(t *testing.T, s *testenv.Stack, username, password string) sessionTokens {
	t.Helper()
	r := s.DoAs(t, "", http.MethodPost, "/api/v1/auth/login", map[string]any{"username": username, "password": password})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var tokens sessionTokens
	r.Decode(t, &tokens)
	return tokens
}

// newKey makes an API key with cred and returns it with its record.
func newKey(t *testing.T, s *testenv.Stack, cred string, scopes ...string) (string, store.APIKey) {
	t.Helper()
	r := s.DoAs(t, cred, http.MethodPost, "/api/v1/keys", map[string]any{"name": "k", "scopes": scopes})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var created struct {
		Key    string       `json:"key"`
		APIKey store.APIKey `json:"api_key"`
	}
	r.Decode(t, &created)
	return created.Key, created.APIKey
}

// TestAuthLimitedKeyCannotTakeOver: a key with scopes (here an admin's with files.view only)
// cannot set its user's password, nor revoke keys broader than itself; changing one's own
// password needs the current one.
func TestAuthLimitedKeyCannotTakeOver(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	id, sess := newLogin(t, s, "ada", auth.RoleAdmin, "first long password")
	self := fmt.Sprintf("/api/v1/users/%d", id)
	limited, _ := newKey(t, s, sess.AccessToken, "files.view")
	_, full := newKey(t, s, sess.AccessToken)

	r := s.DoAs(t, limited, http.MethodPatch, self, map[string]any{"password": "taken over password",
		"current_password": "first long password"})
	require.Equal(t, http.StatusForbidden, r.Status, "a limited key sets no password: %s", r.Raw)
	require.Contains(t, r.Error.Message, "log in")
	r = s.DoAs(t, limited, http.MethodDelete, "/api/v1/keys/"+full.ID, nil)
	require.Equal(t, http.StatusForbidden, r.Status, "nor revokes a broader key: %s", r.Raw)
	r = s.DoAs(t, limited, http.MethodPost, "/api/v1/keys", map[string]any{"name": "more", "scopes": []string{"users.manage"}})
	require.Equal(t, http.StatusForbidden, r.Status, "nor mints a broader key: %s", r.Raw)
	_, child := newKey(t, s, limited)
	require.Equal(t, pq.StringArray{"files.view"}, child.Scopes, "a key minted by a limited key has its scopes")
	require.Equal(t, http.StatusOK, s.DoAs(t, limited, http.MethodDelete, "/api/v1/keys/"+child.ID, nil).Status,
		"it revokes keys within its scopes")

	r = s.DoAs(t, sess.AccessToken, http.MethodPatch, self, map[string]any{"password": "second long password"})
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Raw)
	require.Contains(t, r.Error.Message, "current_password")
	r = s.DoAs(t, sess.AccessToken, http.MethodPatch, self, map[string]any{"password": "second long password",
		"current_password": "wrong long password"})
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Raw)
	r = s.DoAs(t, sess.AccessToken, http.MethodPatch, self, map[string]any{"password": "second long password",
		"current_password": "first long password"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	login(t, s, "ada", "second long password")
}

// TestAuthKeyFromStaleKey: a key whose scopes the user's role no longer grants makes keys with
// those scopes, not unscoped ones holding the whole role.
func TestAuthKeyFromStaleKey(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	id, sess := newLogin(t, s, "olga", auth.RoleOperator, "a long password!")
	parent, _ := newKey(t, s, sess.AccessToken, "jobs.submit")
	r := s.Do(t, http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", id), map[string]any{"role": auth.RoleViewer})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)

	child, rec := newKey(t, s, parent)
	require.Equal(t, pq.StringArray{"jobs.submit"}, rec.Scopes)
	r = s.DoAs(t, child, http.MethodGet, "/api/v1/jobs", nil)
	require.Equal(t, http.StatusForbidden, r.Status, "the child holds nothing the viewer role grants: %s", r.Raw)
}

// TestAuthPasswordChangeEndsSessions: a new password, set by the user or reset by an admin,
// ends the user's sessions: access and refresh tokens stop working; API keys stay.
func TestAuthPasswordChangeEndsSessions(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	id, here := newLogin(t, s, "pia", auth.RoleViewer, "first long password")
	self := fmt.Sprintf("/api/v1/users/%d", id)
	elsewhere := login(t, s, "pia", "first long password")
	key, _ := newKey(t, s, here.AccessToken)
	ended := func(tokens sessionTokens, why string) {
		t.Helper()
		require.Equal(t, http.StatusUnauthorized, s.DoAs(t, tokens.AccessToken, http.MethodGet, "/api/v1/auth/me", nil).Status,
			"access token after %s", why)
		r := s.DoAs(t, "", http.MethodPost, "/api/v1/auth/refresh", map[string]any{"refresh_token": tokens.RefreshToken})
		require.Equal(t, http.StatusUnauthorized, r.Status, "refresh token after %s: %s", why, r.Raw)
	}

	r := s.DoAs(t, here.AccessToken, http.MethodPatch, self, map[string]any{"password": "second long password",
		"current_password": "first long password"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	ended(here, "a change by the user")
	ended(elsewhere, "a change by the user, in another session")

	again := login(t, s, "pia", "second long password")
	r = s.Do(t, http.MethodPatch, self, map[string]any{"password": "third long password"})
	require.Equal(t, http.StatusOK, r.Status, "an admin resets without the current password: %s", r.Raw)
	ended(again, "a reset by an admin")
	require.Equal(t, http.StatusOK, s.DoAs(t, key, http.MethodGet, "/api/v1/auth/me", nil).Status, "API keys stay")
	r = s.Do(t, http.MethodPatch, self, map[string]any{"email": "pia@example.com"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	login(t, s, "pia", "third long password")
}

// TestAuthUsersManageIsNotAdmin: a role with users.manage gives only roles within its own
// permissions, cannot change its own role, and cannot touch users (or their keys) whose role
// holds permissions it lacks.
func TestAuthUsersManageIsNotAdmin(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	r := s.Do(t, http.MethodPost, "/api/v1/roles", map[string]any{"name": "usermgr",
		"permissions": []string{"users.manage", "roots.view", "jobs.view", "files.view", "schedules.view"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	mgr := s.NewUser(t, "mgr", "usermgr")
	ctx := context.Background()
	self, err := store.UserByName(ctx, s.DB, "mgr")
	require.NoError(t, err)
	admin, err := store.UserByName(ctx, s.DB, "admin")
	require.NoError(t, err)
	adminKeys, err := store.ListKeys(ctx, s.DB, admin.ID)
	require.NoError(t, err)

	var viewer store.User
	r = s.DoAs(t, mgr, http.MethodPost, "/api/v1/users", map[string]any{"username": "vic", "password": "a long password!",
		"role": auth.RoleViewer})
	require.Equal(t, http.StatusCreated, r.Status, "a role within its permissions: %s", r.Raw)
	r.Decode(t, &viewer)
	for _, tc := range []struct {
		method, path string
		body         any
		why          string
	}{
		{http.MethodPost, "/api/v1/users", map[string]any{"username": "evil", "password": "a long password!", "role": auth.RoleAdmin},
			"creating an admin"},
		{http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", self.ID), map[string]any{"role": auth.RoleAdmin}, "promoting itself"},
		{http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", self.ID), map[string]any{"role": auth.RoleViewer}, "changing its own role"},
		{http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", viewer.ID), map[string]any{"role": auth.RoleOperator}, "promoting another"},
		{http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", admin.ID), map[string]any{"password": "a long password!"},
			"resetting an admin's password"},
		{http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", admin.ID), map[string]any{"is_active": false}, "disabling an admin"},
		{http.MethodDelete, fmt.Sprintf("/api/v1/users/%d", admin.ID), nil, "deleting an admin"},
		{http.MethodDelete, "/api/v1/keys/" + adminKeys[0].ID, nil, "revoking an admin's key"},
	} {
		r := s.DoAs(t, mgr, tc.method, tc.path, tc.body)
		require.Equal(t, http.StatusForbidden, r.Status, "%s: %s", tc.why, r.Raw)
	}
	require.Equal(t, http.StatusOK, s.DoAs(t, s.AdminKey, http.MethodGet, "/api/v1/auth/me", nil).Status)
	r = s.DoAs(t, mgr, http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", viewer.ID), map[string]any{"password": "another long one"})
	require.Equal(t, http.StatusOK, r.Status, "a user within its permissions: %s", r.Raw)
	r = s.DoAs(t, mgr, http.MethodDelete, fmt.Sprintf("/api/v1/users/%d", viewer.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
}

// TestAuthRolesManageIsNotAdmin: a role with roles.manage grants no permission its holder
// lacks ("*" included), and changes neither its own role nor a stronger one.
func TestAuthRolesManageIsNotAdmin(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	roles := map[string]int64{}
	for name, perms := range map[string][]string{"rolemgr": {"roles.manage", "jobs.view"},
		"strong": {"users.manage", "jobs.view"}} {
		r := s.Do(t, http.MethodPost, "/api/v1/roles", map[string]any{"name": name, "permissions": perms})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
		var role store.Role
		r.Decode(t, &role)
		roles[name] = role.ID
	}
	mgr := s.NewUser(t, "rmgr", "rolemgr")
	for _, tc := range []struct {
		method, path string
		body         any
		why          string
	}{
		{http.MethodPut, fmt.Sprintf("/api/v1/roles/%d", roles["rolemgr"]),
			map[string]any{"name": "rolemgr", "permissions": []string{"*"}}, "granting * to its own role"},
		{http.MethodPut, fmt.Sprintf("/api/v1/roles/%d", roles["rolemgr"]),
			map[string]any{"name": "rolemgr", "permissions": []string{"jobs.view"}}, "changing its own role"},
		{http.MethodPut, fmt.Sprintf("/api/v1/roles/%d", roles["strong"]),
			map[string]any{"name": "strong", "permissions": []string{"jobs.view"}}, "changing a stronger role"},
		{http.MethodPost, "/api/v1/roles", map[string]any{"name": "mine", "permissions": []string{"users.manage"}},
			"granting a permission it lacks"},
		{http.MethodDelete, fmt.Sprintf("/api/v1/roles/%d", roles["strong"]), nil, "deleting a stronger role"},
		{http.MethodDelete, fmt.Sprintf("/api/v1/roles/%d", roles["rolemgr"]), nil, "deleting its own role"},
	} {
		r := s.DoAs(t, mgr, tc.method, tc.path, tc.body)
		require.Equal(t, http.StatusForbidden, r.Status, "%s: %s", tc.why, r.Raw)
	}
	r := s.DoAs(t, mgr, http.MethodPost, "/api/v1/roles", map[string]any{"name": "reader", "permissions": []string{"jobs.view"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var reader store.Role
	r.Decode(t, &reader)
	r = s.DoAs(t, mgr, http.MethodPut, fmt.Sprintf("/api/v1/roles/%d", reader.ID),
		map[string]any{"name": "reader", "permissions": []string{"jobs.view", "roles.manage"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r = s.DoAs(t, mgr, http.MethodDelete, fmt.Sprintf("/api/v1/roles/%d", reader.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, "a role within its own permissions may go: %s", r.Raw)
}

// TestAuthLogoutOwnSessionOnly: a refresh token given to logout must be live (its secret
// checked) and the caller's; another user's session id with a made-up secret ends nothing.
func TestAuthLogoutOwnSessionOnly(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	_, victim := newLogin(t, s, "vik", auth.RoleAdmin, "victim long password")
	_, mallory := newLogin(t, s, "mal", auth.RoleViewer, "mallory long password")
	sid, _, ok := auth.ParseRefreshToken(victim.RefreshToken)
	require.True(t, ok)
	for _, token := range []string{"rt_" + sid + "_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", victim.RefreshToken} {
		r := s.DoAs(t, mallory.AccessToken, http.MethodPost, "/api/v1/auth/logout", map[string]any{"refresh_token": token})
		require.Equal(t, http.StatusUnauthorized, r.Status, "%s", r.Raw)
	}
	require.Equal(t, http.StatusOK, s.DoAs(t, victim.AccessToken, http.MethodGet, "/api/v1/auth/me", nil).Status,
		"the victim's session lives on")
	require.Equal(t, http.StatusOK, s.DoAs(t, mallory.AccessToken, http.MethodGet, "/api/v1/auth/me", nil).Status)

	r := s.DoAs(t, victim.AccessToken, http.MethodPost, "/api/v1/auth/logout", map[string]any{"refresh_token": victim.RefreshToken})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Contains(t, string(r.Raw), `"logged_out":true`)
	require.Equal(t, http.StatusUnauthorized, s.DoAs(t, victim.AccessToken, http.MethodGet, "/api/v1/auth/me", nil).Status)
}

// loginFrom posts a login to the API at url with X-Forwarded-For forwarded and returns the
// status.
func loginFrom(t *testing.T, url, forwarded, username, password string) int {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/auth/login", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", forwarded)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestLoginLimitIgnoresForwardedFor: without trusted proxies, X-Forwarded-For does not make a
// new client address: the 11th login from one peer is refused whatever the header says.
func TestLoginLimitIgnoresForwardedFor(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	for i := range 10 {
		require.Equal(t, http.StatusUnauthorized, loginFrom(t, s.URL, fmt.Sprintf("203.0.113.%d", i), fmt.Sprintf("u%d", i),
			"some long password"), "attempt %d", i+1)
	}
	require.Equal(t, http.StatusTooManyRequests, loginFrom(t, s.URL, "203.0.113.99", "u99", "some long password"))
}

// TestLoginLimitPerUsername: behind a trusted proxy (FILEFLEET_TRUSTED_PROXIES) each forwarded
// address has its own budget, but failed logins of one username are limited whatever the
// address: after 10, even the right password waits.
func TestLoginLimitPerUsername(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	_, url := s.StartAPI(t, "FILEFLEET_TRUSTED_PROXIES=127.0.0.1,::1", "FILEFLEET_LOG_LEVEL=warn")
	r := s.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"username": "tess", "password": "the right password",
		"role": auth.RoleViewer})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	for i := range 10 {
		require.Equal(t, http.StatusUnauthorized, loginFrom(t, url, fmt.Sprintf("198.51.100.%d", i), "tess", "a wrong password"),
			"attempt %d", i+1)
	}
	require.Equal(t, http.StatusUnauthorized, loginFrom(t, url, "198.51.100.200", "other", "a wrong password"),
		"the 11th login of the peer, from a new forwarded address: not limited")
	require.Equal(t, http.StatusTooManyRequests, loginFrom(t, url, "198.51.100.201", "tess", "the right password"))
}
