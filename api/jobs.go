package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/jobs"
	"github.com/filefleet/filefleet/store"
)

// submitJob accepts one job: 202 with the job, which runs in the background.
func (a *API) submitJob(c *gin.Context) {
	var p jobs.SubmitParams
	if err := bindJSON(c, &p); err != nil {
		a.fail(c, err)
		return
	}
	job, err := a.jobs.Submit(c.Request.Context(), p)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/jobs/"+job.ID)
	ok(c, http.StatusAccepted, job, nil)
}

// batchRequest is the body of POST /jobs/batch.
type batchRequest struct {
	Jobs []jobs.SubmitParams `json:"jobs"`
}

// submitBatch accepts up to jobs.MaxBatch jobs at once, all or none.
func (a *API) submitBatch(c *gin.Context) {
	var req batchRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	js, err := a.jobs.SubmitBatch(c.Request.Context(), req.Jobs)
	if err != nil {
		a.fail(c, err)
		return
	}
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	ok(c, http.StatusAccepted, gin.H{"job_ids": ids}, gin.H{"total": len(ids)})
}

func (a *API) listJobs(c *gin.Context) {
	limit, offset, err := page(c)
	if err == nil {
		err = oneOf("status", c.Query("status"), states())
	}
	if err == nil {
		err = oneOf("type", c.Query("type"), types())
	}
	if err == nil {
		err = oneOf("sort_by", c.Query("sort_by"), store.JobSortColumns)
	}
	if err == nil {
		err = oneOf("sort_order", c.Query("sort_order"), []string{"asc", "desc"})
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	list, total, err := store.ListJobs(c.Request.Context(), a.db, store.ListJobsParams{
		Status: filefleet.JobState(c.Query("status")), Type: filefleet.JobType(c.Query("type")),
		Limit: limit, Offset: offset, SortBy: c.Query("sort_by"), SortOrder: c.Query("sort_order")})
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"jobs": list}, pageMeta(total, limit, offset))
}

func (a *API) getJob(c *gin.Context) {
	id, err := jobID(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	job, err := store.GetJob(c.Request.Context(), a.db, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, job, nil)
}

func (a *API) cancelJob(c *gin.Context) {
	id, err := jobID(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	job, err := a.jobs.Cancel(c.Request.Context(), id)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, job, nil)
}

// jobID reads the :id parameter, which must be a UUID, in its canonical form.
func jobID(c *gin.Context) (string, error) {
	return parseID("job id", c.Param("id"))
}

func states() []string {
	s := make([]string, len(filefleet.JobStates))
	for i, v := range filefleet.JobStates {
		s[i] = string(v)
	}
	return s
}

func types() []string {
	s := make([]string, len(filefleet.AllJobTypes))
	for i, v := range filefleet.AllJobTypes {
		s[i] = string(v)
	}
	return s
}
