package worker

import (
	"context"

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

// completeAlone completes a unit whose task wrote nothing else, of a job that needs no result
// and no progress events (noop), through the group committer: the completions of all tasks
// finishing meanwhile share one statement, which saves PostgreSQL round trips and commits.
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

// completeMany completes units in one statement: the units, the jobs they finish and their
// job_completed events.
func (w *Worker) completeMany(ctx context.Context, reqs []completeReq) ([]completion, error) {
	refs := make([]store.UnitRef, len(reqs))
	for i, r := range reqs {
		refs[i] = store.UnitRef{JobID: r.h.JobID, Unit: r.h.Unit}
	}
	results, err := store.CompleteAndFinish(ctx, w.db, w.cfg.Name, refs)
	if err != nil {
		return nil, err
	}
	out := make([]completion, len(reqs))
	for i, res := range results {
		out[i] = completion{jobID: refs[i].JobID, done: res.Completed}
		if res.Event != nil {
			out[i].events = []filefleet.Event{*res.Event}
		}
	}
	return out, nil
}
