package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/jobs"
	"github.com/filefleet/filefleet/scheduler"
	"github.com/filefleet/filefleet/store"
)

// scheduleRequest is the body of POST and PATCH /schedules; PATCH changes the fields given.
type scheduleRequest struct {
	Name     *string          `json:"name"`
	Cron     *string          `json:"cron"`
	Timezone *string          `json:"timezone"`
	Job      *json.RawMessage `json:"job"`
	Enabled  *bool            `json:"enabled"`
}

// applySchedule copies the fields given onto s and validates the result. Setting the job
// needs jobs.submit besides schedules.manage: the schedule submits it. The job is validated
// only when set or when the schedule is enabled again, so that a schedule whose job no
// longer validates (its root deleted) can still be paused, renamed or deleted.
func (a *API) applySchedule(c *gin.Context, req scheduleRequest, s *filefleet.Schedule) error {
	if req.Job != nil && !principalOf(c).Can(auth.PermJobsSubmit) {
		return filefleet.Errorf(filefleet.EFORBIDDEN, "a schedule's job needs permission %s too, as the schedule submits it",
			auth.PermJobsSubmit)
	}
	if req.Name != nil {
		s.Name = strings.TrimSpace(*req.Name)
	}
	if req.Cron != nil {
		s.Cron = strings.TrimSpace(*req.Cron)
	}
	if req.Timezone != nil {
		s.Timezone = *req.Timezone
	}
	if req.Job != nil {
		s.Job = *req.Job
	}
	enabling := req.Enabled != nil && *req.Enabled && !s.Enabled
	if req.Enabled != nil {
		s.Enabled = *req.Enabled
	}
	if s.Name == "" || len(s.Name) > 100 {
		return filefleet.Errorf(filefleet.EINVALID, "name is required (at most 100 characters)")
	}
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	sched, loc, err := scheduler.Parse(s.Cron, s.Timezone)
	if err != nil {
		return err
	}
	if sched.Next(time.Now().In(loc)).IsZero() {
		return filefleet.Errorf(filefleet.EINVALID,
			"cron spec %q never fires (a day that does not exist, like 31 February); pick a date that occurs", s.Cron)
	}
	if len(s.Job) == 0 {
		return filefleet.Errorf(filefleet.EINVALID, `job is required: the body of POST /api/v1/jobs, e.g. {"type":"scan","root":"media"}`)
	}
	if req.Job == nil && !enabling {
		return nil
	}
	err = a.validateJob(c, s.Job)
	if err != nil && !s.CreatedAt.IsZero() { // a stored schedule: say how to stop it
		return filefleet.Errorf(filefleet.ErrorCode(err), "%s; change the job, or disable or delete the schedule",
			filefleet.ErrorMessage(err))
	}
	return err
}

// validateJob checks a schedule's job as POST /jobs would.
func (a *API) validateJob(c *gin.Context, job json.RawMessage) error {
	var p jobs.SubmitParams
	dec := json.NewDecoder(strings.NewReader(string(job)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return filefleet.Errorf(filefleet.EINVALID, "job: %v", err)
	}
	if err := a.jobs.Validate(c.Request.Context(), p); err != nil {
		return filefleet.Errorf(filefleet.ErrorCode(err), "job: %s", filefleet.ErrorMessage(err))
	}
	return nil
}

// withNext fills in the next run time.
func withNext(s *filefleet.Schedule) *filefleet.Schedule {
	if s.Enabled {
		s.NextRunAt = scheduler.Next(s, time.Now())
	}
	return s
}

func (a *API) createSchedule(c *gin.Context) {
	var req scheduleRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	s := &filefleet.Schedule{ID: uuid.NewString(), Enabled: true}
	if err := a.applySchedule(c, req, s); err != nil {
		a.fail(c, err)
		return
	}
	if req.Cron == nil {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "cron is required"))
		return
	}
	if err := store.CreateSchedule(c.Request.Context(), a.db, s); err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/schedules/"+s.ID)
	ok(c, http.StatusCreated, withNext(s), nil)
}

func (a *API) listSchedules(c *gin.Context) {
	list, err := store.ListSchedules(c.Request.Context(), a.db, false)
	if err != nil {
		a.fail(c, err)
		return
	}
	for _, s := range list {
		withNext(s)
	}
	ok(c, http.StatusOK, list, gin.H{"total": len(list)})
}

// schedule loads the schedule of the :id parameter.
func (a *API) schedule(c *gin.Context) (*filefleet.Schedule, error) {
	id, err := parseID("id", c.Param("id"))
	if err != nil {
		return nil, err
	}
	return store.GetSchedule(c.Request.Context(), a.db, id)
}

func (a *API) getSchedule(c *gin.Context) {
	s, err := a.schedule(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, withNext(s), nil)
}

// patchSchedule changes the fields given. The schedule's row stays locked from the read to
// the write, so two concurrent PATCHes both apply (one after the other) instead of the
// second overwriting the first with what it read.
func (a *API) patchSchedule(c *gin.Context) {
	id, err := parseID("id", c.Param("id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	var req scheduleRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	var s *filefleet.Schedule
	err = store.InTx(c.Request.Context(), a.db, func(tx *sqlx.Tx) error {
		if s, err = store.GetScheduleForUpdate(c.Request.Context(), tx, id); err != nil {
			return err
		}
		if err := a.applySchedule(c, req, s); err != nil {
			return err
		}
		return store.UpdateSchedule(c.Request.Context(), tx, s)
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, withNext(s), nil)
}

func (a *API) deleteSchedule(c *gin.Context) {
	id, err := parseID("id", c.Param("id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := store.DeleteSchedule(c.Request.Context(), a.db, id); err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"deleted": id}, nil)
}
