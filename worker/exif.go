package worker

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/organize"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// Bounds of EXIF reading: images per task, and bytes read from the head of each (EXIF sits in
// the first segment of a JPEG or the first IFD of a TIFF).
const (
	exifTaskFiles = 200
	exifHeadBytes = 256 << 10
)

// exifUnits splits the images whose EXIF date is unknown into tasks.
func (w *Worker) exifUnits(ctx context.Context, jobID string, params tasks.StagedParams) ([]store.UnitTask, error) {
	ids, err := store.ExifTargets(ctx, w.db, params.Scopes)
	if err != nil {
		return nil, err
	}
	var units []store.UnitTask
	for i := 0; i < len(ids); i += exifTaskFiles {
		h := tasks.Header{JobID: jobID, Unit: fmt.Sprintf("%s:%d", tasks.StageExif, len(units))}
		u, err := unitTask(tasks.TypeExifFiles, h, tasks.HashFilesPayload{Header: h, Stage: tasks.StageExif,
			FileIDs: ids[i:min(i+exifTaskFiles, len(ids))]})
		if err != nil {
			return nil, err
		}
		units = append(units, u)
	}
	return units, nil
}

// handleExifFiles reads the EXIF dates of a batch of images; vanished files are skipped.
func (w *Worker) handleExifFiles(ctx context.Context, t *asynq.Task) error {
	var p tasks.HashFilesPayload
	job, ok, err := w.begin(ctx, t, &p)
	if err != nil || !ok {
		return err
	}
	files, _, err := w.batchFiles(ctx, p)
	if err != nil {
		return err
	}
	var dates []store.ExifDate
	var read, dated int64
	for _, f := range files {
		b, err := w.backend(ctx, f.RootID)
		if err != nil {
			return err
		}
		r, err := b.Open(ctx, f.Path, 0, min(f.Size, exifHeadBytes))
		if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		cr := &countingReader{r: r}
		taken, found := organize.TakenAt(cr)
		r.Close()
		read += cr.n
		w.countRead(f.RootID, cr.n)
		d := store.ExifDate{Target: f}
		if found {
			d.TakenAt, dated = &taken, dated+1
		}
		dates = append(dates, d)
	}
	counters := map[string]int64{"exif_images": int64(len(dates)), "exif_dated": dated, "bytes_read_exif": read}
	return w.completeBatch(ctx, job, p.Header, p.Stage, int64(len(dates)), read, counters, func(tx *sqlx.Tx) error {
		return store.SetExifDates(ctx, tx, dates)
	})
}

// organizeResult ends an organize job: counts, and the plan of moves when the job was given a
// methodology.
func (w *Worker) organizeResult(ctx context.Context, tx *sqlx.Tx, job *filefleet.Job, params tasks.StagedParams,
	counters map[string]int64) (any, error) {
	files, _, err := store.ScopeCounts(ctx, tx, params.Scopes)
	if err != nil {
		return nil, err
	}
	res := organize.ScanResult{Files: files, ImagesRead: counters["exif_images"], ImagesDated: counters["exif_dated"]}
	if len(params.Organize) == 0 {
		return res, nil
	}
	req, err := organize.ParseRequest(params.Organize)
	if err != nil {
		return nil, fmt.Errorf("job %s organize request: %v: %w", job.ID, err, asynq.SkipRetry)
	}
	plan, sum, err := organize.Preview(ctx, tx, &job.ID, req)
	if err != nil {
		return nil, err
	}
	res.PlanID, res.Summary = plan.ID, &sum
	return res, nil
}
