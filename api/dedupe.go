package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/dedupe"
	"github.com/filefleet/filefleet/jobs"
	"github.com/filefleet/filefleet/store"
)

// dedupeScanRequest is the body of POST /dedupe/scan: what to look for duplicates in.
type dedupeScanRequest struct {
	Roots  []string `json:"roots"`
	Paths  []string `json:"paths"` // "<root>/<dir>"
	Root   string   `json:"root"`
	Prefix string   `json:"prefix"`
}

// dedupeScan starts a dedupe scan: 202 with the job.
func (a *API) dedupeScan(c *gin.Context) {
	var req dedupeScanRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	job, err := a.jobs.Submit(c.Request.Context(), jobs.SubmitParams{Type: filefleet.JobTypeDedupe,
		Root: req.Root, Prefix: req.Prefix, Roots: req.Roots, Paths: req.Paths})
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/jobs/"+job.ID)
	ok(c, http.StatusAccepted, job, nil)
}

// previewRequest is the body of POST /dedupe/preview.
type previewRequest struct {
	JobID string `json:"job_id"`
	dedupe.Params
}

// groupPlan is one group of a plan as preview shows it.
type groupPlan struct {
	GroupID int64                     `json:"group_id"`
	Hash    string                    `json:"hash"`
	Size    int64                     `json:"size"`
	Keep    filefleet.DuplicateFile   `json:"keep"`
	Others  []filefleet.DuplicateFile `json:"others"`
}

// previewGroupsMax is how many groups the preview response lists; the plan holds them all.
const previewGroupsMax = 1000

// dedupePreview stores a plan for a finished dedupe scan and shows it.
func (a *API) dedupePreview(c *gin.Context) {
	var req previewRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	var err error
	if req.JobID, err = parseID("job_id", req.JobID); err != nil {
		a.fail(c, err)
		return
	}
	plan, decisions, err := dedupe.Preview(c.Request.Context(), a.db, req.JobID, req.Params)
	if err != nil {
		a.fail(c, err)
		return
	}
	var files, freed int64
	groups := make([]groupPlan, 0, min(len(decisions), previewGroupsMax))
	for _, d := range decisions {
		files += int64(len(d.Others))
		freed += int64(len(d.Others)) * d.Group.Size
		if len(groups) < previewGroupsMax {
			groups = append(groups, groupPlan{GroupID: d.Group.ID, Hash: d.Group.Hash, Size: d.Group.Size, Keep: d.Keep, Others: d.Others})
		}
	}
	ok(c, http.StatusCreated, gin.H{"plan_id": plan.ID, "job_id": plan.JobID, "status": plan.Status, "params": plan.Params,
		"summary": gin.H{"groups": len(decisions), "files": files, "bytes": freed, "action": req.Action},
		"groups":  groups}, gin.H{"groups_shown": len(groups), "groups_total": len(decisions)})
}

// planRequest names a plan directly or by a job it belongs to.
type planRequest struct {
	JobID  string `json:"job_id"`
	PlanID string `json:"plan_id"`
}

// plan resolves a planRequest.
func (a *API) plan(c *gin.Context, req planRequest) (*store.Plan, error) {
	switch {
	case req.PlanID != "":
		id, err := parseID("plan_id", req.PlanID)
		if err != nil {
			return nil, err
		}
		return store.GetPlan(c.Request.Context(), a.db, id)
	case req.JobID != "":
		id, err := parseID("job_id", req.JobID)
		if err != nil {
			return nil, err
		}
		return store.PlanOfJob(c.Request.Context(), a.db, id)
	}
	return nil, filefleet.Errorf(filefleet.EINVALID, "name the plan: plan_id, or the job_id of the scan it was made from")
}

// dedupeExecute approves a plan and starts the job that carries it out (dedupeUndo: undoes it).
func (a *API) dedupeExecute(c *gin.Context) { a.applyPlan(c, false) }
func (a *API) dedupeUndo(c *gin.Context)    { a.applyPlan(c, true) }

func (a *API) applyPlan(c *gin.Context, undo bool) {
	var req planRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	a.startPlan(c, req, store.PlanKindDedupe, undo)
}

// startPlan starts the job that executes (or undoes) the plan of kind req names: 202.
func (a *API) startPlan(c *gin.Context, req planRequest, kind string, undo bool) {
	plan, err := a.plan(c, req)
	if err == nil && plan.Kind != kind {
		err = filefleet.Errorf(filefleet.EUNPROCESSABLE, "plan %s is a %s plan; use the /%s endpoints", plan.ID, plan.Kind, plan.Kind)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	job, err := a.jobs.SubmitPlan(c.Request.Context(), plan.ID, undo)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/jobs/"+job.ID)
	ok(c, http.StatusAccepted, gin.H{"plan_id": plan.ID, "job": job}, nil)
}

// getPlan shows a plan with its journal.
func (a *API) getPlan(c *gin.Context) {
	plan, err := a.plan(c, planRequest{PlanID: c.Param("id")})
	if err != nil {
		a.fail(c, err)
		return
	}
	a.showPlan(c, plan, nil)
}

// showPlan answers with a plan, its journal and counts per action and state.
func (a *API) showPlan(c *gin.Context, plan *store.Plan, meta gin.H) {
	items, err := store.PlanItems(c.Request.Context(), a.db, plan.ID, nil)
	if err != nil {
		a.fail(c, err)
		return
	}
	counts, err := store.PlanCounts(c.Request.Context(), a.db, plan.ID)
	if err != nil {
		a.fail(c, err)
		return
	}
	if meta == nil {
		meta = gin.H{}
	}
	meta["total"] = len(items)
	ok(c, http.StatusOK, gin.H{"plan": plan, "counts": counts, "items": items}, meta)
}

// dedupeGroups lists the groups a dedupe scan found.
func (a *API) dedupeGroups(c *gin.Context) {
	var jobID string
	limit, offset, err := page(c)
	if err == nil {
		jobID, err = parseID("job_id", c.Query("job_id"))
	}
	if err == nil {
		err = oneOf("sort_by", c.Query("sort_by"), []string{"count", "size"})
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	if _, err := store.GetJob(c.Request.Context(), a.db, jobID); err != nil {
		a.fail(c, err)
		return
	}
	groups, total, err := store.DuplicateGroups(c.Request.Context(), a.db, jobID, c.Query("sort_by"), limit, offset)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, groups, pageMeta(total, limit, offset))
}

// statsRoot is the root filter of the stats endpoints (root, or the seed's smb_root).
func statsRoot(c *gin.Context) string {
	if r := c.Query("root"); r != "" {
		return r
	}
	return c.Query("smb_root")
}

// duplicateStats answers /stats/duplicates and /stats/duplicates/count from the catalog.
func (a *API) duplicateStats(c *gin.Context) {
	s, err := store.CatalogDuplicateStats(c.Request.Context(), a.db, statsRoot(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	if c.FullPath() == "/api/v1/stats/duplicates/count" {
		ok(c, http.StatusOK, gin.H{"duplicate_groups": s.Groups, "total_duplicates": s.Duplicates,
			"total_wasted_space": s.WastedSpace, "smb_root": statsRoot(c)}, nil)
		return
	}
	ok(c, http.StatusOK, s, nil)
}

// duplicateGroupStats lists the catalog's largest duplicate groups.
func (a *API) duplicateGroupStats(c *gin.Context) {
	limit := 20
	err := oneOf("sort_by", c.Query("sort_by"), []string{"count", "size"})
	if s := c.Query("limit"); s != "" && err == nil {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 100 {
			err = filefleet.Errorf(filefleet.EINVALID, "limit must be a whole number from 1 to 100")
		}
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	groups, err := store.CatalogDuplicateGroups(c.Request.Context(), a.db, statsRoot(c), c.DefaultQuery("sort_by", "count"), limit)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, groups, gin.H{"count": len(groups)})
}

// parseID checks that an id parameter (what name names) is a UUID in any form uuid.Parse
// takes (urn:uuid:, braces, upper case) and returns its canonical form, the one stored.
func parseID(name, id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", filefleet.Errorf(filefleet.EINVALID, "%s must be a UUID, not %q", name, id)
	}
	return u.String(), nil
}
