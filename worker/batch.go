package worker

import (
	"context"
	"encoding/json"

	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// batchMax is the most unit completions one group commit holds.
const batchMax = 256

// completeReq asks the group committer to complete a unit that wrote nothing else.
type completeReq struct {
	h     tasks.Header
	reply chan completeResp
}

type completeResp struct {
	c   completion
	err error
}

// completeAlone completes a unit whose task wrote nothing else (and whose job needs no result)
// through the group committer: the completions of all tasks finishing meanwhile share one
// transaction, which saves PostgreSQL round trips and commits under load.
func (w *Worker) completeAlone(ctx context.Context, h tasks.Header) (completion, error) {
	req := completeReq{h: h, reply: make(chan completeResp, 1)}
	select {
	case w.batch <- req:
	case <-ctx.Done():
		return completion{}, ctx.Err()
	}
	// Once queued the completion is committed or fails as a whole; wait for it even if ctx
	// ends, so the task does not report a failure that did not happen.
	r := <-req.reply
	return r.c, r.err
}

// groupCommit serves completeAlone until ctx ends.
func (w *Worker) groupCommit(ctx context.Context) {
	for {
		var reqs []completeReq
		select {
		case <-ctx.Done():
			return
		case r := <-w.batch:
			reqs = append(reqs, r)
		}
	drain:
		for len(reqs) < batchMax {
			select {
			case r := <-w.batch:
				reqs = append(reqs, r)
			default:
				break drain
			}
		}
		cs, err := w.completeMany(context.WithoutCancel(ctx), reqs)
		for i, r := range reqs {
			var c completion
			if err == nil {
				c = cs[i]
			}
			r.reply <- completeResp{c: c, err: err}
		}
	}
}

// completeMany completes units in one transaction: set-based statements for the units, the
// jobs they finish and the events.
func (w *Worker) completeMany(ctx context.Context, reqs []completeReq) ([]completion, error) {
	refs := make([]store.UnitRef, len(reqs))
	for i, r := range reqs {
		refs[i] = store.UnitRef{JobID: r.h.JobID, Unit: r.h.Unit}
	}
	out := make([]completion, len(reqs))
	err := store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		results, err := store.CompleteUnits(ctx, tx, w.cfg.Name, refs)
		if err != nil {
			return err
		}
		var finish []string
		for i, res := range results {
			out[i] = completion{jobID: refs[i].JobID, done: res.Completed}
			if res.Completed && res.Last && !res.Status.Terminal() {
				finish = append(finish, refs[i].JobID)
			}
		}
		finished, err := store.FinishJobsSucceeded(ctx, tx, finish)
		if err != nil {
			return err
		}
		var evs []*filefleet.Event
		var owner []int
		for i, res := range results {
			if !res.Completed || res.Status.Terminal() {
				continue
			}
			ev := &filefleet.Event{JobID: refs[i].JobID, Type: filefleet.EventJobProgress, Status: filefleet.JobStateRunning,
				Stage: tasks.StageOf(refs[i].Unit), Progress: res.Progress, Percent: res.Progress.Percent()}
			if res.Last && finished[refs[i].JobID] {
				ev.Type, ev.Status, ev.Percent, ev.Data = filefleet.EventJobCompleted, filefleet.JobStateSucceeded, 100, json.RawMessage("null")
			} else if !w.progressDue(ctx, refs[i].JobID) {
				continue
			}
			evs, owner = append(evs, ev), append(owner, i)
		}
		if err := store.AddEvents(ctx, tx, evs); err != nil {
			return err
		}
		for k, ev := range evs {
			out[owner[k]].events = append(out[owner[k]].events, *ev)
		}
		return nil
	})
	return out, err
}
