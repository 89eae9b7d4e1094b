package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/store"
)

// TestCompleteUnitOnce completes 50 units from 50 goroutines, each twice: every unit counts
// once and exactly one completion is the last.
func TestCompleteUnitOnce(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	id := uuid.NewString()
	require.NoError(t, store.CreateJobs(ctx, db, []store.NewJob{{ID: id, Type: filefleet.JobTypeNoop, Unit: "u0"}}))
	units := make([]string, 50)
	for i := range units {
		units[i] = fmt.Sprintf("u%d", i)
	}
	require.NoError(t, store.AddUnitTasks(ctx, db, id, unitTasks(units...)))
	require.NoError(t, store.AddUnitTasks(ctx, db, id, unitTasks(units...)), "adding again changes nothing")

	var mu sync.Mutex
	lasts, completions := 0, 0
	var wg sync.WaitGroup
	for _, u := range append(units, units...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := store.InTx(ctx, db, func(tx *sqlx.Tx) error {
				res, err := store.CompleteUnit(ctx, tx, id, u, "w", 1, 10)
				mu.Lock()
				defer mu.Unlock()
				if res.Completed {
					completions++
				}
				if res.Last {
					lasts++
				}
				return err
			})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Equal(t, 50, completions)
	require.Equal(t, 1, lasts)
	job, err := store.GetJob(ctx, db, id)
	require.NoError(t, err)
	require.Equal(t, filefleet.Progress{UnitsDone: 50, UnitsTotal: 50, Files: 50, Bytes: 500}, job.Progress)
}

// TestMigrateTwice applies migrations again (as a second process would): nothing changes.
func TestMigrateTwice(t *testing.T) {
	db, _ := testenv.DB(t)
	require.NoError(t, store.Migrate(context.Background(), db))
	var versions []string
	require.NoError(t, db.Select(&versions, `SELECT version FROM schema_migrations ORDER BY version`))
	files, err := os.ReadDir("migrations")
	require.NoError(t, err)
	var want []string
	for _, f := range files {
		want = append(want, strings.TrimSuffix(f.Name(), ".sql"))
	}
	require.GreaterOrEqual(t, len(want), 8)
	require.Equal(t, want, versions, "each migration applied once")
}

// TestCompleteAndFinish completes units of two jobs in batches, with repeats: each unit counts
// once, a job succeeds with one job_completed event when its last unit completes, and a
// finished job stays as it is.
func TestCompleteAndFinish(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	a, b, c := uuid.NewString(), uuid.NewString(), uuid.NewString()
	require.NoError(t, store.CreateJobs(ctx, db, []store.NewJob{{ID: a, Type: filefleet.JobTypeNoop, Unit: "u0"},
		{ID: b, Type: filefleet.JobTypeNoop, Unit: "u0"}, {ID: c, Type: filefleet.JobTypeNoop, Unit: "u0"}}))
	require.NoError(t, store.AddUnitTasks(ctx, db, a, unitTasks("u1", "u2")))
	_, err := store.FinishJob(ctx, db, c, filefleet.JobStateCanceled, nil, "canceled")
	require.NoError(t, err)

	res, err := store.CompleteAndFinish(ctx, db, "w", []store.UnitRef{{a, "u0"}, {a, "u1"}, {b, "u0"}, {a, "u0"}, {c, "u0"}})
	require.NoError(t, err)
	require.True(t, res[0].Completed && res[1].Completed && res[2].Completed && res[4].Completed)
	require.False(t, res[3].Completed, "a repeat in the batch counts once")
	require.Nil(t, res[0].Event, "job a has a third unit")
	require.Nil(t, res[4].Event, "a canceled job does not succeed")
	require.NotNil(t, res[2].Event)
	require.Equal(t, filefleet.EventJobCompleted, res[2].Event.Type)
	require.Equal(t, filefleet.Progress{UnitsDone: 1, UnitsTotal: 1}, res[2].Event.Progress)

	res, err = store.CompleteAndFinish(ctx, db, "w", []store.UnitRef{{a, "u1"}, {a, "u2"}})
	require.NoError(t, err)
	require.False(t, res[0].Completed, "done in an earlier batch")
	require.True(t, res[1].Completed)
	require.NotNil(t, res[1].Event)
	require.Equal(t, filefleet.Progress{UnitsDone: 3, UnitsTotal: 3}, res[1].Event.Progress)

	var kept int
	require.NoError(t, db.GetContext(ctx, &kept, `SELECT count(*) FROM job_units WHERE job_id = ANY($1) AND done AND payload IS NOT NULL`,
		pq.Array([]string{a, b, c})))
	require.Zero(t, kept, "a done unit keeps no payload")

	for id, want := range map[string]filefleet.JobState{a: filefleet.JobStateSucceeded, b: filefleet.JobStateSucceeded,
		c: filefleet.JobStateCanceled} {
		job, err := store.GetJob(ctx, db, id)
		require.NoError(t, err)
		require.Equal(t, want, job.Status)
	}
	evs, err := store.ListEvents(ctx, db, a, 0, 10)
	require.NoError(t, err)
	require.Len(t, evs, 1, "one completion event")
	require.Equal(t, res[1].Event.ID, evs[0].ID)
	require.Equal(t, filefleet.JobStateSucceeded, evs[0].Status)
}

// noopJob records a pending noop job with its first unit and more units, and returns its id.
func noopJob(t *testing.T, db *sqlx.DB, first string, more ...string) string {
	t.Helper()
	id := uuid.NewString()
	require.NoError(t, store.CreateJobs(context.Background(), db, []store.NewJob{{ID: id, Type: filefleet.JobTypeNoop, Unit: first}}))
	if len(more) > 0 {
		require.NoError(t, store.AddUnitTasks(context.Background(), db, id, unitTasks(more...)))
	}
	return id
}

// unitTasks returns units with a noop task each.
func unitTasks(units ...string) []store.UnitTask {
	out := make([]store.UnitTask, len(units))
	for i, u := range units {
		out[i] = store.UnitTask{Unit: u, Type: "noop:run", Payload: []byte(`{}`)}
	}
	return out
}

// TestAddCountersConcurrently adds the same new counters from concurrent transactions, as the
// first batch tasks of a stage do: none deadlocks, and every addition counts.
func TestAddCountersConcurrently(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	counters := map[string]int64{}
	for i := range 8 {
		counters[fmt.Sprintf("c%d", i)] = 1
	}
	const rounds, writers = 20, 6
	for range rounds {
		id := noopJob(t, db, "u0")
		start := make(chan struct{})
		errs := make(chan error, writers)
		for range writers {
			go func() {
				<-start
				errs <- store.InTx(ctx, db, func(tx *sqlx.Tx) error {
					if err := store.AddCounters(ctx, tx, id, counters); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `SELECT pg_sleep(0.005)`) // hold the row locks a while
					return err
				})
			}()
		}
		close(start)
		for range writers {
			require.NoError(t, <-errs)
		}
		got, err := store.Counters(ctx, db, id)
		require.NoError(t, err)
		for name := range counters {
			require.Equal(t, int64(writers), got[name], name)
		}
	}
}

// TestCompleteAndFinishConcurrently completes the units of ten jobs from four group
// committers at once (as four worker processes do), each batch spanning the jobs in a random
// order: no statement deadlocks, every unit counts once and each job gets one completion.
func TestCompleteAndFinishConcurrently(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	const jobs, unitsPerJob, committers, batch = 10, 100, 4, 40
	units := make([]string, unitsPerJob)
	for i := range units {
		units[i] = fmt.Sprintf("u%d", i)
	}
	var refs []store.UnitRef
	for range jobs {
		id := noopJob(t, db, "u0", units...)
		for _, u := range units {
			refs = append(refs, store.UnitRef{JobID: id, Unit: u})
		}
	}
	rand.Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
	var mu sync.Mutex
	completed, events := map[store.UnitRef]int{}, map[string]int{}
	errs := make(chan error, committers)
	for c := range committers {
		go func() {
			var err error
			for lo := c * batch; lo < len(refs) && err == nil; lo += committers * batch {
				part := refs[lo:min(lo+batch, len(refs))]
				var res []store.Finished
				res, err = store.CompleteAndFinish(ctx, db, fmt.Sprintf("w%d", c), part)
				mu.Lock()
				for i, r := range res {
					if r.Completed {
						completed[part[i]]++
					}
					if r.Event != nil {
						events[part[i].JobID]++
					}
				}
				mu.Unlock()
			}
			errs <- err
		}()
	}
	for range committers {
		require.NoError(t, <-errs)
	}
	require.Len(t, completed, len(refs))
	for ref, n := range completed {
		require.Equal(t, 1, n, ref)
	}
	require.Len(t, events, jobs)
	for id, n := range events {
		require.Equal(t, 1, n, id)
		job, err := store.GetJob(ctx, db, id)
		require.NoError(t, err)
		require.Equal(t, filefleet.JobStateSucceeded, job.Status)
		require.Equal(t, int64(unitsPerJob), job.Progress.UnitsDone)
	}
}

// TestScopes checks which files a scope covers: all of a root, or exactly the files below a
// directory, not those of siblings whose names extend the directory's ("a-b", "a0", "ab").
func TestScopes(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	root := &filefleet.Root{Name: "disk", Kind: filefleet.RootKindLocal, Path: "/x"}
	require.NoError(t, store.CreateRoot(ctx, db, nil, root))
	paths := []string{"a.txt", "a/x", "a/b/y", "a-b/z", "a0/w", "ab/v", "b/a/u", "a/ü/é"}
	var files []store.ScannedFile
	for _, p := range paths {
		files = append(files, store.ScannedFile{Path: p, Size: 10, ModTime: time.Unix(1e9, 0)})
	}
	require.NoError(t, store.UpsertFiles(ctx, db, root.ID, 1, files))
	for prefix, want := range map[string][]string{
		"":    {"a-b/z", "a.txt", "a/b/y", "a/x", "a/ü/é", "a0/w", "ab/v", "b/a/u"},
		"a":   {"a/b/y", "a/x", "a/ü/é"},
		"a/b": {"a/b/y"},
		"a/ü": {"a/ü/é"},
		"b":   {"b/a/u"},
		"c":   nil,
	} {
		targets, err := store.HashTargets(ctx, db, []store.Scope{{RootID: root.ID, Root: "disk", Prefix: prefix}}, store.StageAll, nil)
		require.NoError(t, err)
		var got []string
		for _, tg := range targets {
			got = append(got, tg.Path)
		}
		require.Equal(t, want, got, "prefix %q", prefix)
	}
}

// TestGroupCommitsLockJobsInOrder runs two group commits at once over different sets of jobs
// while a third transaction holds one job they share, as a task completing its own unit
// does: the two must lock the jobs they share in the same order, or they deadlock once the
// holder lets go.
func TestGroupCommitsLockJobsInOrder(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	const jobs, rounds = 12, 30
	ids := make([]string, jobs)
	units := make([]string, 2*rounds)
	for i := range units {
		units[i] = fmt.Sprintf("u%d", i)
	}
	for i := range ids {
		ids[i] = noopJob(t, db, "root", units...)
	}
	for round := range rounds {
		shared := ids[rand.IntN(jobs)]
		batch := func(n, unit int) []store.UnitRef {
			refs := []store.UnitRef{{shared, units[unit]}}
			for _, i := range rand.Perm(jobs)[:n] {
				if ids[i] != shared {
					refs = append(refs, store.UnitRef{ids[i], units[unit]})
				}
			}
			return refs
		}
		holder, err := db.BeginTxx(ctx, nil)
		require.NoError(t, err)
		_, err = holder.ExecContext(ctx, `SELECT 1 FROM jobs WHERE id = $1 FOR NO KEY UPDATE`, shared)
		require.NoError(t, err)
		errs := make(chan error, 2)
		for i, b := range [][]store.UnitRef{batch(3, 2*round), batch(9, 2*round+1)} {
			go func() {
				_, err := store.CompleteAndFinish(ctx, db, fmt.Sprintf("w%d", i), b)
				errs <- err
			}()
		}
		time.Sleep(30 * time.Millisecond) // both wait for the shared job
		require.NoError(t, holder.Rollback())
		require.NoError(t, <-errs, "round %d", round)
		require.NoError(t, <-errs, "round %d", round)
	}
}

// TestStalledJobs finds the running jobs with open units that completed no unit for a while,
// and only those.
func TestStalledJobs(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	ids := map[string]string{}
	for _, name := range []string{"stalled", "progressing", "all done", "pending"} {
		ids[name] = noopJob(t, db, "u0", "u1")
		if name != "pending" {
			require.NoError(t, store.StartJob(ctx, db, ids[name]))
		}
	}
	complete := func(name string, units ...string) {
		for _, u := range units {
			_, err := store.CompleteUnit(ctx, db, ids[name], u, "w", 0, 0)
			require.NoError(t, err)
		}
	}
	complete("stalled", "u0")
	complete("progressing", "u0")
	complete("all done", "u0", "u1")
	// Everything happened an hour ago, but "progressing" completed a unit just now.
	_, err := db.ExecContext(ctx, `UPDATE jobs SET started_at = now() - interval '1 hour',
		progressed_at = now() - interval '1 hour', created_at = now() - interval '1 hour'`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE job_units SET finished_at = now() - interval '1 hour' WHERE done`)
	require.NoError(t, err)
	complete("progressing", "u1")
	require.NoError(t, store.AddUnitTasks(ctx, db, ids["progressing"], unitTasks("u2")))

	stalled, err := store.StalledJobs(ctx, db, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, stalled, 1)
	require.Equal(t, ids["stalled"], stalled[0].ID)
	none, err := store.StalledJobs(ctx, db, 2*time.Hour, 10)
	require.NoError(t, err)
	require.Empty(t, none, "nothing is idle for two hours")

	// A long single task (archive, convert) reports progress before its unit completes.
	require.NoError(t, store.SetJobProgress(ctx, db, ids["stalled"], 1, 100))
	stalled, err = store.StalledJobs(ctx, db, time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, stalled, "reported progress counts")
}

// TestSessionDefaults checks that sessions run without JIT compilation unless the database
// URL asks for it.
func TestSessionDefaults(t *testing.T) {
	ctx := context.Background()
	_, url := testenv.DB(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, c := range []struct{ url, want string }{{url, "off"}, {url + sep + "jit=on", "on"}} {
		db, err := store.Open(ctx, c.url)
		require.NoError(t, err)
		var jit string
		require.NoError(t, db.GetContext(ctx, &jit, `SHOW jit`))
		require.Equal(t, c.want, jit, c.url)
		require.NoError(t, db.Close())
	}
	_, err := store.Open(ctx, "postgres://u:secret@[::1")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "secret", "the URL's password stays out of errors")
}

// TestDeletePendingJobsDuringCompletion deletes a pending job (as a batch that could not be queued
// is taken back) while a transaction has completed its unit but not yet counted it on the
// job: the two lock units and job in opposite orders, PostgreSQL aborts the delete, and
// DeletePendingJobs tries again once the other transaction is through; the job is gone.
func TestDeletePendingJobsDuringCompletion(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	id := noopJob(t, db, "root")
	worker, err := db.BeginTxx(ctx, nil)
	require.NoError(t, err)
	_, err = worker.ExecContext(ctx, `UPDATE job_units SET done = true WHERE job_id = $1`, id)
	require.NoError(t, err)
	deleted := make(chan error, 1)
	go func() {
		started, err := store.DeletePendingJobs(ctx, db, []string{id})
		if err == nil && len(started) > 0 {
			err = fmt.Errorf("a pending job was reported started: %v", started)
		}
		deleted <- err
	}()
	time.Sleep(100 * time.Millisecond) // the delete waits for the unit's row
	_, err = worker.ExecContext(ctx, `UPDATE jobs SET units_done = units_done + 1 WHERE id = $1`, id)
	if err == nil {
		require.NoError(t, worker.Commit())
	} else {
		_ = worker.Rollback() // PostgreSQL chose the worker's transaction
	}
	require.NoError(t, <-deleted)
	_, err = store.GetJob(ctx, db, id)
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err), "the job is gone")
}

// TestPruneJobs deletes jobs finished before the retention, oldest first and a batch at a
// time, with their units and events; it keeps recent and unfinished jobs, jobs a plan refers
// to, and recent events of no job.
func TestPruneJobs(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	ids := map[string]string{}
	for _, name := range []string{"oldest", "old", "planned", "executed", "recent", "running"} {
		ids[name] = noopJob(t, db, "u0", "u1")
		require.NoError(t, store.AddEvent(ctx, db, &filefleet.Event{JobID: ids[name], Type: filefleet.EventJobProgress}))
		if name != "running" {
			_, err := store.FinishJob(ctx, db, ids[name], filefleet.JobStateSucceeded, nil, "")
			require.NoError(t, err)
		}
	}
	for name, age := range map[string]string{"oldest": "3 hours", "old": "2 hours", "planned": "4 hours",
		"executed": "4 hours", "running": "4 hours"} {
		_, err := db.ExecContext(ctx, `UPDATE jobs SET created_at = now() - $2::interval,
			finished_at = CASE WHEN finished_at IS NOT NULL THEN now() - $2::interval END WHERE id = $1`, ids[name], age)
		require.NoError(t, err)
	}
	planned, executed := ids["planned"], ids["executed"]
	require.NoError(t, store.CreatePlan(ctx, db, store.Plan{ID: uuid.NewString(), Kind: "dedupe", JobID: &planned,
		Params: []byte(`{}`)}, nil))
	_, err := db.ExecContext(ctx, `INSERT INTO plans (id, kind, status, exec_job_id) VALUES ($1, 'organize', 'done', $2)`,
		uuid.NewString(), executed)
	require.NoError(t, err)
	for _, age := range []string{"2 hours", "1 second"} {
		ev := filefleet.Event{Type: filefleet.EventFileUploaded}
		require.NoError(t, store.AddEvent(ctx, db, &ev))
		_, err := db.ExecContext(ctx, `UPDATE job_events SET created_at = now() - $2::interval WHERE id = $1`, ev.ID, age)
		require.NoError(t, err)
	}

	left := func() (jobs []string, units, events, noJobEvents int) {
		require.NoError(t, db.SelectContext(ctx, &jobs, `SELECT id FROM jobs ORDER BY created_at`))
		require.NoError(t, db.GetContext(ctx, &units, `SELECT count(*) FROM job_units`))
		require.NoError(t, db.GetContext(ctx, &events, `SELECT count(*) FROM job_events WHERE job_id IS NOT NULL`))
		require.NoError(t, db.GetContext(ctx, &noJobEvents, `SELECT count(*) FROM job_events WHERE job_id IS NULL`))
		return
	}
	n, err := store.PruneJobs(ctx, db, time.Hour, 1)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	jobs, units, events, noJobEvents := left()
	require.NotContains(t, jobs, ids["oldest"], "the oldest finished job goes first")
	require.Contains(t, jobs, ids["old"])
	require.Equal(t, 5*2, units)
	require.Equal(t, 5, events)
	require.Equal(t, 1, noJobEvents, "the upload event of two hours ago is gone, the recent one stays")

	n, err = store.PruneJobs(ctx, db, time.Hour, 10)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	jobs, units, events, _ = left()
	require.ElementsMatch(t, []string{ids["planned"], ids["executed"], ids["running"], ids["recent"]}, jobs)
	require.Equal(t, 4*2, units)
	require.Equal(t, 4, events)

	n, err = store.PruneJobs(ctx, db, time.Hour, 10)
	require.NoError(t, err)
	require.Zero(t, n, "nothing else is past the retention")
}

// TestDeletePendingJobs takes back jobs as a batch that could not be queued does: pending jobs
// go, started ones are returned (to be canceled), finished ones stay as they are.
func TestDeletePendingJobs(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	pending, running, done := noopJob(t, db, "root"), noopJob(t, db, "root"), noopJob(t, db, "root")
	require.NoError(t, store.StartJob(ctx, db, running))
	require.NoError(t, store.StartJob(ctx, db, done))
	_, err := store.FinishJob(ctx, db, done, filefleet.JobStateSucceeded, nil, "")
	require.NoError(t, err)

	started, err := store.DeletePendingJobs(ctx, db, []string{pending, running, done})
	require.NoError(t, err)
	require.Equal(t, []string{running}, started)
	_, err = store.GetJob(ctx, db, pending)
	require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err), "the pending job is gone")
	for _, id := range []string{running, done} {
		_, err = store.GetJob(ctx, db, id)
		require.NoError(t, err, "a started job stays")
	}
}

// TestStartDeletionNamesTheTrashPath: the journal says where a trashed file goes before it
// moves, so a crash right after the move leaves it findable; a permanent deletion has none.
func TestStartDeletionNamesTheTrashPath(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	root := filefleet.Root{Name: "disk", Kind: filefleet.RootKindLocal, Path: "/tmp"}
	require.NoError(t, store.CreateRoot(ctx, db, nil, &root))
	for _, trash := range []bool{true, false} {
		d := store.FileDeletion{FileID: 1, RootID: root.ID, Path: "a/b.txt"}
		require.NoError(t, store.StartDeletion(ctx, db, &d, trash))
		var journaled string
		require.NoError(t, db.GetContext(ctx, &journaled, `SELECT trash_path FROM file_deletions WHERE id = $1`, d.ID))
		want := ""
		if trash {
			want = fmt.Sprintf(".filefleet-trash/deleted/%d/a/b.txt", d.ID)
		}
		require.Equal(t, want, journaled)
		require.Equal(t, want, d.TrashPath)
	}
}
