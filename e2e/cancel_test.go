package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// TestCancel cancels a queued scan: the job is canceled, its stream ends with job_canceled, its
// task is removed from the queue, and a second cancel is a 409.
func TestCancel(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true}) // nothing runs the task
	localRoot(t, s, "disk", treeSpec(10))
	job := submit(t, s, map[string]any{"type": "scan", "root": "disk"})
	info, err := s.Jobs.Inspector.GetQueueInfo("default")
	require.NoError(t, err)
	require.Equal(t, 1, info.Size)

	r := s.Do(t, http.MethodPost, "/api/v1/jobs/"+job.ID+"/cancel", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var canceled filefleet.Job
	r.Decode(t, &canceled)
	require.Equal(t, filefleet.JobStateCanceled, canceled.Status)

	evs := readEvents(t, s, job.ID, 0, 10*time.Second)
	require.Len(t, evs, 1)
	require.Equal(t, string(filefleet.EventJobCanceled), evs[0].Type)
	info, err = s.Jobs.Inspector.GetQueueInfo("default")
	require.NoError(t, err)
	require.Zero(t, info.Size, "the queued task was deleted")

	r = s.Do(t, http.MethodPost, "/api/v1/jobs/"+job.ID+"/cancel", nil)
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)

	r = s.Do(t, http.MethodGet, "/api/v1/jobs?status=canceled&type=scan", nil)
	require.Equal(t, http.StatusOK, r.Status)
	require.EqualValues(t, 1, r.Meta["total"])
}
