package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/internal/testenv"
)

// TestMonitoring serves asynqmon at /monitoring to admins (and the admin token), read-only to
// operators, and to nobody else; its API lists the queues.
func TestMonitoring(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	submit(t, s, map[string]any{"type": "noop"})
	get := func(path, auth string) (*http.Response, []byte) { return call(t, http.MethodGet, s.URL+path, auth) }
	for _, auth := range []string{"", "Bearer wrong", "Basic " + basic("admin", "wrong")} {
		resp, body := get("/monitoring/", auth)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "%q: %s", auth, body)
		require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
		require.Contains(t, string(body), `"UNAUTHORIZED"`)
		resp, _ = get("/monitoring/api/queues", auth)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}

	resp, body := get("/monitoring/", "Bearer "+testenv.AdminToken)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(body), "<html")
	resp, body = get("/monitoring/api/queues", "Basic "+basic("admin", testenv.AdminToken))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	var queues struct {
		Queues []struct {
			Queue string `json:"queue"`
		} `json:"queues"`
	}
	require.NoError(t, json.Unmarshal(body, &queues), "%s", body)
	var names []string
	for _, q := range queues.Queues {
		names = append(names, q.Queue)
	}
	require.Contains(t, names, "default", "%s", body)

	operator, viewer := s.NewUser(t, "op", auth.RoleOperator), s.NewUser(t, "vi", auth.RoleViewer)
	resp, body = get("/monitoring/api/queues", "Basic "+basic("op", operator))
	require.Equal(t, http.StatusOK, resp.StatusCode, "operators see the queues: %s", body)
	resp, body = call(t, http.MethodPost, s.URL+"/monitoring/api/queues/default:pause", "Basic "+basic("op", operator))
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "but cannot pause them (asynqmon read-only): %s", body)
	resp, body = get("/monitoring/api/queues", "Basic "+basic("vi", viewer))
	require.Equal(t, http.StatusForbidden, resp.StatusCode, "viewers see nothing: %s", body)
	resp, body = call(t, http.MethodPost, s.URL+"/monitoring/api/queues/default:pause", "Basic "+basic("admin", s.AdminKey))
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "admins can: %s", body)
}

// call sends a request with an Authorization header and returns the response and its body.
func call(t *testing.T, method, url, authorization string) (*http.Response, []byte) {
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func basic(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")[len("Basic "):]
}

// TestMonitoringFailuresLimited: wrong credentials on /monitoring are limited per client
// address (the auth group's rate): past 10 a minute even the admin token waits.
func TestMonitoringFailuresLimited(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	for i := range 10 {
		resp, body := call(t, http.MethodGet, s.URL+"/monitoring/api/queues", "Basic "+basic("admin", fmt.Sprintf("guess-%d", i)))
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "guess %d: %s", i+1, body)
	}
	resp, body := call(t, http.MethodGet, s.URL+"/monitoring/api/queues", "Bearer "+testenv.AdminToken)
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "%s", body)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
}
