package store

import (
	"context"
	"encoding/json"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
)

// UnitRef names a unit of a job.
type UnitRef struct {
	JobID, Unit string
}

// Finished is a unit CompleteAndFinish completed, and the job_completed event it stored when
// the unit finished its job.
type Finished struct {
	Completed bool
	Event     *filefleet.Event
}

// CompleteAndFinish completes units that need no result of their own in one statement: their
// jobs' counters move on, a job whose last unit this is succeeds (result null) and gets its
// job_completed event. It stores no progress events. The result is aligned with refs.
//
// Its jobs rows are locked in id order (l) before they are updated: locked in the order of
// the count's hash aggregate, which differs between batches, two group commits sharing jobs
// deadlocked (TestGroupCommitsLockJobsInOrder).
func CompleteAndFinish(ctx context.Context, q sqlx.QueryerContext, worker string, refs []UnitRef) ([]Finished, error) {
	jobs, units := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		jobs[i], units[i] = r.JobID, r.Unit
	}
	var rows []struct {
		JobID   string  `db:"job_id"`
		Unit    string  `db:"unit"`
		EventID *int64  `db:"event_id"`
		Payload *[]byte `db:"payload"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `
		WITH l AS (SELECT id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE),
		u AS (
			UPDATE job_units ju SET done = true, worker = $3, finished_at = now(), payload = NULL
			FROM unnest($1::uuid[], $2::text[]) AS x(job_id, unit)
			WHERE ju.job_id = x.job_id AND ju.unit = x.unit AND NOT ju.done
			RETURNING ju.job_id, ju.unit),
		c AS (SELECT job_id, count(*) AS n FROM u GROUP BY job_id),
		j AS (
			UPDATE jobs SET units_done = units_done + c.n, progressed_at = now(),
				status = CASE WHEN `+lastOpen+` THEN 'succeeded' ELSE status END,
				finished_at = CASE WHEN `+lastOpen+` THEN now() ELSE finished_at END,
				started_at = CASE WHEN `+lastOpen+` THEN coalesce(started_at, now()) ELSE started_at END
			FROM c JOIN l ON l.id = c.job_id WHERE jobs.id = c.job_id
			RETURNING jobs.id, units_done, units_total, files, bytes, status, finished_at = now() AS finished_now),
		e AS (
			INSERT INTO job_events (job_id, type, payload)
			SELECT id, 'job_completed', json_build_object('id', 0, 'job_id', id, 'type', 'job_completed',
				'status', 'succeeded', 'progress', json_build_object('units_done', units_done,
				'units_total', units_total, 'files', files, 'bytes', bytes), 'percent', 100,
				'data', null, 'time', now())
			FROM j WHERE finished_now AND status = 'succeeded'
			RETURNING id, job_id, payload)
		SELECT u.job_id, u.unit, e.id AS event_id, e.payload::text::bytea AS payload
		FROM u LEFT JOIN e ON e.job_id = u.job_id`, pq.Array(jobs), pq.Array(units), worker)
	if err != nil {
		return nil, translate(err, "complete and finish")
	}
	out := make([]Finished, len(refs))
	byRef := make(map[UnitRef]int, len(rows))
	for i, r := range rows {
		byRef[UnitRef{r.JobID, r.Unit}] = i
	}
	evented := map[string]bool{}
	for i, ref := range refs {
		k, ok := byRef[ref]
		if !ok {
			continue
		}
		delete(byRef, ref)
		out[i].Completed = true
		r := rows[k]
		if r.EventID != nil && !evented[ref.JobID] {
			evented[ref.JobID] = true
			var ev filefleet.Event
			if err := json.Unmarshal(*r.Payload, &ev); err != nil {
				return nil, err
			}
			ev.ID = *r.EventID
			out[i].Event = &ev
		}
	}
	return out, nil
}

// lastOpen is true in an update of jobs when this update completes its last unit.
const lastOpen = `(jobs.units_done + c.n = jobs.units_total AND jobs.status NOT IN ('succeeded', 'failed', 'canceled'))`
