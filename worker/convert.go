package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/zeebo/blake3"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/convert"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// converterTTL is how long a worker's advertisement of what it converts lives in Redis; it is
// renewed at a third of that.
const converterTTL = 30 * time.Second

func (w *Worker) handleConvert(ctx context.Context, t *asynq.Task) error {
	return w.runSolo(ctx, t, "convert", w.runConversion)
}

// runConversion copies a convert job's source to a local work file, converts it with the
// worker's tools (the child dies when ctx ends), and stores the result in the target root.
// The source is read first: ffmpeg needs to seek in most containers.
func (w *Worker) runConversion(ctx context.Context, job *filefleet.Job, report reportFunc) (any, int64, int64, error) {
	var c filefleet.ConvertParams
	if err := json.Unmarshal(job.Params, &c); err != nil {
		return nil, 0, 0, filefleet.WrapError(filefleet.EINVALID, err, "convert params")
	}
	kind, err := convert.Plan(c.SourceFormat, c.TargetFormat)
	if err != nil {
		return nil, 0, 0, err
	}
	dir, err := os.MkdirTemp(w.cfg.WorkDir, "convert-")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	srcFile, dstFile := filepath.Join(dir, "source."+c.SourceFormat), filepath.Join(dir, "target."+c.TargetFormat)
	read, err := w.fetch(ctx, c.RootID, c.SourcePath, srcFile)
	if err != nil {
		return nil, 0, 0, err
	}
	opts := convert.Options{Quality: c.Quality, Settings: c.Settings}
	err = w.tools.Run(ctx, srcFile, c.SourceFormat, dstFile, c.TargetFormat, opts, func(p convert.Progress) {
		report(0, read, percentOf(int64(p.Done), int64(p.Total)))
	})
	var fe *filefleet.Error
	if errors.As(err, &fe) { // name the source as the user knows it, not the work file
		fe.Message = strings.ReplaceAll(fe.Message, srcFile, c.Root+":"+c.SourcePath)
	}
	if err != nil {
		return nil, 0, 0, err
	}
	res := filefleet.ConvertResult{Root: c.TargetRoot, Path: c.TargetPath}
	if kind != convert.KindDocument {
		info, err := w.tools.Probe(ctx, dstFile)
		if err != nil {
			return nil, 0, 0, err
		}
		res.Format, res.Duration = info.FormatName, info.Duration.Seconds()
		for _, s := range info.Streams {
			res.Codecs = append(res.Codecs, s.CodecName)
		}
	}
	if res.Size, res.BLAKE3, err = w.upload(ctx, c.TargetRootID, c.TargetPath, dstFile, c.Overwrite); err != nil {
		return nil, 0, 0, err
	}
	return res, 1, read, nil
}

// fetch copies file p of root rootID into the local file dst and returns the bytes copied.
func (w *Worker) fetch(ctx context.Context, rootID int64, p, dst string) (int64, error) {
	b, err := w.backend(ctx, rootID)
	if err != nil {
		return 0, err
	}
	r, err := b.Open(ctx, p, 0, -1)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	f, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	w.countRead(rootID, n)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// upload copies the local file src to path p of root rootID (replacing a file there only
// with overwrite), records it in the catalog and returns its size and BLAKE3 (hex).
func (w *Worker) upload(ctx context.Context, rootID int64, p, src string, overwrite bool) (int64, string, error) {
	b, err := w.backend(ctx, rootID)
	if err != nil {
		return 0, "", err
	}
	release, err := w.claimTarget(ctx, b, rootID, p, overwrite)
	if err != nil {
		return 0, "", err
	}
	defer release()
	f, err := os.Open(src)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	sum := blake3.New()
	e, err := b.Put(ctx, p, io.TeeReader(f, sum))
	if err != nil {
		return 0, "", fmt.Errorf("write %s: %w", p, err)
	}
	digest := sum.Sum(nil)
	// The file is in place: record it even if the job was canceled meanwhile.
	if _, err := store.RecordWritten(context.WithoutCancel(ctx), w.db, rootID, e, digest); err != nil {
		return 0, "", err
	}
	return e.Size, fmt.Sprintf("%x", digest), nil
}

// advertise keeps the kinds this worker converts in Redis until ctx ends, for GET
// /conversions/formats.
func (w *Worker) advertise(ctx context.Context) {
	var kinds []string
	for _, k := range w.tools.Kinds() {
		kinds = append(kinds, string(k))
	}
	tick := time.NewTicker(converterTTL / 3)
	defer tick.Stop()
	for {
		if err := tasks.AdvertiseConverter(ctx, w.rdb, w.cfg.Name, kinds, converterTTL); err != nil && ctx.Err() == nil {
			w.log.Warn("advertise converter", "err", err)
		}
		select {
		case <-ctx.Done():
			tasks.WithdrawConverter(context.WithoutCancel(ctx), w.rdb, w.cfg.Name)
			return
		case <-tick.C:
		}
	}
}
