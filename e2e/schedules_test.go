package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/scheduler"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// TestScheduleTwoSchedulers runs a schedule every two seconds with two schedulers: each tick
// becomes exactly one job, which runs; disabling the schedule stops it.
func TestScheduleTwoSchedulers(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	r := s.Do(t, http.MethodPost, "/api/v1/schedules", map[string]any{"name": "tick", "cron": "*/2 * * * * *",
		"timezone": "Europe/Paris", "job": map[string]any{"type": "noop"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var sc filefleet.Schedule
	r.Decode(t, &sc)
	require.NotNil(t, sc.NextRunAt)
	require.WithinDuration(t, time.Now(), *sc.NextRunAt, 3*time.Second)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		sch := scheduler.New(s.DB, s.Jobs, log, scheduler.Config{ReloadEvery: 500 * time.Millisecond})
		require.NoError(t, sch.Start(context.Background()))
		t.Cleanup(func() { sch.Stop(context.Background()) })
	}
	deadline := time.Now().Add(20 * time.Second)
	var created []time.Time
	for len(created) < 4 {
		require.True(t, time.Now().Before(deadline), "only %d scheduled jobs", len(created))
		time.Sleep(200 * time.Millisecond)
		created = nil
		require.NoError(t, s.DB.Select(&created, `SELECT created_at FROM jobs WHERE schedule_id = $1 ORDER BY created_at`, sc.ID))
	}
	sort.Slice(created, func(i, j int) bool { return created[i].Before(created[j]) })
	for i := 1; i < len(created); i++ {
		require.Greater(t, created[i].Sub(created[i-1]), time.Second, "two jobs for one tick: %v", created)
	}

	r = s.Do(t, http.MethodGet, "/api/v1/schedules/"+sc.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r.Decode(t, &sc)
	require.NotNil(t, sc.LastRunAt)
	require.NotNil(t, sc.LastJobID)
	job := waitJob(t, s, *sc.LastJobID, 30*time.Second)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, "the scheduled job ran")

	// Disabled: no more ticks (after the schedulers reload).
	r = s.Do(t, http.MethodPatch, "/api/v1/schedules/"+sc.ID, map[string]any{"enabled": false})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	time.Sleep(time.Second)
	var before, after int
	require.NoError(t, s.DB.Get(&before, `SELECT count(*) FROM jobs WHERE schedule_id = $1`, sc.ID))
	time.Sleep(4 * time.Second)
	require.NoError(t, s.DB.Get(&after, `SELECT count(*) FROM jobs WHERE schedule_id = $1`, sc.ID))
	require.Equal(t, before, after, "a disabled schedule does not fire")

	r = s.Do(t, http.MethodGet, "/api/v1/schedules", nil)
	require.Equal(t, http.StatusOK, r.Status)
	r = s.Do(t, http.MethodDelete, "/api/v1/schedules/"+sc.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Equal(t, http.StatusNotFound, s.Do(t, http.MethodGet, "/api/v1/schedules/"+sc.ID, nil).Status)
}

// TestScheduleBadInput checks the schedule endpoints' errors.
func TestScheduleBadInput(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	noop := map[string]any{"type": "noop"}
	cases := []struct {
		body   any
		status int
	}{
		{map[string]any{"name": "x", "cron": "every minute", "job": noop}, 400},
		{map[string]any{"name": "x", "cron": "61 * * * *", "job": noop}, 400},
		{map[string]any{"name": "x", "cron": "0 0 31 2 *", "job": noop}, 400}, // never fires
		{map[string]any{"name": "x", "cron": "* * * * *", "timezone": "Mars/Olympus", "job": noop}, 400},
		{map[string]any{"name": "x", "cron": "* * * * *", "timezone": "Local", "job": noop}, 400},
		{map[string]any{"name": "x", "cron": "* * * * *"}, 400},
		{map[string]any{"name": "x", "cron": "* * * * *", "job": map[string]any{"type": "explode"}}, 400},
		{map[string]any{"name": "x", "cron": "* * * * *", "job": map[string]any{"type": "scan", "root": "nope"}}, 422},
		{map[string]any{"name": "x", "cron": "* * * * *", "job": map[string]any{"type": "noop", "extra": 1}}, 400},
		{map[string]any{"cron": "* * * * *", "job": noop}, 400},
		{`{"name":`, 400},
	}
	for _, tc := range cases {
		r := s.Do(t, http.MethodPost, "/api/v1/schedules", tc.body)
		require.Equal(t, tc.status, r.Status, "%v: %s", tc.body, r.Raw)
		require.NotNil(t, r.Error, "%s", r.Raw)
		require.NotEmpty(t, r.Error.Message)
	}
	r := s.Do(t, http.MethodPost, "/api/v1/schedules", map[string]any{"name": "daily", "cron": "@daily", "job": noop})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var daily filefleet.Schedule
	r.Decode(t, &daily)
	r = s.Do(t, http.MethodPost, "/api/v1/schedules", map[string]any{"name": "daily", "cron": "@daily", "job": noop})
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	r = s.Do(t, http.MethodPatch, "/api/v1/schedules/"+daily.ID, map[string]any{"cron": "0 0 30 2 *"})
	require.Equal(t, http.StatusBadRequest, r.Status, "a PATCH to a cron that never fires: %s", r.Raw)
	require.Equal(t, http.StatusBadRequest, s.Do(t, http.MethodGet, "/api/v1/schedules/nope", nil).Status)
	require.Equal(t, http.StatusNotFound, s.Do(t, http.MethodPatch, "/api/v1/schedules/7b0c8f2e-4a1d-4c7e-9a55-0b8e2d1f3c4a",
		map[string]any{"enabled": false}).Status)
}

// TestJobRetention runs the scheduler's sweep with a retention of one hour: a finished job
// made to look two hours old disappears from the API with its events, a recent one stays.
func TestJobRetention(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	old, recent := submit(t, s, map[string]any{"type": "noop"}), submit(t, s, map[string]any{"type": "noop"})
	for _, id := range []string{old.ID, recent.ID} {
		require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, id, 30*time.Second).Status)
	}
	_, err := s.DB.Exec(`UPDATE jobs SET created_at = now() - interval '2 hours',
		finished_at = now() - interval '2 hours' WHERE id = $1`, old.ID)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodGet, "/api/v1/jobs/"+old.ID, nil).Status)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sch := scheduler.New(s.DB, s.Jobs, log, scheduler.Config{PendingAfter: 2 * time.Second, JobRetention: time.Hour})
	require.NoError(t, sch.Start(context.Background()))
	t.Cleanup(func() { sch.Stop(context.Background()) })
	require.Eventually(t, func() bool {
		return s.Do(t, http.MethodGet, "/api/v1/jobs/"+old.ID, nil).Status == http.StatusNotFound
	}, 15*time.Second, 200*time.Millisecond, "the sweep deletes the job that finished two hours ago")
	var events int
	require.NoError(t, s.DB.Get(&events, `SELECT count(*) FROM job_events WHERE job_id = $1`, old.ID))
	require.Zero(t, events, "its events went with it")
	r := s.Do(t, http.MethodGet, "/api/v1/jobs/"+recent.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "a job that finished just now stays: %s", r.Raw)
}

// TestScheduleNeverFires puts a schedule whose cron never fires (31 February) in the database
// beside one that fires every second: the scheduler skips the first, runs the second and stops
// promptly.
func TestScheduleNeverFires(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	ctx := context.Background()
	job := []byte(`{"type":"noop"}`)
	for _, sc := range []*filefleet.Schedule{
		{ID: uuid.NewString(), Name: "never", Cron: "0 0 31 2 *", Timezone: "UTC", Job: job, Enabled: true},
		{ID: uuid.NewString(), Name: "tick", Cron: "* * * * * *", Timezone: "UTC", Job: job, Enabled: true},
	} {
		require.NoError(t, store.CreateSchedule(ctx, s.DB, sc))
	}
	r := s.Do(t, http.MethodGet, "/api/v1/schedules", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var list []filefleet.Schedule
	r.Decode(t, &list)
	require.Len(t, list, 2)
	require.Nil(t, list[0].NextRunAt, "%s has no next run", list[0].Name)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sch := scheduler.New(s.DB, s.Jobs, log, scheduler.Config{ReloadEvery: 500 * time.Millisecond})
	require.NoError(t, sch.Start(ctx))
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, s.DB.Get(&n, `SELECT count(*) FROM jobs`))
		return n >= 2
	}, 10*time.Second, 200*time.Millisecond, "the schedule beside it fires")
	stopped := make(chan struct{})
	go func() {
		sch.Stop(ctx)
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the scheduler did not stop within 5s")
	}
}

// TestStalledJobWithArchivedTaskFails: a running job whose task asynq archived without
// telling the worker's error handler (its last attempt's worker died, so the lease ran out)
// can never finish; the sweep finds the archived task and fails the job instead of leaving
// it running forever.
func TestStalledJobWithArchivedTaskFails(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	localRoot(t, s, "media", treeSpec(10))
	job := submit(t, s, map[string]any{"type": "scan", "root": "media"})
	ctx := context.Background()
	require.NoError(t, store.StartJob(ctx, s.DB, job.ID))
	_, err := s.DB.Exec(`UPDATE jobs SET started_at = now() - interval '1 hour' WHERE id = $1`, job.ID)
	require.NoError(t, err)
	require.NoError(t, s.Jobs.Inspector.ArchiveTask("default", tasks.TaskID(job.ID, tasks.UnitRoot)))

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sch := scheduler.New(s.DB, s.Jobs, log, scheduler.Config{PendingAfter: 2 * time.Second})
	require.NoError(t, sch.Start(ctx))
	t.Cleanup(func() { sch.Stop(context.Background()) })
	require.Eventually(t, func() bool { return getJob(t, s, job.ID).Status.Terminal() }, 15*time.Second, 200*time.Millisecond,
		"the sweep ends the job")
	done := getJob(t, s, job.ID)
	require.Equal(t, filefleet.JobStateFailed, done.Status)
	require.Contains(t, done.Error, "failed for good")
}

// TestScheduleJobNeedsSubmit: schedules.manage alone cannot set a schedule's job (it would
// submit jobs); with jobs.submit too it can, and without it other fields still change.
func TestScheduleJobNeedsSubmit(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	for name, perms := range map[string][]string{"planner": {"schedules.view", "schedules.manage"},
		"runner": {"schedules.view", "schedules.manage", "jobs.submit"}} {
		r := s.Do(t, http.MethodPost, "/api/v1/roles", map[string]any{"name": name, "permissions": perms})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	}
	planner, runner := s.NewUser(t, "pat", "planner"), s.NewUser(t, "rui", "runner")
	body := map[string]any{"name": "nightly", "cron": "0 3 * * *", "job": map[string]any{"type": "noop"}}
	r := s.DoAs(t, planner, http.MethodPost, "/api/v1/schedules", body)
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Raw)
	require.Contains(t, r.Error.Message, "jobs.submit")
	r = s.DoAs(t, runner, http.MethodPost, "/api/v1/schedules", body)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var sc filefleet.Schedule
	r.Decode(t, &sc)
	r = s.DoAs(t, planner, http.MethodPatch, "/api/v1/schedules/"+sc.ID, map[string]any{"job": map[string]any{"type": "noop"}})
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Raw)
	r = s.DoAs(t, planner, http.MethodPatch, "/api/v1/schedules/"+sc.ID, map[string]any{"cron": "0 4 * * *"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
}

// createSchedule creates a schedule through the API.
func createSchedule(t *testing.T, s *testenv.Stack, body map[string]any) filefleet.Schedule {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/schedules", body)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var sc filefleet.Schedule
	r.Decode(t, &sc)
	return sc
}

// startScheduler starts a scheduler logging to log (nil: nowhere) until the test ends.
func startScheduler(t *testing.T, s *testenv.Stack, log *slog.Logger, cfg scheduler.Config) {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sch := scheduler.New(s.DB, s.Jobs, log, cfg)
	require.NoError(t, sch.Start(context.Background()))
	t.Cleanup(func() { sch.Stop(context.Background()) })
}

// scheduledJobs counts the jobs of schedule id created at since or later.
func scheduledJobs(t *testing.T, s *testenv.Stack, id string, since time.Time) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB.Get(&n, `SELECT count(*) FROM jobs WHERE schedule_id = $1 AND created_at >= $2`, id, since))
	return n
}

// TestScheduleRunsTickMissedByRestart starts a scheduler half a second after a tick: it runs
// that tick (within LateLimit) for the schedule created before it, not for the one created
// after it.
func TestScheduleRunsTickMissedByRestart(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	noop := map[string]any{"type": "noop"}
	before := createSchedule(t, s, map[string]any{"name": "before", "cron": "*/10 * * * * *", "job": noop})
	tick := *scheduler.Next(&before, time.Now())
	time.Sleep(time.Until(tick) + 200*time.Millisecond)
	after := createSchedule(t, s, map[string]any{"name": "after", "cron": "*/10 * * * * *", "job": noop})
	time.Sleep(time.Until(tick) + 500*time.Millisecond)

	startScheduler(t, s, nil, scheduler.Config{})
	time.Sleep(3 * time.Second)
	require.Equal(t, 1, scheduledJobs(t, s, before.ID, time.Time{}), "the tick of %s, missed by 0.5 s, runs", tick)
	require.Zero(t, scheduledJobs(t, s, after.ID, time.Time{}), "a schedule created after the tick does not run it")
}

// TestScheduleCreatedJustBeforeTick creates a schedule 0.3 s before a tick that a running
// scheduler reloads after: the reload runs the tick.
func TestScheduleCreatedJustBeforeTick(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	every10s := filefleet.Schedule{Cron: "*/10 * * * * *"}
	t0 := *scheduler.Next(&every10s, time.Now())
	time.Sleep(time.Until(t0) + 100*time.Millisecond)
	startScheduler(t, s, nil, scheduler.Config{ReloadEvery: 4 * time.Second}) // reloads about t0+4, +8, +12

	t1 := t0.Add(10 * time.Second)
	time.Sleep(time.Until(t1) - 300*time.Millisecond)
	sc := createSchedule(t, s, map[string]any{"name": "p", "cron": every10s.Cron, "job": map[string]any{"type": "noop"}})
	time.Sleep(time.Until(t1) + 4*time.Second)
	require.Equal(t, 1, scheduledJobs(t, s, sc.ID, time.Time{}), "the tick of %s, 0.3 s after the schedule's creation, runs", t1)
}

// TestScheduleJobConflict schedules an archive without overwrite every 2 s: once the first
// has written the target, the next ticks conflict with it. That is a failure of the schedule,
// not a tick another scheduler submitted: the last run stays the job that exists, and the
// schedule shows the error until a run succeeds (with overwrite set).
func TestScheduleJobConflict(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	localRoot(t, s, "docs", map[string]int64{"src/a.txt": 5})
	sc := createSchedule(t, s, map[string]any{"name": "nightly-archive", "cron": "*/2 * * * * *", "job": map[string]any{
		"type": "archive", "archive": map[string]any{"root": "docs", "prefix": "src", "format": "zip", "target_path": "archives/nightly.zip"}}})
	startScheduler(t, s, nil, scheduler.Config{ReloadEvery: 500 * time.Millisecond})
	require.Eventually(t, func() bool {
		var ok int
		require.NoError(t, s.DB.Get(&ok, `SELECT count(*) FROM jobs WHERE schedule_id = $1 AND status = 'succeeded'`, sc.ID))
		return ok > 0
	}, 20*time.Second, 200*time.Millisecond, "the first archive is written")
	time.Sleep(4500 * time.Millisecond) // two more ticks, which conflict with the archive

	r := s.Do(t, http.MethodGet, "/api/v1/schedules/"+sc.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r.Decode(t, &sc)
	require.NotNil(t, sc.LastJobID)
	r = s.Do(t, http.MethodGet, "/api/v1/jobs/"+*sc.LastJobID, nil)
	require.Equal(t, http.StatusOK, r.Status, "the last job of the schedule exists: %s", r.Raw)
	require.Contains(t, sc.LastError, "destination file already exists")
	require.NotNil(t, sc.LastErrorAt)

	r = s.Do(t, http.MethodPatch, "/api/v1/schedules/"+sc.ID, map[string]any{"job": map[string]any{"type": "archive",
		"archive": map[string]any{"root": "docs", "prefix": "src", "format": "zip", "target_path": "archives/nightly.zip", "overwrite": true}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Eventually(t, func() bool {
		r = s.Do(t, http.MethodGet, "/api/v1/schedules/"+sc.ID, nil)
		var now filefleet.Schedule
		r.Decode(t, &now)
		return now.LastError == "" && now.LastErrorAt == nil
	}, 10*time.Second, 200*time.Millisecond, "a run clears the error: %s", r.Raw)
}

// TestScheduleRetriesPassingFailure fires a tick while the scheduler cannot reach Redis: the
// tick is tried again every RetryEvery, not in a loop, and runs once Redis is back.
func TestScheduleRetriesPassingFailure(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	opts, err := redis.ParseURL(s.RedisURL)
	require.NoError(t, err)
	var down atomic.Bool
	down.Store(true)
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if down.Load() {
			return nil, errors.New("test: Redis is down")
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	js := *s.Jobs
	js.Redis, js.Queue = rdb, asynq.NewClientFromRedisClient(rdb)

	sc := createSchedule(t, s, map[string]any{"name": "r", "cron": "*/10 * * * * *", "job": map[string]any{"type": "noop"}})
	tick := *scheduler.Next(&sc, time.Now())
	var logs syncBuffer
	sch := scheduler.New(s.DB, &js, slog.New(slog.NewTextHandler(&logs, nil)), scheduler.Config{RetryEvery: time.Second})
	require.NoError(t, sch.Start(context.Background()))
	t.Cleanup(func() { sch.Stop(context.Background()) })
	time.Sleep(time.Until(tick) + 2500*time.Millisecond)
	down.Store(false)
	require.Eventually(t, func() bool { return scheduledJobs(t, s, sc.ID, time.Time{}) == 1 }, 5*time.Second, 100*time.Millisecond,
		"the tick of %s runs once Redis is back", tick)
	attempts := strings.Count(logs.String(), "scheduled job not submitted")
	require.True(t, attempts >= 2 && attempts <= 5, "a failed try a second, not a loop: %d\n%s", attempts, logs.String())
}

// TestScheduleOfDeletedRoot: a schedule whose root was deleted can still be paused and
// renamed; enabling it again, or setting a job that does not validate, is refused with a hint.
func TestScheduleOfDeletedRoot(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	localRoot(t, s, "gone", map[string]int64{"a.txt": 1})
	sc := createSchedule(t, s, map[string]any{"name": "scan-gone", "cron": "0 3 * * *", "job": map[string]any{"type": "scan", "root": "gone"}})
	r := s.Do(t, http.MethodDelete, "/api/v1/roots/gone", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)

	path := "/api/v1/schedules/" + sc.ID
	for _, body := range []map[string]any{{"enabled": false}, {"name": "scan-gone-paused"}} {
		r = s.Do(t, http.MethodPatch, path, body)
		require.Equal(t, http.StatusOK, r.Status, "%v: %s", body, r.Raw)
	}
	for _, body := range []map[string]any{{"enabled": true}, {"job": map[string]any{"type": "scan", "root": "gone"}}} {
		r = s.Do(t, http.MethodPatch, path, body)
		require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%v: %s", body, r.Raw)
		require.Contains(t, r.Error.Message, "or disable or delete the schedule")
	}
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodDelete, path, nil).Status)
}

// TestScheduleConcurrentPatches: PATCHes of different fields of one schedule, sent at once,
// all take effect; none overwrites another with the schedule it read before.
func TestScheduleConcurrentPatches(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	for round := range 8 {
		sc := createSchedule(t, s, map[string]any{"name": fmt.Sprint("p", round), "cron": "0 3 * * *",
			"job": map[string]any{"type": "noop"}})
		patches := []map[string]any{{"enabled": false}, {"cron": "0 5 * * *"}, {"timezone": "Europe/Paris"},
			{"name": fmt.Sprint("renamed", round)}, {"job": map[string]any{"type": "noop", "root": ""}}}
		var wg sync.WaitGroup
		for _, p := range patches {
			wg.Go(func() {
				r := s.Do(t, http.MethodPatch, "/api/v1/schedules/"+sc.ID, p)
				require.Equal(t, http.StatusOK, r.Status, "%v: %s", p, r.Raw)
			})
		}
		wg.Wait()
		r := s.Do(t, http.MethodGet, "/api/v1/schedules/"+sc.ID, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
		var got filefleet.Schedule
		r.Decode(t, &got)
		require.False(t, got.Enabled, "round %d: %+v", round, got)
		require.Equal(t, "0 5 * * *", got.Cron, "round %d", round)
		require.Equal(t, "Europe/Paris", got.Timezone, "round %d", round)
		require.Equal(t, fmt.Sprint("renamed", round), got.Name, "round %d", round)
		require.JSONEq(t, `{"type": "noop", "root": ""}`, string(got.Job), "round %d", round)
	}
}
