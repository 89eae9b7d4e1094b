package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/internal/testenv"
)

// TestRedisDown kills the stack's Redis: /ready says 503 and submissions fail fast with 503.
func TestRedisDown(t *testing.T) {
	redisURL, redisProc := testenv.RedisServer(t)
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true, RedisURL: redisURL})
	r := s.Do(t, http.MethodGet, "/ready", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Equal(t, http.StatusAccepted, s.Do(t, http.MethodPost, "/api/v1/jobs", `{"type":"noop"}`).Status)

	require.NoError(t, redisProc.Process.Kill())
	redisProc.Wait()

	r = s.Do(t, http.MethodGet, "/ready", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
	require.Equal(t, "SERVICE_UNAVAILABLE", r.Error.Code)
	require.Equal(t, "unavailable", r.Error.Details["redis"])
	require.Equal(t, "ok", r.Error.Details["postgres"])

	start := time.Now()
	r = s.Do(t, http.MethodPost, "/api/v1/jobs", `{"type":"noop"}`)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
	require.Equal(t, "SERVICE_UNAVAILABLE", r.Error.Code)
	require.Less(t, time.Since(start), 10*time.Second, "fails fast instead of hanging")
	var jobs int
	require.NoError(t, s.DB.Get(&jobs, `SELECT count(*) FROM jobs`))
	require.Equal(t, 1, jobs, "the job that could not be queued is not kept")
}

// TestPostgresDown cuts the API's PostgreSQL connection: /ready and submissions answer 503.
func TestPostgresDown(t *testing.T) {
	_, dbURL := testenv.DB(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	proxy := testenv.NewProxy(t, u.Host)
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true, DBURL: proxy.ProxyURL(dbURL)})
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodGet, "/ready", nil).Status)
	require.Equal(t, http.StatusAccepted, s.Do(t, http.MethodPost, "/api/v1/jobs", `{"type":"noop"}`).Status)

	proxy.Cut()

	r := s.Do(t, http.MethodGet, "/ready", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
	require.Equal(t, "unavailable", r.Error.Details["postgres"])
	require.Equal(t, "ok", r.Error.Details["redis"])

	for _, path := range []string{"/api/v1/jobs", "/api/v1/jobs/batch"} {
		body := `{"type":"noop"}`
		if path == "/api/v1/jobs/batch" {
			body = `{"jobs":[{"type":"noop"}]}`
		}
		start := time.Now()
		r = s.Do(t, http.MethodPost, path, body)
		require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s: %s", path, r.Raw)
		require.Equal(t, "SERVICE_UNAVAILABLE", r.Error.Code)
		require.Less(t, time.Since(start), 10*time.Second)
	}
	r = s.Do(t, http.MethodGet, "/api/v1/jobs", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
	queued, err := s.Jobs.Inspector.GetQueueInfo("default")
	require.NoError(t, err)
	require.Equal(t, 1, queued.Size, "only the job accepted before the cut is queued")
}
