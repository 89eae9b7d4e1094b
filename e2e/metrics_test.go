package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// TestMetrics scans and hashes a local root, then reads /metrics: HTTP requests by route,
// jobs by type and status, tasks, bytes read per backend and asynq's queues.
func TestMetrics(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.bin"), make([]byte, 1<<20), 0o644))
	addLocalRoot(t, s, "disk", dir)
	// Counters are per process and the tests share one: compare before and after.
	jobsPosted := `filefleet_http_requests_total\{method="POST",route="/api/v1/jobs",status="202"\}`
	bytesRead := `filefleet_bytes_read_total\{backend="local"\}`
	hashTasks := `filefleet_tasks_total\{outcome="succeeded",type="hash:files"\}`
	text := scrape(t, s)
	before, readBefore, tasksBefore := metricValue(t, text, jobsPosted, true), metricValue(t, text, bytesRead, true),
		metricValue(t, text, hashTasks, true)
	job := submit(t, s, map[string]any{"type": "hash", "root": "disk"})
	require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, job.ID, time.Minute).Status)

	text = scrape(t, s)
	value := func(pattern string) float64 { return metricValue(t, text, pattern, false) }
	require.Equal(t, before+1, value(jobsPosted))
	require.EqualValues(t, 1, value(`filefleet_jobs\{status="succeeded",type="hash"\}`))
	require.Equal(t, tasksBefore+1, value(hashTasks))
	require.Equal(t, readBefore+1<<20, value(bytesRead))
	require.GreaterOrEqual(t, value(`filefleet_task_duration_seconds_count\{type="scan:dir"\}`), 1.0)
	require.Regexp(t, `(?m)^asynq_queue_size\{queue="default"\} `, text)

	// Every metric the Grafana dashboard plots exists.
	dash, err := os.ReadFile(filepath.Join("..", "deployments", "grafana", "filefleet.json"))
	require.NoError(t, err)
	names := regexp.MustCompile(`(filefleet|asynq)_[a-z_]+`).FindAllString(string(dash), -1)
	require.NotEmpty(t, names)
	for _, name := range names {
		require.Regexp(t, `(?m)^`+name+`[{ ]`, text, "the dashboard plots %s", name)
	}
}

// scrape reads /metrics, which needs no credentials.
func scrape(t *testing.T, s *testenv.Stack) string {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// metricValue returns the value of the series matching pattern; absent is 0 when allowed.
func metricValue(t *testing.T, text, pattern string, absentIsZero bool) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + pattern + ` ([0-9.e+]+)$`).FindStringSubmatch(text)
	if m == nil && absentIsZero {
		return 0
	}
	require.NotNil(t, m, "no %s in:\n%s", pattern, text)
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}
