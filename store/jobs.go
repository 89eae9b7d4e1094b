package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
)

const jobColumns = `id, type, status, root_name, params, units_done, units_total, files, bytes,
	result, error, created_at, started_at, finished_at`

// jobRow scans a jobs row; Progress is flattened.
type jobRow struct {
	filefleet.Job
	filefleet.Progress
	Result []byte `db:"result"`
}

func (r jobRow) job() *filefleet.Job {
	j := r.Job
	j.Progress = r.Progress
	if len(r.Result) > 0 {
		j.Result = r.Result
	}
	return &j
}

// NewJob is what CreateJobs inserts.
type NewJob struct {
	ID     string
	Type   filefleet.JobType
	RootID *int64
	Root   string
	Params json.RawMessage
	Unit   string // the first unit (task) of the job, registered with it
	// ScheduleID is the schedule that submitted the job, "" for none.
	ScheduleID string
}

// CreateJobs inserts pending jobs, each with its first unit, in one statement.
func CreateJobs(ctx context.Context, q sqlx.ExtContext, jobs []NewJob) error {
	n := len(jobs)
	ids, types, roots, params, units := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	schedules := make([]string, n)
	rootIDs := make([]any, n)
	for i, j := range jobs {
		ids[i], types[i], roots[i], units[i], schedules[i] = j.ID, string(j.Type), j.Root, j.Unit, j.ScheduleID
		params[i] = string(j.Params)
		if len(j.Params) == 0 {
			params[i] = "{}"
		}
		if j.RootID != nil {
			rootIDs[i] = *j.RootID
		}
	}
	_, err := q.ExecContext(ctx, `
		WITH j AS (
			INSERT INTO jobs (id, type, status, root_id, root_name, params, units_total, schedule_id)
			SELECT u.id, u.type, 'pending', u.root_id, u.root_name, u.params::jsonb, 1, nullif(u.schedule_id, '')::uuid
			FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $7::text[])
				AS u(id, type, root_id, root_name, params, schedule_id)
			RETURNING id)
		INSERT INTO job_units (job_id, unit)
		SELECT u.id, u.unit FROM unnest($1::uuid[], $6::text[]) AS u(id, unit)`,
		pq.Array(ids), pq.Array(types), pq.Array(rootIDs), pq.Array(roots), pq.Array(params), pq.Array(units),
		pq.Array(schedules))
	return translate(err, "create jobs")
}

// GetJob returns the job with id; ENOTFOUND if there is none.
func GetJob(ctx context.Context, q sqlx.QueryerContext, id string) (*filefleet.Job, error) {
	var row jobRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "job %s not found", id)
	} else if err != nil {
		return nil, translate(err, "get job")
	}
	return row.job(), nil
}

// ListJobsParams filters and pages ListJobs.
type ListJobsParams struct {
	Status    filefleet.JobState
	Type      filefleet.JobType
	Limit     int
	Offset    int
	SortBy    string // created_at (default), finished_at, type, status
	SortOrder string // desc (default) or asc
}

// JobSortColumns are the columns ListJobs sorts by.
var JobSortColumns = []string{"created_at", "started_at", "finished_at", "type", "status"}

// ListJobs returns a page of jobs and the number of jobs that match.
func ListJobs(ctx context.Context, q sqlx.QueryerContext, p ListJobsParams) ([]*filefleet.Job, int64, error) {
	var where []string
	var args []any
	if p.Status != "" {
		args = append(args, p.Status)
		where = append(where, fmt.Sprintf("status = $%d", len(args)))
	}
	if p.Type != "" {
		args = append(args, p.Type)
		where = append(where, fmt.Sprintf("type = $%d", len(args)))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int64
	if err := sqlx.GetContext(ctx, q, &total, `SELECT count(*) FROM jobs`+cond, args...); err != nil {
		return nil, 0, translate(err, "count jobs")
	}
	order := orderBy(p.SortBy, p.SortOrder, "created_at", JobSortColumns)
	args = append(args, p.Limit, p.Offset)
	var rows []jobRow
	err := sqlx.SelectContext(ctx, q, &rows, fmt.Sprintf(`SELECT %s FROM jobs%s ORDER BY %s, id LIMIT $%d OFFSET $%d`,
		jobColumns, cond, order, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, translate(err, "list jobs")
	}
	jobs := make([]*filefleet.Job, len(rows))
	for i, r := range rows {
		jobs[i] = r.job()
	}
	return jobs, total, nil
}

// nullableJobSortColumns are the JobSortColumns that may be null (a job not started or not
// finished yet).
var nullableJobSortColumns = []string{"started_at", "finished_at"}

// orderBy builds an ORDER BY term from a whitelisted column and a direction. Descending, nulls
// come last; on a column that is never null a plain DESC lets an index serve the order
// (jobs_created_idx for the default: with NULLS LAST every list sorted all jobs).
func orderBy(col, dir, def string, allowed []string) string {
	c := def
	for _, a := range allowed {
		if col == a {
			c = a
		}
	}
	switch {
	case strings.EqualFold(dir, "asc"):
		return c + " ASC"
	case slices.Contains(nullableJobSortColumns, c):
		return c + " DESC NULLS LAST"
	}
	return c + " DESC"
}

// StartJob moves a pending job to running; it does nothing in any other state.
func StartJob(ctx context.Context, q sqlx.ExecerContext, id string) error {
	_, err := q.ExecContext(ctx, `UPDATE jobs SET status = 'running', started_at = now()
		WHERE id = $1 AND status = 'pending'`, id)
	return translate(err, "start job")
}

// UnitResult is what CompleteUnit reports.
type UnitResult struct {
	Completed bool               // this call marked the unit done (false: it was done already)
	Last      bool               // it was the job's last open unit
	Progress  filefleet.Progress // the job's progress after it
	Status    filefleet.JobState
}

// CompleteUnit marks a unit done once, adding files and bytes to the job's progress. Run it in
// the transaction that stores the unit's results, so both happen exactly once. The jobs row is
// locked, so of concurrent completions exactly one sees Last.
func CompleteUnit(ctx context.Context, q sqlx.ExtContext, jobID, unit, worker string, files, bytes int64) (UnitResult, error) {
	var res UnitResult
	var row struct {
		filefleet.Progress
		Status filefleet.JobState `db:"status"`
	}
	err := sqlx.GetContext(ctx, q, &row, `
		WITH u AS (
			UPDATE job_units SET done = true, worker = $3, finished_at = now(), payload = NULL -- only open units are queued again
			WHERE job_id = $1 AND unit = $2 AND NOT done RETURNING 1)
		UPDATE jobs SET units_done = units_done + 1, files = files + $4, bytes = bytes + $5, progressed_at = now()
		WHERE id = $1 AND EXISTS (SELECT 1 FROM u)
		RETURNING units_done, units_total, files, bytes, status`, jobID, unit, worker, files, bytes)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return res, nil // done already
	} else if err != nil {
		return res, translate(err, "complete unit")
	}
	res.Completed, res.Progress, res.Status = true, row.Progress, row.Status
	res.Last = row.UnitsDone == row.UnitsTotal
	return res, nil
}

// UnitDone reports whether a unit is done.
func UnitDone(ctx context.Context, q sqlx.QueryerContext, jobID, unit string) (bool, error) {
	var done bool
	err := sqlx.GetContext(ctx, q, &done, `SELECT done FROM job_units WHERE job_id = $1 AND unit = $2`, jobID, unit)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return false, filefleet.Errorf(filefleet.ENOTFOUND, "job %s has no unit %s", jobID, unit)
	}
	return done, translate(err, "unit done")
}

// OpenUnits returns the units of a job not done yet.
func OpenUnits(ctx context.Context, q sqlx.QueryerContext, jobID string) ([]string, error) {
	var units []string
	err := sqlx.SelectContext(ctx, q, &units, `SELECT unit FROM job_units WHERE job_id = $1 AND NOT done`, jobID)
	return units, translate(err, "open units")
}

// UnitWorkers counts a job's done units by the worker that did them.
func UnitWorkers(ctx context.Context, q sqlx.QueryerContext, jobID string) (map[string]int, error) {
	var rows []struct {
		Worker string `db:"worker"`
		N      int    `db:"n"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT worker, count(*) AS n FROM job_units
		WHERE job_id = $1 AND done GROUP BY worker`, jobID)
	m := map[string]int{}
	for _, r := range rows {
		m[r.Worker] = r.N
	}
	return m, translate(err, "unit workers")
}

// FinishJob moves a job that is not finished yet to state (succeeded, failed or canceled) with
// its result or error. It reports whether it changed the job.
func FinishJob(ctx context.Context, q sqlx.ExecerContext, id string, state filefleet.JobState, result any, errMsg string) (bool, error) {
	var res []byte
	if result != nil {
		var err error
		if res, err = json.Marshal(result); err != nil {
			return false, err
		}
	}
	r, err := q.ExecContext(ctx, `UPDATE jobs SET status = $2, result = $3, error = $4, finished_at = now(),
		started_at = coalesce(started_at, now())
		WHERE id = $1 AND status NOT IN ('succeeded', 'failed', 'canceled')`, id, state, res, errMsg)
	if err != nil {
		return false, translate(err, "finish job")
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

// SetJobProgress sets the files and bytes a running job has done so far: for jobs run by one
// long task (archive, convert), which report progress before their unit completes. It counts
// as progress for the stalled-job sweep, which would otherwise offer the task to Redis again
// every sweep once the job ran longer than the sweep's idle time.
func SetJobProgress(ctx context.Context, q sqlx.ExecerContext, id string, files, bytes int64) error {
	_, err := q.ExecContext(ctx, `UPDATE jobs SET files = $2, bytes = $3, progressed_at = now()
		WHERE id = $1 AND status = 'running'`,
		id, files, bytes)
	return translate(err, "set job progress")
}

// PruneJobs deletes up to limit jobs that finished more than age ago, oldest first, with
// their units, counters, duplicate groups and events, and then the events of no job (uploads)
// older than age. Jobs a plan refers to (the scan it was made from, its execute and undo
// jobs) stay as long as the plan: the plan's journal is what undo works from. It returns how
// many jobs it deleted.
func PruneJobs(ctx context.Context, q sqlx.ExecerContext, age time.Duration, limit int) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM jobs WHERE id IN (
		SELECT j.id FROM jobs j
		WHERE j.finished_at < now() - $1::interval
			AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.job_id = j.id)
			AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.exec_job_id = j.id)
			AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.undo_job_id = j.id)
		ORDER BY j.finished_at, j.id LIMIT $2
		FOR UPDATE SKIP LOCKED)`, interval(age), limit)
	if err != nil {
		return 0, translate(err, "prune jobs")
	}
	n, _ := res.RowsAffected()
	if _, err := q.ExecContext(ctx, `DELETE FROM job_events WHERE job_id IS NULL AND created_at < now() - $1::interval`,
		interval(age)); err != nil {
		return n, translate(err, "prune events")
	}
	return n, nil
}

// DeletePendingJobs deletes those of jobs ids that no worker has started, with their units
// and events, and returns the ids of the others that have not finished. The delete locks each
// jobs row and then, through ON DELETE CASCADE, its units, while a worker completing a unit
// locks them the other way round: when PostgreSQL breaks that deadlock by aborting the delete,
// the delete is tried again (up to 5 times) once the worker's transaction is through.
func DeletePendingJobs(ctx context.Context, db sqlx.ExtContext, ids []string) ([]string, error) {
	var err error
	for range 5 {
		_, err = db.ExecContext(ctx, `DELETE FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'pending'`, pq.Array(ids))
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "40P01" { // deadlock_detected
			break
		}
	}
	if err != nil {
		return nil, translate(err, "delete jobs")
	}
	var started []string
	err = sqlx.SelectContext(ctx, db, &started, `SELECT id FROM jobs WHERE id = ANY($1::uuid[])
		AND status NOT IN ('succeeded', 'failed', 'canceled') ORDER BY id`, pq.Array(ids))
	return started, translate(err, "started jobs")
}
