package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
)

// AddEvent stores ev and sets its ID and Time.
func AddEvent(ctx context.Context, q sqlx.ExtContext, ev *filefleet.Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	err = sqlx.GetContext(ctx, q, &ev.ID, `INSERT INTO job_events (job_id, type, payload) VALUES (NULLIF($1, '')::uuid, $2, $3)
		RETURNING id`, ev.JobID, ev.Type, payload)
	return translate(err, "add event")
}

// ListEvents returns up to limit events with ID greater than after, oldest first; jobID ""
// lists the events of all jobs.
func ListEvents(ctx context.Context, q sqlx.QueryerContext, jobID string, after int64, limit int) ([]filefleet.Event, error) {
	var rows []struct {
		ID      int64  `db:"id"`
		Payload []byte `db:"payload"`
	}
	var err error
	if jobID == "" {
		err = sqlx.SelectContext(ctx, q, &rows, `SELECT id, payload FROM job_events WHERE id > $1
			ORDER BY id LIMIT $2`, after, limit)
	} else {
		err = sqlx.SelectContext(ctx, q, &rows, `SELECT id, payload FROM job_events WHERE job_id = $1 AND id > $2
			ORDER BY id LIMIT $3`, jobID, after, limit)
	}
	if err != nil {
		return nil, translate(err, "list events")
	}
	evs := make([]filefleet.Event, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal(r.Payload, &evs[i]); err != nil {
			return nil, err
		}
		evs[i].ID = r.ID
	}
	return evs, nil
}

// LatestEventID returns the id of the newest stored event, 0 when there is none.
func LatestEventID(ctx context.Context, q sqlx.QueryerContext) (int64, error) {
	var id int64
	err := sqlx.GetContext(ctx, q, &id, `SELECT coalesce(max(id), 0) FROM job_events`)
	return id, translate(err, "latest event id")
}

// LatestEvent returns the newest event of type typ of a job, nil when it has none.
func LatestEvent(ctx context.Context, q sqlx.QueryerContext, jobID string, typ filefleet.EventType) (*filefleet.Event, error) {
	var row struct {
		ID      int64  `db:"id"`
		Payload []byte `db:"payload"`
	}
	err := sqlx.GetContext(ctx, q, &row, `SELECT id, payload FROM job_events WHERE job_id = $1 AND type = $2
		ORDER BY id DESC LIMIT 1`, jobID, typ)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, translate(err, "latest event")
	}
	var ev filefleet.Event
	if err := json.Unmarshal(row.Payload, &ev); err != nil {
		return nil, err
	}
	ev.ID = row.ID
	return &ev, nil
}
