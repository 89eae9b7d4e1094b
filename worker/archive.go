package worker

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hibiken/asynq"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/archive"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/store"
)

func (w *Worker) handleArchive(ctx context.Context, t *asynq.Task) error {
	return w.runSolo(ctx, t, "archive", w.writeArchive)
}

// writeArchive streams an archive job's files from their root into the target root: the
// archive is written as it is read, through a pipe, so memory stays flat whatever its size;
// the target never shows a partly written archive (storage.Backend.Put).
func (w *Worker) writeArchive(ctx context.Context, job *filefleet.Job, report reportFunc) (any, int64, int64, error) {
	var a filefleet.ArchiveParams
	if err := json.Unmarshal(job.Params, &a); err != nil {
		return nil, 0, 0, filefleet.WrapError(filefleet.EINVALID, err, "archive params")
	}
	f, err := archive.ParseFormat(a.Format)
	if err != nil {
		return nil, 0, 0, err
	}
	src, err := w.backend(ctx, a.RootID)
	if err != nil {
		return nil, 0, 0, err
	}
	dst, err := w.backend(ctx, a.TargetRootID)
	if err != nil {
		return nil, 0, 0, err
	}
	sel := archive.Selection{Prefix: a.Prefix, Paths: a.Paths}
	if a.TargetRootID == a.RootID {
		sel.Exclude = a.TargetPath
	}
	l, err := archive.Collect(ctx, src, sel, 0)
	if err != nil {
		return nil, 0, 0, err
	}
	release, err := w.claimTarget(ctx, dst, a.TargetRootID, a.TargetPath, a.Overwrite)
	if err != nil {
		return nil, 0, 0, err
	}
	defer release()
	pr, pw := io.Pipe()
	put := make(chan storage.Entry, 1)
	putErr := make(chan error, 1)
	go func() {
		e, err := dst.Put(ctx, a.TargetPath, pr)
		pr.CloseWithError(cmpErr(err, io.ErrClosedPipe))
		put <- e
		putErr <- err
	}()
	sum, err := archive.Write(ctx, pw, f, src, l.Files, func(n int64) {
		report(0, n, percentOf(n, l.Bytes))
	})
	pw.CloseWithError(err) // nil: the writer sees EOF and finishes the upload
	entry, perr := <-put, <-putErr
	w.countRead(a.RootID, sum.Bytes)
	if err != nil {
		return nil, 0, 0, err
	}
	if perr != nil {
		return nil, 0, 0, fmt.Errorf("write %s: %w", a.TargetPath, perr)
	}
	b3, _ := hex.DecodeString(sum.BLAKE3)
	// The archive is in place: record it even if the job was canceled meanwhile.
	if _, err := store.RecordWritten(context.WithoutCancel(ctx), w.db, a.TargetRootID, entry, b3); err != nil {
		return nil, 0, 0, err
	}
	res := filefleet.ArchiveResult{Root: a.TargetRoot, Path: a.TargetPath, Format: string(f), Size: sum.Size,
		Entries: sum.Entries, Bytes: sum.Bytes, BLAKE3: sum.BLAKE3}
	return res, int64(sum.Entries), sum.Bytes, nil
}

// claimTarget makes sure a job may write its output to path p of root rootID: with
// overwrite anything there is replaced; without, p must still be free. The submit checked it
// too, but a conversion may run days later, and two jobs may aim at one name (a.mp4 and a.mkv
// both to a.webm): so the check is made again, under a lock on p held until release, and a
// taken p fails the job for good. A lock held through a long write keeps one connection and
// no snapshot.
func (w *Worker) claimTarget(ctx context.Context, b storage.Backend, rootID int64, p string, overwrite bool) (release func(), err error) {
	if overwrite {
		return func() {}, nil
	}
	if release, err = store.LockPath(ctx, w.db, rootID, p); err != nil {
		return nil, err
	}
	if err := storage.Absent(ctx, b, p); err != nil {
		release()
		if filefleet.ErrorCode(err) == filefleet.ECONFLICT {
			err = fmt.Errorf("%w: %w", filefleet.Errorf(filefleet.ECONFLICT,
				"%s appeared after the job was submitted; nothing was replaced: submit again with \"overwrite\": true or another target", p),
				asynq.SkipRetry)
		}
		return nil, err
	}
	return release, nil
}

// cmpErr is err, or def when err is nil.
func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// percentOf is done as a percentage of total.
func percentOf(done, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return float64(done) * 100 / float64(total)
}
