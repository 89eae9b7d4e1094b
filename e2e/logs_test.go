package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// TestLogsCarryIDs: the JSON log lines of a task name its job and task; those of a request
// name the request id.
func TestLogsCarryIDs(t *testing.T) {
	var logs syncBuffer
	s := testenv.NewStack(t, testenv.StackOpts{Log: &logs, ScanPageSize: 5})
	localRoot(t, s, "media", treeSpec(30))
	job := submit(t, s, map[string]any{"type": "scan", "root": "media"})
	require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, job.ID, time.Minute).Status)
	r := s.Do(t, http.MethodGet, "/api/v1/jobs/"+job.ID, nil)
	reqID := r.Header.Get("X-Request-ID")
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), reqID) }, 5*time.Second, 10*time.Millisecond,
		"the access log line is written after the answer")

	tasks, requests := 0, 0
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "%s", sc.Text())
		switch msg, _ := line["msg"].(string); {
		case msg == "task succeeded" || msg == "scan task done":
			require.Equal(t, job.ID, line["job_id"], "%s", sc.Text())
			require.True(t, strings.HasPrefix(line["task_id"].(string), job.ID+":"), "%s", sc.Text())
			tasks++
		case msg == "http":
			require.NotEmpty(t, line["request_id"], "%s", sc.Text())
			if line["request_id"] == reqID {
				requests++
			}
		}
	}
	require.Greater(t, tasks, 6, "the scan's tasks logged with their ids")
	require.Equal(t, 1, requests, "the request's line carries its id")
}
