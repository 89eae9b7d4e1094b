package dedupe

import (
	"context"
	"encoding/hex"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/store"
)

// Preview plans what to do with the duplicate groups a finished dedupe scan found and stores
// the plan, awaiting approval (execute).
func Preview(ctx context.Context, db *sqlx.DB, jobID string, p Params) (*store.Plan, []Decision, error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	if p.PreferredRoot != "" {
		_, err := store.GetRoot(ctx, db, nil, p.PreferredRoot)
		if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
			return nil, nil, filefleet.Errorf(filefleet.EUNPROCESSABLE,
				"preferred_root: storage root %q does not exist; GET /api/v1/roots lists them", p.PreferredRoot)
		} else if err != nil {
			return nil, nil, err
		}
	}
	job, err := store.GetJob(ctx, db, jobID)
	if err != nil {
		return nil, nil, err
	}
	if job.Type != filefleet.JobTypeDedupe {
		return nil, nil, filefleet.Errorf(filefleet.EUNPROCESSABLE, "job %s is a %s job; preview takes a dedupe scan's job_id", jobID, job.Type)
	}
	if job.Status != filefleet.JobStateSucceeded {
		return nil, nil, filefleet.Errorf(filefleet.ECONFLICT, "dedupe scan %s is %s; preview it once it has succeeded", jobID, job.Status)
	}
	groups, err := store.AllDuplicateGroups(ctx, db, jobID)
	if err != nil {
		return nil, nil, err
	}
	decisions := Plan(groups, p)
	var items []store.PlanItem
	for _, d := range decisions {
		hash, err := hex.DecodeString(d.Group.Hash)
		if err != nil {
			return nil, nil, err
		}
		keep := len(items)
		for i, f := range append([]filefleet.DuplicateFile{d.Keep}, d.Others...) {
			action := p.Action
			if i == 0 {
				action = filefleet.ActionKeep
			}
			items = append(items, store.PlanItem{Seq: len(items), GroupID: d.Group.ID, Action: action, RootID: f.RootID,
				Path: f.Path, Size: f.Size, ModTime: f.ModifiedAt, Hash: hash, KeepSeq: keep})
		}
	}
	params, _ := json.Marshal(p)
	plan := &store.Plan{ID: uuid.NewString(), Kind: store.PlanKindDedupe, JobID: &jobID, Status: filefleet.PlanAwaitingApproval, Params: params}
	err = store.InTx(ctx, db, func(tx *sqlx.Tx) error { return store.CreatePlan(ctx, tx, *plan, items) })
	if err != nil {
		return nil, nil, err
	}
	return plan, decisions, nil
}
