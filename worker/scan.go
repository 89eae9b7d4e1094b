package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// handleScanDir lists one page of one directory: it queues a task for each subdirectory and
// for the next page first (so other workers share the scan), then stores the page's files and
// completes its unit in one transaction. The unit that completes last marks the files this
// scan did not see as deleted and finishes the job.
func (w *Worker) handleScanDir(ctx context.Context, t *asynq.Task) error {
	var p tasks.ScanDirPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("bad payload: %v: %w", err, asynq.SkipRetry)
	}
	if _, ok, err := w.activeJob(ctx, p.Header); err != nil || !ok {
		return err
	}
	if done, err := store.UnitDone(ctx, w.db, p.JobID, p.Unit); err != nil || done {
		return err
	}
	b, err := w.backend(ctx, p.RootID)
	if err != nil {
		return err
	}
	entries, next, err := b.List(ctx, p.Dir, p.Cursor, w.cfg.ScanPageSize)
	if err != nil {
		return err
	}

	var children []tasks.ScanDirPayload
	var files []store.ScannedFile
	var bytes int64
	for _, e := range entries {
		if e.IsDir {
			children = append(children, w.child(p, e.Path, ""))
			continue
		}
		files = append(files, store.ScannedFile{Path: e.Path, Size: e.Size, ModTime: e.ModTime, ETag: e.ETag})
		bytes += e.Size
	}
	if next != "" {
		children = append(children, w.child(p, p.Dir, next))
	}
	if err := w.spawn(ctx, children); err != nil {
		return err
	}

	var evs []filefleet.Event
	err = store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		if err := store.UpsertFiles(ctx, tx, p.RootID, p.Gen, files); err != nil {
			return err
		}
		evs, err = w.finishUnit(ctx, tx, p.Header, int64(len(files)), bytes,
			func(tx *sqlx.Tx, prog filefleet.Progress) (any, error) {
				deleted, err := store.MarkDeleted(ctx, tx, p.RootID, p.Gen, p.Prefix)
				return filefleet.ScanResult{Files: prog.Files, Bytes: prog.Bytes, Deleted: deleted,
					Generation: p.Gen}, err
			})
		return err
	})
	if err != nil {
		return err
	}
	taskID, _ := asynq.GetTaskID(ctx)
	w.log.Debug("scan task done", "job_id", p.JobID, "task_id", taskID, "dir", p.Dir, "files", len(files))
	w.publish(ctx, evs)
	return nil
}

func (w *Worker) child(p tasks.ScanDirPayload, dir, cursor string) tasks.ScanDirPayload {
	c := p
	c.Dir, c.Cursor, c.Unit = dir, cursor, tasks.ScanUnit(dir, cursor)
	return c
}

// spawn registers child units, then enqueues their tasks. Both are idempotent, so a retried
// task spawns nothing twice.
func (w *Worker) spawn(ctx context.Context, children []tasks.ScanDirPayload) error {
	if len(children) == 0 {
		return nil
	}
	units := make([]string, len(children))
	for i, c := range children {
		units[i] = c.Unit
	}
	if err := store.AddUnits(ctx, w.db, children[0].JobID, units); err != nil {
		return err
	}
	for _, c := range children {
		task, err := tasks.NewScanDirTask(c, asynq.Queue(queueOf(ctx)))
		if err != nil {
			return err
		}
		if _, err := w.queue.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
	}
	return nil
}

// queueOf returns the queue of the running task, so children stay in their parent's queue.
func queueOf(ctx context.Context) string {
	if q, ok := asynq.GetQueueName(ctx); ok {
		return q
	}
	return tasks.QueueDefault
}
