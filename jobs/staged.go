package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/organize"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// MaxScopes is the most roots and paths one hash or dedupe job covers.
const MaxScopes = 100

// prepareStaged validates a hash or dedupe job: its scopes come from root (+ prefix), roots
// and paths ("<root>/<dir>").
func (s *Service) prepareStaged(ctx context.Context, nj store.NewJob, p SubmitParams, roots map[string]*filefleet.Root) (store.NewJob, error) {
	var scopes []store.Scope
	add := func(name, prefix string) error {
		if name == "" {
			return filefleet.Errorf(filefleet.EINVALID, "a root name is empty")
		}
		sc, err := s.scope(ctx, name, prefix, roots)
		if err == nil && !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
		return err
	}
	if p.Root != "" {
		if err := add(p.Root, p.Prefix); err != nil {
			return nj, err
		}
	}
	for _, r := range p.Roots {
		if err := add(r, ""); err != nil {
			return nj, err
		}
	}
	for _, path := range p.Paths {
		root, dir, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if err := add(root, dir); err != nil {
			return nj, err
		}
	}
	if len(scopes) == 0 {
		return nj, filefleet.Errorf(filefleet.EINVALID,
			`name what to cover: "root" (+ "prefix"), "roots" (names) or "paths" ("<root>/<dir>")`)
	}
	if len(scopes) > MaxScopes {
		return nj, filefleet.Errorf(filefleet.EINVALID, "a job covers at most %d roots and paths", MaxScopes)
	}
	for _, a := range p.Algos {
		if !slices.Contains(filefleet.HashAlgos, a) {
			return nj, filefleet.Errorf(filefleet.EINVALID, "unknown hash algorithm %q (one of %v)", a, filefleet.HashAlgos)
		}
	}
	if len(p.Algos) > 0 && p.Type != filefleet.JobTypeHash {
		return nj, filefleet.Errorf(filefleet.EINVALID, "algorithms apply to hash jobs only")
	}
	gen, err := store.NextScanGeneration(ctx, s.DB)
	if err != nil {
		return nj, err
	}
	names := make([]string, len(scopes))
	for i, sc := range scopes {
		names[i] = sc.Root
	}
	nj.RootID, nj.Root = &scopes[0].RootID, strings.Join(slices.Compact(names), ",")
	nj.Unit = tasks.StageUnit(tasks.Stages[p.Type][0])
	nj.Params, _ = json.Marshal(tasks.StagedParams{Scopes: scopes, Generation: gen, Algos: p.Algos, AllowEmpty: p.AllowEmpty})
	return nj, nil
}

// SubmitPlan starts the job that executes plan planID, or undoes it: the plan moves to
// executing (undoing) in the transaction that records the job, so a plan runs once. A plan
// whose execute job failed or was canceled may be executed again (items done stay done) or,
// for dedupe, undone; one whose undo job failed or was canceled may be undone again.
func (s *Service) SubmitPlan(ctx context.Context, planID string, undo bool) (*filefleet.Job, error) {
	plan, err := store.GetPlan(ctx, s.DB, planID)
	if err != nil {
		return nil, err
	}
	typ, from, to, column := filefleet.JobTypeDedupeExecute, filefleet.PlanAwaitingApproval, filefleet.PlanExecuting, "exec_job_id"
	if plan.Kind == store.PlanKindOrganize {
		typ = filefleet.JobTypeOrganizeExecute
	}
	if undo {
		typ, from, to, column = filefleet.JobTypeDedupeUndo, filefleet.PlanExecuted, filefleet.PlanUndoing, "undo_job_id"
		if plan.Kind == store.PlanKindOrganize {
			typ = filefleet.JobTypeOrganizeUndo
		} else {
			var p struct {
				Action filefleet.PlanAction `json:"action"`
			}
			_ = json.Unmarshal(plan.Params, &p)
			if p.Action != filefleet.ActionTrash {
				return nil, filefleet.Errorf(filefleet.ECONFLICT, "plan %s %ss its duplicates; only trash plans can be undone", planID, p.Action)
			}
		}
	}
	nj := store.NewJob{ID: uuid.NewString(), Type: typ, Unit: tasks.StageUnit(tasks.StageApply)}
	nj.Params, _ = json.Marshal(tasks.StagedParams{PlanID: planID})
	err = store.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		plan, err := store.LockPlan(ctx, tx, planID)
		if err != nil {
			return err
		}
		if from, err = planFrom(ctx, tx, plan, from, undo); err != nil {
			return err
		}
		if err := store.CreateJobs(ctx, tx, []store.NewJob{nj}); err != nil {
			return err
		}
		return store.MovePlan(ctx, tx, planID, []filefleet.PlanState{from}, to, column, nj.ID)
	})
	if err != nil {
		return nil, err
	}
	if err := s.enqueueFirst(ctx, []store.NewJob{nj}); err != nil {
		// Not queued: give the plan back so it can be tried again, unless the task reached
		// Redis after all (a timeout after Redis took it) and a worker started the job:
		// then the job goes on and its plan stays with it.
		bg := context.WithoutCancel(ctx)
		_ = store.InTx(bg, s.DB, func(tx *sqlx.Tx) error {
			started, err := store.DeletePendingJobs(bg, tx, []string{nj.ID})
			if err != nil || len(started) > 0 {
				return err
			}
			return store.MovePlan(bg, tx, planID, []filefleet.PlanState{to}, from, "", "")
		})
		return nil, err
	}
	return store.GetJob(ctx, s.DB, nj.ID)
}

// planFrom returns the state plan moves from for a new execute (undo) job: base (awaiting
// approval, or executed for undo), or the state its last job left it in when that job failed
// or was canceled. ECONFLICT otherwise.
func planFrom(ctx context.Context, tx *sqlx.Tx, plan *store.Plan, base filefleet.PlanState, undo bool) (filefleet.PlanState, error) {
	if plan.Status == base {
		return base, nil
	}
	last := plan.ExecJobID
	if plan.Status == filefleet.PlanUndoing {
		last = plan.UndoJobID
	}
	resumable := plan.Status == filefleet.PlanExecuting || (plan.Status == filefleet.PlanUndoing && undo)
	if undo && plan.Status == filefleet.PlanExecuting && plan.Kind == store.PlanKindOrganize {
		// Organize undo moves back finished moves only: a move left in progress is finished
		// by executing again (its journal says where the file is), then undone.
		resumable = false
	}
	if resumable && last != nil {
		job, err := store.GetJob(ctx, tx, *last)
		if err != nil && filefleet.ErrorCode(err) != filefleet.ENOTFOUND {
			return "", err
		}
		if job == nil || job.Status == filefleet.JobStateFailed || job.Status == filefleet.JobStateCanceled {
			return plan.Status, nil
		}
		return "", filefleet.Errorf(filefleet.ECONFLICT, "plan %s is %s by job %s (%s); wait for it, or cancel it first",
			plan.ID, plan.Status, job.ID, job.Status)
	}
	return "", filefleet.Errorf(filefleet.ECONFLICT, "plan %s is %s, not %s", plan.ID, plan.Status, base)
}

// prepareOrganize validates an organize job: one directory of one root (root + prefix, or one
// "<root>/<dir>" path) and, optionally, the plan to make once its catalog is fresh.
func (s *Service) prepareOrganize(ctx context.Context, nj store.NewJob, p SubmitParams, roots map[string]*filefleet.Root) (store.NewJob, error) {
	nj, err := s.prepareStaged(ctx, nj, p, roots)
	if err != nil {
		return nj, err
	}
	var params tasks.StagedParams
	if err := json.Unmarshal(nj.Params, &params); err != nil {
		return nj, err
	}
	if len(params.Scopes) != 1 {
		return nj, filefleet.Errorf(filefleet.EINVALID, "an organize job covers one directory of one root, not %d", len(params.Scopes))
	}
	if len(p.Organize) > 0 {
		var req organize.Request
		dec := json.NewDecoder(bytes.NewReader(p.Organize))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return nj, filefleet.Errorf(filefleet.EINVALID, "organize: %v", err)
		}
		req.Root, req.Path = params.Scopes[0].Root, params.Scopes[0].Prefix
		if err := req.Prepare(ctx, s.DB); err != nil {
			return nj, err
		}
		if _, err := s.scope(ctx, req.TargetRoot, req.TargetPath, roots); err != nil {
			return nj, err
		}
		params.Organize, _ = json.Marshal(req)
	}
	nj.Params, _ = json.Marshal(params)
	return nj, nil
}
