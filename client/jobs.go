package client

import (
	"context"
	"net/http"
	"time"

	"github.com/filefleet/filefleet"
)

// JobsService submits, lists, cancels and follows jobs (/jobs).
type JobsService struct{ c *Client }

// SubmitRequest is the body of POST /jobs: Type and what the job covers.
type SubmitRequest struct {
	Type   filefleet.JobType `json:"type"`
	Root   string            `json:"root,omitempty"`
	Prefix string            `json:"prefix,omitempty"` // directory inside Root; "" for all of it
	// Hash and dedupe jobs: whole Roots and Paths ("<root>/<dir>").
	Roots      []string             `json:"roots,omitempty"`
	Paths      []string             `json:"paths,omitempty"`
	Algorithms []filefleet.HashAlgo `json:"algorithms,omitempty"` // hash: beside blake3
	Organize   *OrganizeRequest     `json:"organize,omitempty"`   // organize: the plan to make
	Archive    *ArchiveRequest      `json:"archive,omitempty"`    // archive: required
	Convert    *ConvertRequest      `json:"convert,omitempty"`    // convert: required
	// AllowEmpty: a scan that finds no file where the catalog holds some records them as gone
	// rather than failing (is the storage mounted?).
	AllowEmpty bool `json:"allow_empty,omitempty"`
}

// Submit starts a job (202: it runs in the background).
func (s *JobsService) Submit(ctx context.Context, r SubmitRequest) (*filefleet.Job, error) {
	return call[filefleet.Job](ctx, s.c, http.MethodPost, "/jobs", r)
}

// SubmitBatch starts up to 10,000 jobs, all or none, and returns their ids in order.
func (s *JobsService) SubmitBatch(ctx context.Context, rs []SubmitRequest) ([]string, error) {
	var out struct {
		JobIDs []string `json:"job_ids"`
	}
	err := s.c.post(ctx, "/jobs/batch", map[string]any{"jobs": rs}, &out)
	return out.JobIDs, err
}

// Get returns a job: status, progress and, once finished, result or error.
func (s *JobsService) Get(ctx context.Context, id string) (*filefleet.Job, error) {
	return call[filefleet.Job](ctx, s.c, http.MethodGet, "/jobs/"+pathEscape(id), nil)
}

// ListJobsOptions filter and page GET /jobs; zero values are left out.
type ListJobsOptions struct {
	Status    filefleet.JobState
	Type      filefleet.JobType
	SortBy    string // created_at (default), started_at, finished_at, type, status
	SortOrder string // asc, desc
	Limit     int    // 1-1000, default 100
	Offset    int
}

// JobList is a page of jobs.
type JobList struct {
	Jobs []filefleet.Job `json:"-"`
	Page
}

// List returns a page of jobs, newest first by default.
func (s *JobsService) List(ctx context.Context, o ListJobsOptions) (*JobList, error) {
	var out struct {
		Jobs []filefleet.Job `json:"jobs"`
	}
	var l JobList
	q := query("status", string(o.Status), "type", string(o.Type), "sort_by", o.SortBy, "sort_order", o.SortOrder,
		"limit", itoa(o.Limit), "offset", itoa(o.Offset))
	if err := s.c.get(ctx, "/jobs"+q, &dataMeta{&out, &l.Page}); err != nil {
		return nil, err
	}
	l.Jobs = out.Jobs
	return &l, nil
}

// Cancel cancels a job; a finished one is a CONFLICT (see IsConflict).
func (s *JobsService) Cancel(ctx context.Context, id string) (*filefleet.Job, error) {
	return call[filefleet.Job](ctx, s.c, http.MethodPost, "/jobs/"+pathEscape(id)+"/cancel", nil)
}

// Wait polls the job every poll (default 500 ms) until it is succeeded, failed or canceled,
// and returns it then; a failed job is no error here (see Job.Status and Job.Error).
func (s *JobsService) Wait(ctx context.Context, id string, poll time.Duration) (*filefleet.Job, error) {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		job, err := s.Get(ctx, id)
		if err != nil || job.Status.Terminal() {
			return job, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}
