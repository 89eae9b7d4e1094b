package worker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// handleScanDir lists one page of one directory: it queues a task for each subdirectory and
// for the next page first (so other workers share the scan), then stores the page's files and
// completes its unit in one transaction. The unit that completes last marks the files this
// scan did not see as deleted and finishes the job.
func (w *Worker) handleScanDir(ctx context.Context, t *asynq.Task) error {
	var p tasks.ScanDirPayload
	job, ok, err := w.begin(ctx, t, &p)
	if err != nil || !ok {
		return err
	}
	b, err := w.backend(ctx, p.RootID)
	if err != nil {
		return err
	}
	entries, next, err := b.List(ctx, p.Dir, p.Cursor, w.cfg.ScanPageSize)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND && p.Dir != p.Prefix {
		// Removed since its parent listed it: a live tree changes under a scan. Nothing to
		// store; the end of the scan marks what was under it deleted.
		entries, next, err = nil, "", nil
	}
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
		files = append(files, scanned(e))
		bytes += e.Size
	}
	if next != "" {
		children = append(children, w.child(p, p.Dir, next))
	}
	if err := w.spawn(ctx, children); err != nil {
		return err
	}

	var c completion
	err = store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		if err := store.UpsertFiles(ctx, tx, p.RootID, p.Gen, files); err != nil {
			return err
		}
		c, err = w.finishUnit(ctx, tx, p.Header, int64(len(files)), bytes, w.onLast(ctx, job, tasks.StageScan,
			func(tx *sqlx.Tx, prog filefleet.Progress) (any, error) {
				deleted, err := markUnseenDeleted(ctx, tx, store.Scope{RootID: p.RootID, Root: job.RootName,
					Prefix: p.Prefix}, p.Gen, allowEmpty(job))
				return filefleet.ScanResult{Files: prog.Files, Bytes: prog.Bytes, Deleted: deleted,
					Generation: p.Gen}, err
			}))
		return err
	})
	if err != nil {
		return err
	}
	w.log.DebugContext(ctx, "scan task done", "dir", p.Dir, "files", len(files))
	return w.after(ctx, c)
}

// markUnseenDeleted marks the files of scope that scan generation gen did not see deleted.
// When it saw none at all while the catalog holds some, it refuses, unless allowEmpty: an
// unmounted disk or share lists as an empty directory, and the whole catalogue of the scope
// would go (its hashes with it) for a mount that failed.
func markUnseenDeleted(ctx context.Context, tx *sqlx.Tx, scope store.Scope, gen int64, allowEmpty bool) (int64, error) {
	if !allowEmpty {
		n, err := store.VanishedFiles(ctx, tx, scope.RootID, gen, scope.Prefix)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			where := "root " + scope.Root
			if scope.Prefix != "" {
				where = scope.Root + "/" + scope.Prefix
			}
			return 0, fmt.Errorf("%w: %w", filefleet.Errorf(filefleet.EUNPROCESSABLE, "the scan found no file in %s, "+
				"yet the catalog holds %d there: is its storage mounted? Nothing was marked deleted; scan again once "+
				"it is, or with \"allow_empty\": true if those files are gone for good", where, n), asynq.SkipRetry)
		}
	}
	return store.MarkDeleted(ctx, tx, scope.RootID, gen, scope.Prefix)
}

// allowEmpty reads the allow_empty option of a scan job's params.
func allowEmpty(job *filefleet.Job) bool {
	var p struct {
		AllowEmpty bool `json:"allow_empty"`
	}
	_ = json.Unmarshal(job.Params, &p)
	return p.AllowEmpty
}

func (w *Worker) child(p tasks.ScanDirPayload, dir, cursor string) tasks.ScanDirPayload {
	c := p
	c.Dir, c.Cursor, c.Unit = dir, cursor, p.UnitPrefix+tasks.ScanUnit(dir, cursor)
	return c
}

// spawn registers child units with their tasks, then queues them. Both are idempotent, so a
// retried task spawns nothing twice.
func (w *Worker) spawn(ctx context.Context, children []tasks.ScanDirPayload) error {
	if len(children) == 0 {
		return nil
	}
	units := make([]store.UnitTask, len(children))
	for i, c := range children {
		var err error
		if units[i], err = unitTask(tasks.TypeScanDir, c.Header, c); err != nil {
			return err
		}
	}
	if err := store.AddUnitTasks(ctx, w.db, children[0].JobID, units); err != nil {
		return err
	}
	return w.enqueue(ctx, children[0].JobID, units)
}

// queueOf returns the queue of the running task, so children stay in their parent's queue.
func queueOf(ctx context.Context) string {
	if q, ok := asynq.GetQueueName(ctx); ok {
		return q
	}
	return tasks.QueueDefault
}

// scanned is the catalog record of a storage entry.
func scanned(e storage.Entry) store.ScannedFile {
	return store.ScannedFile{Path: e.Path, Size: e.Size, ModTime: e.ModTime, ETag: e.ETag, FileKey: e.FileKey}
}
