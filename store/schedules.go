package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
)

const scheduleColumns = `id, name, cron, timezone, job, enabled, last_run_at, last_job_id, last_error, last_error_at,
	created_at, updated_at`

// CreateSchedule inserts s; ECONFLICT if its name is taken.
func CreateSchedule(ctx context.Context, q sqlx.QueryerContext, s *filefleet.Schedule) error {
	err := sqlx.GetContext(ctx, q, s, `INSERT INTO schedules (id, name, cron, timezone, job, enabled)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+scheduleColumns, s.ID, s.Name, s.Cron, s.Timezone, string(s.Job), s.Enabled)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ECONFLICT {
		return filefleet.Errorf(filefleet.ECONFLICT, "a schedule named %q exists already", s.Name)
	}
	return translate(err, "create schedule")
}

// UpdateSchedule stores the editable fields of s.
func UpdateSchedule(ctx context.Context, q sqlx.QueryerContext, s *filefleet.Schedule) error {
	err := sqlx.GetContext(ctx, q, s, `UPDATE schedules SET name = $2, cron = $3, timezone = $4, job = $5,
		enabled = $6, updated_at = now() WHERE id = $1 RETURNING `+scheduleColumns,
		s.ID, s.Name, s.Cron, s.Timezone, string(s.Job), s.Enabled)
	switch filefleet.ErrorCode(translate(err, "")) {
	case filefleet.ENOTFOUND:
		return filefleet.Errorf(filefleet.ENOTFOUND, "schedule %s not found", s.ID)
	case filefleet.ECONFLICT:
		return filefleet.Errorf(filefleet.ECONFLICT, "a schedule named %q exists already", s.Name)
	}
	return translate(err, "update schedule")
}

// GetSchedule returns schedule id; ENOTFOUND if there is none.
func GetSchedule(ctx context.Context, q sqlx.QueryerContext, id string) (*filefleet.Schedule, error) {
	return getSchedule(ctx, q, id, "")
}

// GetScheduleForUpdate is GetSchedule, locking the row until tx ends.
func GetScheduleForUpdate(ctx context.Context, tx *sqlx.Tx, id string) (*filefleet.Schedule, error) {
	return getSchedule(ctx, tx, id, " FOR UPDATE")
}

func getSchedule(ctx context.Context, q sqlx.QueryerContext, id, lock string) (*filefleet.Schedule, error) {
	var s filefleet.Schedule
	err := sqlx.GetContext(ctx, q, &s, `SELECT `+scheduleColumns+` FROM schedules WHERE id = $1`+lock, id)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "schedule %s not found", id)
	}
	return &s, translate(err, "get schedule")
}

// ListSchedules returns every schedule by name; enabledOnly leaves out disabled ones.
func ListSchedules(ctx context.Context, q sqlx.QueryerContext, enabledOnly bool) ([]*filefleet.Schedule, error) {
	out := []*filefleet.Schedule{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+scheduleColumns+` FROM schedules
		WHERE enabled OR NOT $1 ORDER BY name`, enabledOnly)
	return out, translate(err, "list schedules")
}

// DeleteSchedule removes schedule id (its jobs stay); ENOTFOUND if there is none.
func DeleteSchedule(ctx context.Context, q sqlx.ExecerContext, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM schedules WHERE id = $1`, id)
	if err != nil {
		return translate(err, "delete schedule")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return filefleet.Errorf(filefleet.ENOTFOUND, "schedule %s not found", id)
	}
	return nil
}

// MarkScheduleRun records that schedule id fired at tick with job jobID (a later tick only),
// and clears its last error.
func MarkScheduleRun(ctx context.Context, q sqlx.ExecerContext, id string, tick time.Time, jobID string) error {
	_, err := q.ExecContext(ctx, `UPDATE schedules SET last_run_at = $2, last_job_id = $3, last_error = '',
		last_error_at = NULL WHERE id = $1 AND (last_run_at IS NULL OR last_run_at < $2)`, id, tick, jobID)
	return translate(err, "mark schedule run")
}

// MarkScheduleFailed records why a tick of schedule id failed for good: msg, shown to users.
func MarkScheduleFailed(ctx context.Context, q sqlx.ExecerContext, id, msg string) error {
	_, err := q.ExecContext(ctx, `UPDATE schedules SET last_error = $2, last_error_at = now() WHERE id = $1`, id, msg)
	return translate(err, "mark schedule failed")
}
