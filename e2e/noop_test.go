package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/store"
)

// TestNoopBatch submits 500 noop jobs at once: every job succeeds once, with exactly one
// job_completed event (their completions are committed in groups).
func TestNoopBatch(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	jobs := make([]map[string]any, 500)
	for i := range jobs {
		jobs[i] = map[string]any{"type": "noop"}
	}
	r := s.Do(t, http.MethodPost, "/api/v1/jobs/batch", map[string]any{"jobs": jobs})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var batch struct {
		JobIDs []string `json:"job_ids"`
	}
	r.Decode(t, &batch)
	require.Len(t, batch.JobIDs, 500)

	evs := readEvents(t, s, batch.JobIDs[499], 0, time.Minute)
	require.Equal(t, filefleet.EventJobCompleted, evs[len(evs)-1].Event.Type)
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		require.NoError(t, s.DB.Get(&n, `SELECT count(*) FROM jobs WHERE status = 'succeeded'`))
		if n == 500 {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d of 500 jobs succeeded", n)
		time.Sleep(100 * time.Millisecond)
	}
	var completed, units int
	require.NoError(t, s.DB.Get(&completed, `SELECT count(DISTINCT job_id) FROM job_events WHERE type = 'job_completed'`))
	require.NoError(t, s.DB.Get(&units, `SELECT count(*) FROM job_events WHERE type = 'job_completed'`))
	require.Equal(t, 500, completed)
	require.Equal(t, 500, units, "one completion event per job")
	j := getJob(t, s, batch.JobIDs[0])
	require.Equal(t, filefleet.Progress{UnitsDone: 1, UnitsTotal: 1}, j.Progress)
}

// TestEventStreamCatchesUp ends a job in PostgreSQL without publishing its events on Redis,
// as when Redis restarts or fails over between the two: the job's event stream finds the
// stored events by itself and ends with the terminal one.
func TestEventStreamCatchesUp(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	job := submit(t, s, map[string]any{"type": "noop"})
	got := make(chan []sseEvent, 1)
	go func() { got <- readEvents(t, s, job.ID, 0, 20*time.Second) }()
	time.Sleep(500 * time.Millisecond) // the stream is live: nothing stored to replay yet
	ctx := t.Context()
	finished, err := store.FinishJob(ctx, s.DB, job.ID, filefleet.JobStateSucceeded, nil, "")
	require.NoError(t, err)
	require.True(t, finished)
	ev := filefleet.Event{JobID: job.ID, Type: filefleet.EventJobCompleted, Status: filefleet.JobStateSucceeded, Percent: 100}
	require.NoError(t, store.AddEvent(ctx, s.DB, &ev))
	select {
	case evs := <-got:
		require.NotEmpty(t, evs)
		last := evs[len(evs)-1]
		require.Equal(t, string(filefleet.EventJobCompleted), last.Type)
		require.Equal(t, ev.ID, last.ID)
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end")
	}
}
