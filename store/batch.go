package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
)

// UnitRef names a unit of a job.
type UnitRef struct {
	JobID, Unit string
}

// CompleteUnits is CompleteUnit for many units at once (adding no files or bytes): one
// statement, for the group commit of tasks that write nothing else. The result is aligned with
// refs; of several units of one job completed together, the last in refs carries Last.
func CompleteUnits(ctx context.Context, q sqlx.QueryerContext, worker string, refs []UnitRef) ([]UnitResult, error) {
	jobs, units := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		jobs[i], units[i] = r.JobID, r.Unit
	}
	var rows []struct {
		JobID  string             `db:"job_id"`
		Unit   string             `db:"unit"`
		Status filefleet.JobState `db:"status"`
		filefleet.Progress
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		WITH u AS (
			UPDATE job_units ju SET done = true, worker = $3, finished_at = now()
			FROM unnest($1::uuid[], $2::text[]) AS x(job_id, unit)
			WHERE ju.job_id = x.job_id AND ju.unit = x.unit AND NOT ju.done
			RETURNING ju.job_id, ju.unit),
		c AS (SELECT job_id, count(*) AS n FROM u GROUP BY job_id),
		j AS (
			UPDATE jobs SET units_done = units_done + c.n FROM c WHERE jobs.id = c.job_id
			RETURNING jobs.id, units_done, units_total, files, bytes, status)
		SELECT u.job_id, u.unit, j.status, j.units_done, j.units_total, j.files, j.bytes
		FROM u JOIN j ON j.id = u.job_id`, pq.Array(jobs), pq.Array(units), worker)
	if err != nil {
		return nil, translate(err, "complete units")
	}
	byRef := make(map[UnitRef]int, len(rows))
	for i, r := range rows {
		byRef[UnitRef{r.JobID, r.Unit}] = i
	}
	out := make([]UnitResult, len(refs))
	lastOf := map[string]int{} // job → index in refs of its last completed unit
	for i, ref := range refs {
		k, ok := byRef[ref]
		if !ok {
			continue // done already
		}
		delete(byRef, ref) // a repeat in refs completed nothing
		r := rows[k]
		out[i] = UnitResult{Completed: true, Progress: r.Progress, Status: r.Status}
		if r.UnitsDone == r.UnitsTotal {
			lastOf[ref.JobID] = i
		}
	}
	for _, i := range lastOf {
		out[i].Last = true
	}
	return out, nil
}

// FinishJobsSucceeded moves the jobs ids that are not finished yet to succeeded with a null
// result, and returns those it changed.
func FinishJobsSucceeded(ctx context.Context, q sqlx.QueryerContext, ids []string) (map[string]bool, error) {
	var changed []string
	err := sqlx.SelectContext(ctx, q, &changed, `UPDATE jobs SET status = 'succeeded', finished_at = now(),
		started_at = coalesce(started_at, now())
		WHERE id = ANY($1::uuid[]) AND status NOT IN ('succeeded', 'failed', 'canceled') RETURNING id`, pq.Array(ids))
	m := make(map[string]bool, len(changed))
	for _, id := range changed {
		m[id] = true
	}
	return m, translate(err, "finish jobs")
}

// AddEvents stores events in one statement and sets their IDs and Times.
func AddEvents(ctx context.Context, q sqlx.QueryerContext, evs []*filefleet.Event) error {
	if len(evs) == 0 {
		return nil
	}
	jobs, types, payloads := make([]string, len(evs)), make([]string, len(evs)), make([]string, len(evs))
	for i, ev := range evs {
		if ev.Time.IsZero() {
			ev.Time = time.Now().UTC()
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		jobs[i], types[i], payloads[i] = ev.JobID, string(ev.Type), string(b)
	}
	var ids []int64
	err := sqlx.SelectContext(ctx, q, &ids, `
		WITH x AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS x(job_id, type, payload, n)),
		ins AS (
			INSERT INTO job_events (job_id, type, payload)
			SELECT job_id, type, payload::json FROM x ORDER BY n
			RETURNING id)
		SELECT id FROM ins ORDER BY id`, pq.Array(jobs), pq.Array(types), pq.Array(payloads))
	if err != nil {
		return translate(err, "add events")
	}
	for i := range evs {
		if i < len(ids) {
			evs[i].ID = ids[i] // ids come from one sequence in insertion order
		}
	}
	return nil
}
