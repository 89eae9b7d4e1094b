package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/jobs"
	"github.com/filefleet/filefleet/organize"
	"github.com/filefleet/filefleet/store"
)

// organizeRequest is the body of POST /organize/scan and /organize/preview. Without root,
// path names "<root>/<dir>", as in the File Organizer seed's {"path": "/documents"}.
type organizeRequest struct {
	organize.Request
	JobID  string `json:"job_id,omitempty"`  // preview: the organize job whose directory to plan
	DryRun bool   `json:"dry_run,omitempty"` // scan: accepted as in the seed; a plan always awaits approval
}

// resolve fills root and path from a "<root>/<dir>" path.
func (r *organizeRequest) resolve() {
	if r.Root == "" {
		r.Root, r.Path, _ = strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
	}
}

// organizeScan starts an organize job: a scan of the directory, the EXIF dates of its images
// and, given a methodology, a plan awaiting approval. 202 with the job.
func (a *API) organizeScan(c *gin.Context) {
	var req organizeRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	req.resolve()
	p := jobs.SubmitParams{Type: filefleet.JobTypeOrganize, Root: req.Root, Prefix: req.Path}
	if req.Methodology != "" || req.RuleSet != "" {
		p.Organize, _ = json.Marshal(req.Request)
	}
	job, err := a.jobs.Submit(c.Request.Context(), p)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/organize/status/"+job.ID)
	ok(c, http.StatusAccepted, job, nil)
}

// previewMovesMax is how many moves the preview response lists; the plan holds them all.
const previewMovesMax = 1000

// plannedMove is one move as preview shows it.
type plannedMove struct {
	Src string `json:"src"`
	Dst string `json:"dst"`
}

// organizePreview plans a directory from the catalog (refreshed by an organize job, whose
// job_id may name the directory) and stores the plan: 201 with its summary and first moves.
func (a *API) organizePreview(c *gin.Context) {
	var req organizeRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	var jobID *string
	if req.JobID != "" {
		job, err := a.organizeJob(c, req.JobID)
		if err != nil {
			a.fail(c, err)
			return
		}
		if req.Root == "" && req.Path == "" {
			var params struct {
				Scopes []store.Scope `json:"scopes"`
			}
			_ = json.Unmarshal(job.Params, &params)
			req.Root, req.Path = params.Scopes[0].Root, params.Scopes[0].Prefix
		}
		jobID = &job.ID
	}
	req.resolve()
	if err := req.Prepare(c.Request.Context(), a.db); err != nil {
		a.fail(c, err)
		return
	}
	plan, sum, err := organize.Preview(c.Request.Context(), a.db, jobID, req.Request)
	if err != nil {
		a.fail(c, err)
		return
	}
	items, err := store.PlanItems(c.Request.Context(), a.db, plan.ID, nil)
	if err != nil {
		a.fail(c, err)
		return
	}
	moves := make([]plannedMove, 0, min(len(items), previewMovesMax))
	for _, it := range items[:min(len(items), previewMovesMax)] {
		moves = append(moves, plannedMove{Src: it.Path, Dst: it.DstPath})
	}
	ok(c, http.StatusCreated, gin.H{"plan_id": plan.ID, "job_id": plan.JobID, "status": plan.Status,
		"params": plan.Params, "summary": sum, "moves": moves},
		gin.H{"moves_shown": len(moves), "moves_total": len(items)})
}

// organizeJob loads an organize job by id: 422 for another kind of job.
func (a *API) organizeJob(c *gin.Context, id string) (*filefleet.Job, error) {
	id, err := parseID("job_id", id)
	if err != nil {
		return nil, err
	}
	job, err := store.GetJob(c.Request.Context(), a.db, id)
	if err != nil {
		return nil, err
	}
	if job.Type != filefleet.JobTypeOrganize {
		return nil, filefleet.Errorf(filefleet.EUNPROCESSABLE, "job %s is a %s job, not an organize job", id, job.Type)
	}
	return job, nil
}

// executeRequest is the body of POST /organize/execute.
type executeRequest struct {
	planRequest
	DryRun bool `json:"dry_run"` // show what execute would do, change nothing
}

// organizeExecute approves a plan and starts the job that carries it out; with dry_run it
// only shows the plan.
func (a *API) organizeExecute(c *gin.Context) {
	var req executeRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if !req.DryRun {
		a.startPlan(c, req.planRequest, store.PlanKindOrganize, false)
		return
	}
	plan, err := a.plan(c, req.planRequest)
	if err == nil && plan.Kind != store.PlanKindOrganize {
		err = filefleet.Errorf(filefleet.EUNPROCESSABLE, "plan %s is a %s plan, not an organize plan", plan.ID, plan.Kind)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	a.showPlan(c, plan, gin.H{"dry_run": true})
}

// organizeUndo starts the job that moves an executed plan's files back.
func (a *API) organizeUndo(c *gin.Context) {
	var req planRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	a.startPlan(c, req, store.PlanKindOrganize, true)
}

// organizeStatus shows an organize job, or the execute or undo job of an organize plan, with
// the plan's journal counts.
func (a *API) organizeStatus(c *gin.Context) {
	id, err := parseID("job_id", c.Param("job_id"))
	if err != nil {
		a.fail(c, err)
		return
	}
	job, err := store.GetJob(c.Request.Context(), a.db, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	data := gin.H{"job_id": job.ID, "type": job.Type, "status": job.Status, "progress": job.Progress.Percent(),
		"job": job}
	plan, err := store.PlanOfJob(c.Request.Context(), a.db, id)
	switch {
	case err == nil:
		counts, err := store.PlanCounts(c.Request.Context(), a.db, plan.ID)
		if err != nil {
			a.fail(c, err)
			return
		}
		data["plan"], data["counts"] = plan, counts
	case filefleet.ErrorCode(err) != filefleet.ENOTFOUND:
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, data, nil)
}

// ruleSetRequest is the body of POST /organize/rules and PUT /organize/rules/{name}.
type ruleSetRequest struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Rules       []organize.Rule `json:"rules"`
}

// ruleSetName is what a rule set may be called.
var ruleSetName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// putRuleSet creates (POST, 201) or replaces (PUT, 200) a named rule set after checking its
// rules as preview would.
func (a *API) putRuleSet(c *gin.Context) {
	var req ruleSetRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	replace := c.Request.Method == http.MethodPut
	if replace {
		if req.Name != "" && req.Name != c.Param("name") {
			a.fail(c, filefleet.Errorf(filefleet.EINVALID, "name %q in the body differs from the URL's %q", req.Name, c.Param("name")))
			return
		}
		req.Name = c.Param("name")
	}
	if !ruleSetName.MatchString(req.Name) {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "name must be 1 to 64 letters, digits, dots, underscores or hyphens"))
		return
	}
	params := organize.Params{Methodology: organize.Rules, Rules: req.Rules}
	if err := params.Validate(); err != nil {
		a.fail(c, err)
		return
	}
	rules, _ := json.Marshal(req.Rules)
	set := store.RuleSet{Name: req.Name, Description: req.Description, Rules: rules}
	if err := store.PutRuleSet(c.Request.Context(), a.db, &set, replace); err != nil {
		a.fail(c, err)
		return
	}
	status := http.StatusCreated
	if replace {
		status = http.StatusOK
	}
	ok(c, status, set, nil)
}

func (a *API) listRuleSets(c *gin.Context) {
	sets, err := store.ListRuleSets(c.Request.Context(), a.db)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, sets, gin.H{"total": len(sets)})
}

func (a *API) getRuleSet(c *gin.Context) {
	set, err := store.GetRuleSet(c.Request.Context(), a.db, c.Param("name"))
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, set, nil)
}

func (a *API) deleteRuleSet(c *gin.Context) {
	if err := store.DeleteRuleSet(c.Request.Context(), a.db, c.Param("name")); err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"deleted": c.Param("name")}, nil)
}
