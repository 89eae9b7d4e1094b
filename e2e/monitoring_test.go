package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/internal/testenv"
)

// TestMonitoring serves asynqmon at /monitoring to the admin token only; its API lists the
// queues.
func TestMonitoring(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	submit(t, s, map[string]any{"type": "noop"})
	get := func(path, auth string) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, body
	}
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
}

func basic(user, pass string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(user, pass)
	return req.Header.Get("Authorization")[len("Basic "):]
}
