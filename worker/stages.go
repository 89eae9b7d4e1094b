package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/hashing"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// Bounds of one hash task: at most this many files, and no more bytes to read than
// hashTaskBytes unless a single file is larger.
const (
	hashTaskFiles = 500
	hashTaskBytes = 256 << 20
)

// onLast returns what a job does when the last unit of stage completes: multi-stage jobs move
// on (advance); others finish with the result of single.
func (w *Worker) onLast(ctx context.Context, job *filefleet.Job, stage string,
	single func(tx *sqlx.Tx, p filefleet.Progress) (any, error)) lastFunc {
	if _, ok := tasks.Stages[job.Type]; ok {
		return func(tx *sqlx.Tx, _ filefleet.Progress, c *completion) (any, error) {
			return w.advance(ctx, tx, job, stage, c)
		}
	}
	if single == nil {
		return nil
	}
	return func(tx *sqlx.Tx, p filefleet.Progress, _ *completion) (any, error) {
		return single(tx, p)
	}
}

// advance ends stage of a multi-stage job: it queues the planning unit of the next stage,
// or, after the last stage, returns the job's result.
func (w *Worker) advance(ctx context.Context, tx *sqlx.Tx, job *filefleet.Job, stage string, c *completion) (any, error) {
	var params tasks.StagedParams
	if err := json.Unmarshal(job.Params, &params); err != nil {
		return nil, fmt.Errorf("job %s params: %w", job.ID, err)
	}
	if stage == tasks.StageScan {
		for _, sc := range params.Scopes {
			if _, err := markUnseenDeleted(ctx, tx, sc, params.Generation, params.AllowEmpty); err != nil {
				return nil, err
			}
		}
	}
	stages := tasks.Stages[job.Type]
	if i := slices.Index(stages, stage); i >= 0 && i+1 < len(stages) {
		h := tasks.Header{JobID: job.ID, Unit: tasks.StageUnit(stages[i+1])}
		u, err := unitTask(tasks.TypeStage, h, tasks.StagePayload{Header: h, Stage: stages[i+1]})
		c.enqueue = append(c.enqueue, u)
		return nil, err
	}
	return w.result(ctx, tx, job, params, c)
}

// result computes the result of a multi-stage job after its last stage.
func (w *Worker) result(ctx context.Context, tx *sqlx.Tx, job *filefleet.Job, params tasks.StagedParams, c *completion) (any, error) {
	counters, err := store.Counters(ctx, tx, job.ID)
	if err != nil {
		return nil, err
	}
	switch job.Type {
	case filefleet.JobTypeHash:
		files, _, err := store.ScopeCounts(ctx, tx, params.Scopes)
		return filefleet.HashResult{Files: files, Hashed: counters["files_read_all"], Changed: counters["changed"],
			Unchanged: files - counters["files_read_all"] - counters["changed"], BytesRead: counters["bytes_read_all"]}, err
	case filefleet.JobTypeDedupe:
		res, err := store.SaveDuplicateGroups(ctx, tx, job.ID, params.Scopes)
		if err != nil {
			return nil, err
		}
		_, res.Candidates, err = store.ScopeCounts(ctx, tx, params.Scopes)
		res.BytesRead = map[string]int64{"partial": counters["bytes_read_partial"], "full": counters["bytes_read_full"]}
		res.FilesRead = map[string]int64{"partial": counters["files_read_partial"], "full": counters["files_read_full"]}
		ev := filefleet.Event{JobID: job.ID, Type: filefleet.EventDuplicateDetected, Status: filefleet.JobStateRunning,
			Stage: "group", Message: fmt.Sprintf("%d duplicate groups, %d bytes wasted", res.Groups, res.WastedBytes)}
		ev.Data, _ = json.Marshal(res)
		if err := store.AddEvent(ctx, tx, &ev); err != nil {
			return nil, err
		}
		c.events = append(c.events, ev)
		return res, err
	case filefleet.JobTypeOrganize:
		return w.organizeResult(ctx, tx, job, params, counters)
	case filefleet.JobTypeDedupeExecute, filefleet.JobTypeDedupeUndo, filefleet.JobTypeOrganizeExecute, filefleet.JobTypeOrganizeUndo:
		from, to := filefleet.PlanExecuting, filefleet.PlanExecuted
		if job.Type.Undoes() {
			from, to = filefleet.PlanUndoing, filefleet.PlanUndone
		}
		if err := store.MovePlan(ctx, tx, params.PlanID, []filefleet.PlanState{from}, to, "", ""); err != nil {
			return nil, err
		}
		counts, err := store.PlanCounts(ctx, tx, params.PlanID)
		if err != nil {
			return nil, err
		}
		res := map[string]any{"plan_id": params.PlanID, "items": counts}
		if job.Type == filefleet.JobTypeOrganizeExecute || job.Type == filefleet.JobTypeOrganizeUndo {
			ev := filefleet.Event{JobID: job.ID, Type: filefleet.EventOrganizeComplete, Status: filefleet.JobStateRunning,
				Stage: tasks.StageApply, Percent: 100, Message: fmt.Sprintf("plan %s: %v", params.PlanID, counts)}
			ev.Data, _ = json.Marshal(res)
			if err := store.AddEvent(ctx, tx, &ev); err != nil {
				return nil, err
			}
			c.events = append(c.events, ev)
		}
		return res, nil
	}
	return nil, fmt.Errorf("job type %s has no stages", job.Type)
}

// handleStage plans one stage of a multi-stage job: it registers the stage's units and
// completes its own in one transaction, then queues them.
func (w *Worker) handleStage(ctx context.Context, t *asynq.Task) error {
	var p tasks.StagePayload
	job, ok, err := w.begin(ctx, t, &p)
	if err != nil || !ok {
		return err
	}
	var params tasks.StagedParams
	if err := json.Unmarshal(job.Params, &params); err != nil {
		return fmt.Errorf("job %s params: %v: %w", job.ID, err, asynq.SkipRetry)
	}
	var units []store.UnitTask
	switch p.Stage {
	case tasks.StageScan:
		units, err = scanUnits(job.ID, params)
	case store.StageAll, store.StagePartial, store.StageFull:
		units, err = w.hashUnits(ctx, job.ID, p.Stage, params)
	case tasks.StageApply:
		units, err = applyUnits(ctx, w.db, job.ID, params, job.Type.Undoes())
	case tasks.StageExif:
		units, err = w.exifUnits(ctx, job.ID, params)
	default:
		return fmt.Errorf("unknown stage %q: %w", p.Stage, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	var c completion
	err = store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		if err := store.AddUnitTasks(ctx, tx, job.ID, units); err != nil {
			return err
		}
		c, err = w.finishUnit(ctx, tx, p.Header, 0, 0, w.onLast(ctx, job, p.Stage, nil))
		return err
	})
	if err != nil {
		return err
	}
	c.enqueue = append(units, c.enqueue...)
	return w.after(ctx, c)
}

// scanUnits returns the first scan unit of each scope of a job.
func scanUnits(jobID string, params tasks.StagedParams) ([]store.UnitTask, error) {
	units := make([]store.UnitTask, len(params.Scopes))
	for i, sc := range params.Scopes {
		prefix := fmt.Sprintf("%s:%d:", tasks.StageScan, i)
		h := tasks.Header{JobID: jobID, Unit: prefix + tasks.ScanUnit(sc.Prefix, "")}
		var err error
		units[i], err = unitTask(tasks.TypeScanDir, h, tasks.ScanDirPayload{Header: h, UnitPrefix: prefix,
			RootID: sc.RootID, Prefix: sc.Prefix, Dir: sc.Prefix, Gen: params.Generation})
		if err != nil {
			return nil, err
		}
	}
	return units, nil
}

// hashUnits splits the files a hash stage must read into tasks of bounded size.
func (w *Worker) hashUnits(ctx context.Context, jobID, stage string, params tasks.StagedParams) ([]store.UnitTask, error) {
	targets, err := store.HashTargets(ctx, w.db, params.Scopes, stage, params.Algos)
	if err != nil {
		return nil, err
	}
	var units []store.UnitTask
	var batch []int64
	var bytes int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		h := tasks.Header{JobID: jobID, Unit: fmt.Sprintf("%s:%d", stage, len(units))}
		u, err := unitTask(tasks.TypeHashFiles, h, tasks.HashFilesPayload{Header: h, Stage: stage, Algos: params.Algos, FileIDs: batch})
		units, batch, bytes = append(units, u), nil, 0
		return err
	}
	for _, t := range targets {
		cost := t.Size
		if stage == store.StagePartial {
			cost = min(t.Size, 2*hashing.PartialBlock)
		}
		if len(batch) > 0 && (len(batch) >= hashTaskFiles || bytes+cost > hashTaskBytes) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		batch, bytes = append(batch, t.ID), bytes+cost
	}
	return units, flush()
}

// handleHashFiles hashes a batch of catalog files and stores the hashes of those that did not
// change since the scan; changed or vanished files are counted and skipped.
func (w *Worker) handleHashFiles(ctx context.Context, t *asynq.Task) error {
	var p tasks.HashFilesPayload
	job, ok, err := w.begin(ctx, t, &p)
	if err != nil || !ok {
		return err
	}
	files, changed, err := w.batchFiles(ctx, p)
	if err != nil {
		return err
	}
	var hashed []store.HashedFile
	var read int64
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := w.backend(ctx, f.RootID)
		if err != nil {
			return err
		}
		h := store.HashedFile{Target: f}
		var n int64
		if p.Stage == store.StagePartial {
			var whole bool
			h.Partial, n, whole, err = hashing.Partial(ctx, b, f.Path, f.Size)
			if whole {
				h.BLAKE3 = h.Partial
			}
		} else {
			var s hashing.Sums
			s, n, err = hashing.Full(ctx, b, f.Path, f.Size, p.Algos)
			h.Partial, h.BLAKE3, h.SHA256, h.MD5 = s.Partial, s.BLAKE3, s.SHA256, s.MD5
		}
		read += n
		w.countRead(f.RootID, n)
		if errors.Is(err, hashing.ErrChanged) || filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
			changed++
			continue
		} else if err != nil {
			return err
		}
		hashed = append(hashed, h)
	}
	counters := map[string]int64{"bytes_read_" + p.Stage: read, "files_read_" + p.Stage: int64(len(hashed)), "changed": changed}
	return w.completeBatch(ctx, job, p.Header, p.Stage, int64(len(hashed)), read, counters, func(tx *sqlx.Tx) error {
		return store.SetHashes(ctx, tx, hashed)
	})
}

// batchFiles returns the catalog rows of the files of a hash or EXIF batch task that are still
// catalogued, and how many of its files are not (deleted since the stage was planned).
func (w *Worker) batchFiles(ctx context.Context, p tasks.HashFilesPayload) ([]store.HashTarget, int64, error) {
	if len(p.FileIDs) == 0 {
		return p.Files, 0, nil // queued by a version that sent the rows
	}
	files, err := store.TargetsByID(ctx, w.db, p.FileIDs)
	return files, int64(len(p.FileIDs) - len(files)), err
}

// completeBatch ends a batch task of a stage in one transaction: record writes its results,
// counters are added and the unit completes (files and bytes read count in the job's
// progress). Then what follows is queued, or, when an earlier attempt completed the unit, the
// job's open units are queued again.
func (w *Worker) completeBatch(ctx context.Context, job *filefleet.Job, h tasks.Header, stage string, files, read int64,
	counters map[string]int64, record func(*sqlx.Tx) error) error {
	var c completion
	err := store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		if err := record(tx); err != nil {
			return err
		}
		if err := store.AddCounters(ctx, tx, h.JobID, counters); err != nil {
			return err
		}
		var err error
		c, err = w.finishUnit(ctx, tx, h, files, read, w.onLast(ctx, job, stage, nil))
		if err == nil && !c.done {
			err = errUnitDone // counted by an earlier attempt
		}
		return err
	})
	if errors.Is(err, errUnitDone) {
		return w.resume(ctx, h.JobID)
	} else if err != nil {
		return err
	}
	return w.after(ctx, c)
}
