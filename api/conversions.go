package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/convert"
	"github.com/filefleet/filefleet/jobs"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// submitArchive accepts an archive job (POST /archive): 202 with the job.
func (a *API) submitArchive(c *gin.Context) {
	var p filefleet.ArchiveParams
	if err := bindJSON(c, &p); err != nil {
		a.fail(c, err)
		return
	}
	job, err := a.jobs.Submit(c.Request.Context(), jobs.SubmitParams{Type: filefleet.JobTypeArchive, Archive: &p})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/jobs/"+job.ID)
	ok(c, http.StatusAccepted, job, nil)
}

// conversionRequest is the body of POST /conversions: the catalog seed's fields, with roots.
// settings may be an object or, as in the seed, a JSON object inside a string.
type conversionRequest struct {
	filefleet.ConvertParams
	Settings json.RawMessage `json:"settings,omitempty"`
	Priority int             `json:"priority,omitempty"` // accepted for the seed's clients; the convert queue is FIFO
}

// settings decodes the settings of r.
func (r conversionRequest) settings() (map[string]string, error) {
	raw := r.Settings
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, filefleet.Errorf(filefleet.EINVALID, `settings must be an object of strings, like {"bitrate": "320k"}`)
	}
	return m, nil
}

// seedStatus names job states as the catalog seed does.
var seedStatus = map[filefleet.JobState]string{filefleet.JobStateSucceeded: "completed", filefleet.JobStateCanceled: "cancelled"}

// conversionOf shows a convert job as a conversion; percent is its latest progress.
func conversionOf(j *filefleet.Job, percent float64) filefleet.Conversion {
	var p filefleet.ConvertParams
	_ = json.Unmarshal(j.Params, &p)
	v := filefleet.Conversion{ID: j.ID, Status: string(j.Status), ConversionSpec: p.ConversionSpec, Progress: percent,
		Error: j.Error, CreatedAt: j.CreatedAt, ScheduledFor: p.ScheduledFor, StartedAt: j.StartedAt, CompletedAt: j.FinishedAt}
	if s, found := seedStatus[j.Status]; found {
		v.Status = s
	}
	if j.Status == filefleet.JobStateSucceeded {
		v.Progress = 100
		var r filefleet.ConvertResult
		if json.Unmarshal(j.Result, &r) == nil {
			v.Result = &r
		}
	}
	return v
}

// createConversion accepts a convert job: 202 with the conversion.
func (a *API) createConversion(c *gin.Context) {
	var req conversionRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	p := req.ConvertParams
	var err error
	if p.Settings, err = req.settings(); err != nil {
		a.fail(c, err)
		return
	}
	job, err := a.jobs.Submit(c.Request.Context(), jobs.SubmitParams{Type: filefleet.JobTypeConvert, Convert: &p})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/conversions/"+job.ID)
	ok(c, http.StatusAccepted, conversionOf(job, 0), nil)
}

// listConversions pages through convert jobs, newest first; ?status= takes the seed's names
// (completed, cancelled) or filefleet's (succeeded, canceled).
func (a *API) listConversions(c *gin.Context) {
	limit, offset, err := page(c)
	status := c.Query("status")
	for state, name := range seedStatus {
		if status == name {
			status = string(state)
		}
	}
	if err == nil {
		err = oneOf("status", status, states())
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	list, total, err := store.ListJobs(c.Request.Context(), a.db, store.ListJobsParams{Type: filefleet.JobTypeConvert,
		Status: filefleet.JobState(status), Limit: limit, Offset: offset})
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]filefleet.Conversion, len(list))
	for i, j := range list {
		out[i] = conversionOf(j, a.latestPercent(c, j))
	}
	ok(c, http.StatusOK, gin.H{"conversions": out}, pageMeta(total, limit, offset))
}

// getConversion shows one convert job with its latest progress.
func (a *API) getConversion(c *gin.Context) {
	job, err := a.conversionJob(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, conversionOf(job, a.latestPercent(c, job)), nil)
}

// cancelConversion cancels a convert job; the worker running it kills its ffmpeg.
func (a *API) cancelConversion(c *gin.Context) {
	job, err := a.conversionJob(c)
	if err == nil {
		job, err = a.jobs.Cancel(c.Request.Context(), job.ID)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"message": "Job cancelled successfully", "conversion": conversionOf(job, 0)}, nil)
}

// conversionJob loads the convert job :id; ENOTFOUND for a job of another type.
func (a *API) conversionJob(c *gin.Context) (*filefleet.Job, error) {
	id, err := jobID(c)
	if err != nil {
		return nil, err
	}
	job, err := store.GetJob(c.Request.Context(), a.db, id)
	if err == nil && job.Type != filefleet.JobTypeConvert {
		err = filefleet.Errorf(filefleet.ENOTFOUND, "job %s is a %s job, not a conversion", id, job.Type)
	}
	return job, err
}

// latestPercent is the percent of a running job's latest progress event.
func (a *API) latestPercent(c *gin.Context, job *filefleet.Job) float64 {
	if job.Status != filefleet.JobStateRunning {
		return 0
	}
	ev, err := store.LatestEvent(c.Request.Context(), a.db, job.ID, filefleet.EventJobProgress)
	if err != nil || ev == nil {
		return 0
	}
	return ev.Percent
}

// conversionFormats lists what converts into what (the catalog seed's shape) and, under
// "workers", how many live workers convert each kind.
func (a *API) conversionFormats(c *gin.Context) {
	ctx := c.Request.Context()
	counts, err := tasks.LiveConverters(ctx, a.rdb)
	if err != nil {
		a.fail(c, filefleet.WrapError(filefleet.EUNAVAILABLE, err, "cannot read the workers' conversion tools from Redis"))
		return
	}
	out := gin.H{}
	for k, f := range convert.Formats {
		out[strings.ToLower(string(k))] = gin.H{"input": f.Input, "output": f.Output, "workers": counts[string(k)]}
	}
	ok(c, http.StatusOK, out, nil)
}
