package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
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

// TestBatchRedisFull submits a batch to a Redis that runs out of memory part way through
// queueing it: the API answers 503 and takes the batch back. No job of it is left pending or
// running, and once Redis has room again the tasks that did reach it find no job and do
// nothing.
func TestBatchRedisFull(t *testing.T) {
	redisURL, _ := testenv.RedisServer(t)
	s := testenv.NewStack(t, testenv.StackOpts{RedisURL: redisURL})
	ctx := context.Background()
	info, err := s.Redis.InfoMap(ctx, "memory").Result()
	require.NoError(t, err)
	used, err := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	require.NoError(t, err)
	require.NoError(t, s.Redis.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	require.NoError(t, s.Redis.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+2_000_000, 10)).Err())

	batch := make([]map[string]any, 8000)
	for i := range batch {
		batch[i] = map[string]any{"type": "noop"}
	}
	r := s.Do(t, http.MethodPost, "/api/v1/jobs/batch", map[string]any{"jobs": batch})
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s", r.Raw)
	require.Equal(t, "SERVICE_UNAVAILABLE", r.Error.Code)
	queued, err := s.Jobs.Inspector.GetQueueInfo("default")
	require.NoError(t, err)
	require.Positive(t, queued.Size, "part of the batch reached Redis before it was full")
	require.Less(t, queued.Size, len(batch))
	reached := queued.Size

	require.NoError(t, s.Redis.ConfigSet(ctx, "maxmemory", "0").Err())
	require.Eventually(t, func() bool {
		queued, err = s.Jobs.Inspector.GetQueueInfo("default")
		return err == nil && queued.Pending == 0 && queued.Active == 0 && queued.Retry == 0
	}, 30*time.Second, 100*time.Millisecond, "the worker drains the tasks that reached Redis")
	var left []struct {
		Status string `db:"status"`
		Error  string `db:"error"`
	}
	require.NoError(t, s.DB.Select(&left, `SELECT status, error FROM jobs`))
	for _, j := range left { // jobs a worker started before the batch failed
		require.Contains(t, []string{"succeeded", "canceled"}, j.Status, "no job of the batch waits or runs: %+v", j)
	}
	require.Equal(t, reached, queued.Completed, "every task that reached Redis completed, none failed: %+v", queued)
	t.Logf("%d of %d tasks reached Redis; %d jobs a worker had started are kept: %+v", reached, len(batch), len(left), left)
}
