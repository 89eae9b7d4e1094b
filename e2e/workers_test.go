package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/store"
)

// workerEnv makes worker processes split a scan into many small tasks and log each one.
var workerEnv = []string{"FILEFLEET_SCAN_PAGE_SIZE=10", "FILEFLEET_LOG_LEVEL=debug", "FILEFLEET_WORKER_CONCURRENCY=4"}

// localRoot writes spec under a temp dir and registers it as root name.
func localRoot(t *testing.T, s *testenv.Stack, name string, spec map[string]int64) {
	dir := t.TempDir()
	writeTree(t, dir, spec)
	addLocalRoot(t, s, name, dir)
}

// TestTwoWorkerProcessesShareAScan runs one large scan on two worker processes.
func TestTwoWorkerProcessesShareAScan(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	spec := treeSpec(3000)
	localRoot(t, s, "big", spec)
	w1 := s.StartWorker(t, workerEnv...)
	w2 := s.StartWorker(t, workerEnv...)
	waitReady(t, w1, w2)

	job := submit(t, s, map[string]any{"type": "scan", "root": "big"})
	done := waitJob(t, s, job.ID, 3*time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)
	require.Equal(t, spec, sizesOf(catalog(t, s, "big", false)))

	byWorker, err := store.UnitWorkers(t.Context(), s.DB, job.ID)
	require.NoError(t, err)
	require.Len(t, byWorker, 2, "both workers completed units: %v", byWorker)
	for _, w := range []*testenv.Process{w1, w2} {
		require.Contains(t, w.Output(), "job_id="+job.ID, "each worker logs task completions of the job")
	}
}

// scanKilledMidway starts a scan of a local root of files files (treeSpec) on a worker process
// and SIGKILLs the worker once units units are done, before the scan ends.
func scanKilledMidway(t *testing.T, files int, units int64) (*testenv.Stack, map[string]int64, filefleet.Job) {
	t.Helper()
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	spec := treeSpec(files)
	localRoot(t, s, "big", spec)
	w := s.StartWorker(t, workerEnv...)
	waitReady(t, w)
	job := submit(t, s, map[string]any{"type": "scan", "root": "big"})
	deadline := time.Now().Add(time.Minute)
	for {
		j := getJob(t, s, job.ID)
		require.False(t, j.Status.Terminal(), "the job finished before the worker could be killed")
		if j.Progress.UnitsDone >= units {
			break
		}
		require.True(t, time.Now().Before(deadline), "the scan made no progress")
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, w.Cmd.Process.Signal(syscall.SIGKILL))
	w.Cmd.Wait()
	return s, spec, job
}

// TestKilledWorkerRecovered SIGKILLs a worker mid-scan; a new worker finishes the job with the
// right catalog (asynq hands the lost tasks back once their lease expires).
func TestKilledWorkerRecovered(t *testing.T) {
	s, spec, job := scanKilledMidway(t, 6000, 20)
	mid := getJob(t, s, job.ID)
	require.Equal(t, filefleet.JobStateRunning, mid.Status)
	require.Less(t, mid.Progress.UnitsDone, mid.Progress.UnitsTotal, "killed mid-scan")
	t.Logf("killed worker at %d of %d units", mid.Progress.UnitsDone, mid.Progress.UnitsTotal)

	w2 := s.StartWorker(t, workerEnv...)
	waitReady(t, w2)
	done := waitJob(t, s, job.ID, 4*time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)
	require.EqualValues(t, len(spec), done.Progress.Files, "every file counted exactly once")
	require.Equal(t, spec, sizesOf(catalog(t, s, "big", false)))
	var rows int
	require.NoError(t, s.DB.Get(&rows, `SELECT count(*) FROM files`))
	require.Equal(t, len(spec), rows, "no duplicate catalog rows")
}

// TestLostTasksRequeued loses every task of Redis in the middle of a scan (the worker is
// SIGKILLed and the Redis database flushed, as a failover or a restart without persistence
// would) and submits a job whose enqueue is lost too: the scheduler queues the open units of
// the stalled scan and the pending job again, and both finish with the right catalog; asynq's
// list of queues is filled again.
func TestLostTasksRequeued(t *testing.T) {
	s, spec, job := scanKilledMidway(t, 3000, 10)
	require.NoError(t, s.Redis.FlushDB(t.Context()).Err())
	mid := getJob(t, s, job.ID)
	require.Less(t, mid.Progress.UnitsDone, mid.Progress.UnitsTotal, "lost mid-scan")
	lost := submit(t, s, map[string]any{"type": "noop"})
	require.NoError(t, s.Redis.FlushDB(t.Context()).Err())

	w2 := s.StartWorker(t, workerEnv...)
	sched := s.StartScheduler(t, "FILEFLEET_REQUEUE_AFTER=2s")
	waitReady(t, w2)
	for _, id := range []string{job.ID, lost.ID} {
		done := waitJob(t, s, id, time.Minute)
		require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)
	}
	require.Equal(t, spec, sizesOf(catalog(t, s, "big", false)))
	require.Contains(t, sched.Output(), "re-enqueued lost tasks of stalled jobs")
	require.Contains(t, sched.Output(), "re-enqueued pending jobs")
	// asynq's list of queues (the dashboard's) was lost too; the scheduler fills it again.
	queues, err := s.Redis.SMembers(t.Context(), "asynq:queues").Result()
	require.NoError(t, err)
	require.Subset(t, queues, []string{"critical", "default", "low", "convert"})
}

// TestWorkerSIGTERMHandsBack stops a worker with SIGTERM mid-scan: it exits within its
// shutdown timeout, and the next worker finishes the job without waiting for a lease to expire.
func TestWorkerSIGTERMHandsBack(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	spec := treeSpec(6000)
	localRoot(t, s, "big", spec)
	w1 := s.StartWorker(t, workerEnv...)
	waitReady(t, w1)
	job := submit(t, s, map[string]any{"type": "scan", "root": "big"})
	for getJob(t, s, job.ID).Progress.UnitsDone < 20 {
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, w1.Cmd.Process.Signal(syscall.SIGTERM))
	exited := make(chan error, 1)
	go func() { exited <- w1.Cmd.Wait() }()
	select {
	case err := <-exited:
		require.NoError(t, err, "clean exit: %s", w1.Output())
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop within 30 s of SIGTERM")
	}
	require.Contains(t, w1.Output(), "worker stopped")
	if j := getJob(t, s, job.ID); j.Status.Terminal() {
		t.Fatalf("the scan finished before SIGTERM took effect: %+v", j.Progress)
	}

	start := time.Now()
	w2 := s.StartWorker(t, workerEnv...)
	waitReady(t, w2)
	done := waitJob(t, s, job.ID, 30*time.Second)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)
	require.Equal(t, spec, sizesOf(catalog(t, s, "big", false)))
	t.Logf("second worker finished the job in %s", time.Since(start))
}

// waitReady waits until each worker process has said it started.
func waitReady(t *testing.T, ps ...*testenv.Process) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range ps {
		for !strings.Contains(p.Output(), "worker started") {
			require.True(t, time.Now().Before(deadline), "worker did not start: %s", p.Output())
			time.Sleep(50 * time.Millisecond)
		}
	}
}
