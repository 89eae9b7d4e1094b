package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
)

// UnitTask is a unit of a job with the task that does it.
type UnitTask struct {
	Unit    string `db:"unit"`
	Type    string `db:"task_type"`
	Payload []byte `db:"payload"`
}

// AddUnitTasks registers units with their tasks; units already registered are ignored, so a
// retry adds nothing twice.
func AddUnitTasks(ctx context.Context, q sqlx.ExtContext, jobID string, units []UnitTask) error {
	if len(units) == 0 {
		return nil
	}
	names, types, payloads := make([]string, len(units)), make([]string, len(units)), make([][]byte, len(units))
	for i, u := range units {
		names[i], types[i], payloads[i] = u.Unit, u.Type, u.Payload
	}
	_, err := q.ExecContext(ctx, `
		WITH added AS (
			INSERT INTO job_units (job_id, unit, task_type, payload)
			SELECT $1, u.unit, u.typ, u.payload FROM unnest($2::text[], $3::text[], $4::bytea[]) AS u(unit, typ, payload)
			ON CONFLICT DO NOTHING RETURNING 1)
		UPDATE jobs SET units_total = units_total + (SELECT count(*) FROM added) WHERE id = $1`,
		jobID, pq.Array(names), pq.Array(types), pq.ByteaArray(payloads))
	return translate(err, "add unit tasks")
}

// OpenUnitTasks returns the open units of a job that have a stored task.
func OpenUnitTasks(ctx context.Context, q sqlx.QueryerContext, jobID string) ([]UnitTask, error) {
	var units []UnitTask
	err := sqlx.SelectContext(ctx, q, &units, `SELECT unit, task_type, payload FROM job_units
		WHERE job_id = $1 AND NOT done AND payload IS NOT NULL ORDER BY unit`, jobID)
	return units, translate(err, "open unit tasks")
}

// QueuedJob is what it takes to build a job's first task again.
type QueuedJob struct {
	ID     string            `db:"id"`
	Type   filefleet.JobType `db:"type"`
	RootID *int64            `db:"root_id"`
	Params json.RawMessage   `db:"params"`
}

// PendingJobs returns up to limit jobs pending for longer than age.
func PendingJobs(ctx context.Context, q sqlx.QueryerContext, age time.Duration, limit int) ([]QueuedJob, error) {
	var jobs []QueuedJob
	err := sqlx.SelectContext(ctx, q, &jobs, `SELECT id, type, root_id, params FROM jobs
		WHERE status = 'pending' AND created_at < now() - $1::interval ORDER BY created_at LIMIT $2`,
		interval(age), limit)
	return jobs, translate(err, "pending jobs")
}

// StalledJobs returns up to limit running jobs (a random choice) with open units that finished
// no unit for idle: their queued tasks may have been lost (a Redis failover or a restart
// without persistence), or are just slow.
func StalledJobs(ctx context.Context, q sqlx.QueryerContext, idle time.Duration, limit int) ([]QueuedJob, error) {
	var jobs []QueuedJob
	err := sqlx.SelectContext(ctx, q, &jobs, `SELECT j.id, j.type, j.root_id, j.params FROM jobs j
		WHERE j.status = 'running' AND coalesce(j.progressed_at, j.started_at) < now() - $1::interval
		AND j.units_done < j.units_total
		ORDER BY random() LIMIT $2`, interval(idle), limit)
	return jobs, translate(err, "stalled jobs")
}

// interval is d as a PostgreSQL interval.
func interval(d time.Duration) string { return fmt.Sprintf("%d milliseconds", d.Milliseconds()) }

// AddCounters adds to a job's named counters. It writes them in name order: concurrent tasks
// that add the same new counters in different orders deadlock (each holds a row the other's
// insert waits for) and one of them fails after PostgreSQL's deadlock_timeout.
func AddCounters(ctx context.Context, q sqlx.ExecerContext, jobID string, counters map[string]int64) error {
	var names []string
	var values []int64
	for _, k := range slices.Sorted(maps.Keys(counters)) {
		if v := counters[k]; v != 0 {
			names, values = append(names, k), append(values, v)
		}
	}
	if len(names) == 0 {
		return nil
	}
	_, err := q.ExecContext(ctx, `INSERT INTO job_counters (job_id, name, value)
		SELECT $1, u.name, u.value FROM unnest($2::text[], $3::bigint[]) AS u(name, value)
		ON CONFLICT (job_id, name) DO UPDATE SET value = job_counters.value + EXCLUDED.value`,
		jobID, pq.Array(names), pq.Array(values))
	return translate(err, "add counters")
}

// Counters returns a job's named counters.
func Counters(ctx context.Context, q sqlx.QueryerContext, jobID string) (map[string]int64, error) {
	var rows []struct {
		Name  string `db:"name"`
		Value int64  `db:"value"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT name, value FROM job_counters WHERE job_id = $1`, jobID)
	m := make(map[string]int64, len(rows))
	for _, r := range rows {
		m[r.Name] = r.Value
	}
	return m, translate(err, "counters")
}
