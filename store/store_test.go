package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
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
	require.NoError(t, store.AddUnits(ctx, db, id, units))
	require.NoError(t, store.AddUnits(ctx, db, id, units), "adding again changes nothing")

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
	require.Equal(t, []string{"001_init", "002_dedupe"}, versions, "each migration applied once")
}

// TestCompleteUnitsBatch completes units of two jobs in batches, with repeats: each unit
// counts once, each job has exactly one Last, and events get ascending IDs in order.
func TestCompleteUnitsBatch(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.DB(t)
	a, b := uuid.NewString(), uuid.NewString()
	require.NoError(t, store.CreateJobs(ctx, db, []store.NewJob{{ID: a, Type: filefleet.JobTypeNoop, Unit: "u0"},
		{ID: b, Type: filefleet.JobTypeNoop, Unit: "u0"}}))
	require.NoError(t, store.AddUnits(ctx, db, a, []string{"u1", "u2"}))

	res, err := store.CompleteUnits(ctx, db, "w", []store.UnitRef{{a, "u0"}, {a, "u1"}, {b, "u0"}, {a, "u0"}})
	require.NoError(t, err)
	require.True(t, res[0].Completed && res[1].Completed && res[2].Completed)
	require.False(t, res[3].Completed, "a repeat in the batch counts once")
	require.False(t, res[0].Last || res[1].Last, "job a has a third unit")
	require.True(t, res[2].Last, "job b's only unit")
	res, err = store.CompleteUnits(ctx, db, "w", []store.UnitRef{{a, "u1"}, {a, "u2"}})
	require.NoError(t, err)
	require.False(t, res[0].Completed, "done in an earlier batch")
	require.True(t, res[1].Completed && res[1].Last)
	require.Equal(t, filefleet.Progress{UnitsDone: 3, UnitsTotal: 3}, res[1].Progress)

	finished, err := store.FinishJobsSucceeded(ctx, db, []string{a, b})
	require.NoError(t, err)
	require.Equal(t, map[string]bool{a: true, b: true}, finished)
	finished, err = store.FinishJobsSucceeded(ctx, db, []string{a})
	require.NoError(t, err)
	require.Empty(t, finished, "finished jobs stay as they are")

	evs := []*filefleet.Event{{JobID: a, Type: filefleet.EventJobCompleted}, {JobID: b, Type: filefleet.EventJobCompleted}}
	require.NoError(t, store.AddEvents(ctx, db, evs))
	require.Less(t, evs[0].ID, evs[1].ID)
	got, err := store.ListEvents(ctx, db, b, 0, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, evs[1].ID, got[0].ID)
}
