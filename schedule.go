package filefleet

import (
	"encoding/json"
	"time"
)

// Schedule submits a job at every tick of a cron spec.
type Schedule struct {
	ID        string          `json:"id" db:"id"`
	Name      string          `json:"name" db:"name"`
	Cron      string          `json:"cron" db:"cron"`         // 5 fields, or 6 with seconds first; @every 1h, @daily...
	Timezone  string          `json:"timezone" db:"timezone"` // IANA name, e.g. Europe/Paris
	Job       json.RawMessage `json:"job" db:"job"`           // the body of POST /api/v1/jobs
	Enabled   bool            `json:"enabled" db:"enabled"`
	LastRunAt *time.Time      `json:"last_run_at,omitempty" db:"last_run_at"`
	LastJobID *string         `json:"last_job_id,omitempty" db:"last_job_id"`
	NextRunAt *time.Time      `json:"next_run_at,omitempty" db:"-"`
	// LastError says why the last tick failed for good (its job refused, Redis or PostgreSQL
	// unavailable for too long); the next run clears it.
	LastError   string     `json:"last_error,omitempty" db:"last_error"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty" db:"last_error_at"`
	CreatedAt   time.Time  `json:"created_at" db:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at" db:"updated_at"`
}
