package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// cancelPoll is how often a long task checks whether its job was canceled.
const cancelPoll = 250 * time.Millisecond

// reportFunc reports a long task's progress: files and bytes done, and percent of the whole.
type reportFunc func(files, bytes int64, percent float64)

// soloFunc does the whole work of a job run by one task (archive, convert) and returns its
// result and the files and bytes it handled. ctx ends when the job is canceled.
type soloFunc func(ctx context.Context, job *filefleet.Job, report reportFunc) (result any, files, bytes int64, err error)

// runSolo runs a job that one task does alone: it loads the job, runs fn with a context that
// ends once the job is canceled (fn's child processes die with it), and completes the job with
// fn's result. Errors a retry cannot mend (bad input, a corrupt source) fail the job at once.
func (w *Worker) runSolo(ctx context.Context, t *asynq.Task, stage string, fn soloFunc) error {
	var p tasks.NoopPayload
	job, ok, err := w.begin(ctx, t, &p)
	if err != nil || !ok {
		return err
	}
	jctx, stop := w.untilCanceled(ctx, job.ID)
	defer stop()
	result, files, bytes, err := fn(jctx, job, w.reporter(ctx, job.ID, stage))
	switch {
	case err != nil && jctx.Err() != nil && ctx.Err() == nil:
		w.log.InfoContext(ctx, "job ended while its task ran; task stopped", "stage", stage)
		return nil // the job is finished already: nothing to retry
	case err != nil && permanent(err):
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	case err != nil:
		return err
	}
	var c completion
	err = store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		if err := store.SetJobProgress(ctx, tx, job.ID, files, bytes); err != nil {
			return err
		}
		c, err = w.finishUnit(ctx, tx, p.Header, 0, 0, func(*sqlx.Tx, filefleet.Progress, *completion) (any, error) {
			return result, nil
		})
		return err
	})
	if err != nil {
		return err
	}
	return w.after(ctx, c)
}

// permanent reports whether err will not go away by trying again.
func permanent(err error) bool {
	switch filefleet.ErrorCode(err) {
	case filefleet.EINVALID, filefleet.EUNPROCESSABLE, filefleet.ENOTFOUND, filefleet.ECONFLICT:
		return true
	}
	return false
}

// untilCanceled returns a context that ends with ctx or once job id is no longer running.
func (w *Worker) untilCanceled(ctx context.Context, id string) (context.Context, context.CancelFunc) {
	jctx, cancel := context.WithCancel(ctx)
	go func() {
		tick := time.NewTicker(cancelPoll)
		defer tick.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-tick.C:
				job, err := store.GetJob(jctx, w.db, id)
				if err == nil && job.Status.Terminal() {
					cancel()
					return
				}
			}
		}
	}()
	return jctx, cancel
}

// reporter returns the reportFunc of job id: it records progress and sends a job_progress
// event at most once per ProgressEvery across all workers.
func (w *Worker) reporter(ctx context.Context, id, stage string) reportFunc {
	return func(files, bytes int64, percent float64) {
		if !w.progressDue(ctx, id) {
			return
		}
		ev := filefleet.Event{JobID: id, Type: filefleet.EventJobProgress, Status: filefleet.JobStateRunning, Stage: stage,
			Progress: filefleet.Progress{UnitsTotal: 1, Files: files, Bytes: bytes}, Percent: min(percent, 100)}
		err := store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
			if err := store.SetJobProgress(ctx, tx, id, files, bytes); err != nil {
				return err
			}
			return store.AddEvent(ctx, tx, &ev)
		})
		if err != nil {
			w.log.WarnContext(ctx, "record progress", "err", err)
			return
		}
		w.publish(ctx, []filefleet.Event{ev})
	}
}
