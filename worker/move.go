package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/zeebo/blake3"
	"golang.org/x/sync/errgroup"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/hashing"
	"github.com/filefleet/filefleet/organize"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/store"
)

// maxSuffix is how many suffixed names a move tries when its destination keeps being taken.
const maxSuffix = 1000

// movesAtOnce is how many moves of a batch one task carries out at a time: each waits mostly
// on storage and PostgreSQL round trips, and the plan's destinations are distinct.
const movesAtOnce = 8

// moveGroup carries out (or undoes) the moves of one batch of an organize plan and returns how
// many files it moved.
func (w *Worker) moveGroup(ctx context.Context, planID string, items []store.PlanItem, undo bool) (int64, error) {
	var n atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(movesAtOnce)
	for _, it := range items {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			var moved bool
			var err error
			switch {
			case undo && it.State == filefleet.ItemDone:
				moved, err = w.unmoveItem(gctx, planID, it)
			case !undo && (it.State == filefleet.ItemPlanned || it.State == filefleet.ItemInProgress):
				moved, err = w.moveItem(gctx, planID, it)
			}
			if moved {
				n.Add(1)
			}
			return err
		})
	}
	err := g.Wait()
	return n.Load(), err
}

// move is one organize item's two ends.
type move struct {
	src, dst storage.Backend
	it       store.PlanItem
}

func (w *Worker) openMove(ctx context.Context, it store.PlanItem) (move, error) {
	if it.DstRootID == nil {
		return move{}, fmt.Errorf("plan item %d has no destination", it.Seq)
	}
	src, err := w.backend(ctx, it.RootID)
	if err != nil {
		return move{}, err
	}
	dst, err := w.backend(ctx, *it.DstRootID)
	return move{src: src, dst: dst, it: it}, err
}

// moveItem moves one file to its planned destination, or to a suffixed name when something
// else took that place since the plan; it never overwrites. The destination is journaled
// before the move, so a retry after a crash finds the file at one end or the other.
func (w *Worker) moveItem(ctx context.Context, planID string, it store.PlanItem) (bool, error) {
	m, err := w.openMove(ctx, it)
	if err != nil {
		return false, err
	}
	if it.State == filefleet.ItemInProgress {
		if done, err := w.recoverMove(ctx, planID, m); err != nil || done {
			return done, err
		}
	}
	st, err := m.src.Stat(ctx, it.Path)
	switch {
	case filefleet.ErrorCode(err) == filefleet.ENOTFOUND:
		return false, store.JournalMove(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, it.DstPath, "file is gone since the plan; nothing moved")
	case err != nil:
		return false, err
	case st.Size != it.Size || !sameTime(st.ModTime, it.ModTime):
		return false, store.JournalMove(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, it.DstPath, "file changed since the plan; left in place")
	}
	planned := it.DstPath
	for n := 0; n <= maxSuffix; n++ {
		target := planned
		if n > 0 {
			target = organize.Suffixed(planned, n)
		}
		if err := store.JournalMove(ctx, w.db, planID, it.Seq, filefleet.ItemInProgress, target, ""); err != nil {
			return false, err
		}
		err := w.transferLocked(ctx, m, it.Path, target, it.Size, false)
		if filefleet.ErrorCode(err) == filefleet.ECONFLICT {
			continue // taken: try the next suffix
		}
		if errors.Is(err, hashing.ErrChanged) {
			return false, store.JournalMove(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, target, "file changed while being moved; left in place")
		}
		if err != nil {
			return false, err
		}
		return true, w.moved(ctx, planID, m, it.Path, target, false)
	}
	return false, store.JournalMove(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, planned,
		fmt.Sprintf("%d suffixed names of the destination are taken; left in place", maxSuffix))
}

// recoverMove finishes a move a crashed attempt left in progress: done is true when the file
// is at its destination now. When it is still at its place, the move starts over.
func (w *Worker) recoverMove(ctx context.Context, planID string, m move) (bool, error) {
	it := m.it
	srcThere, dstThere, err := m.ends(ctx, it.Path, it.DstPath)
	if err != nil {
		return false, err
	}
	switch {
	case !srcThere && dstThere:
		// The move went through, unless the original vanished and a file of another size
		// is at the destination: that file is not ours to record (or to move back later).
		if st, err := m.dst.Stat(ctx, it.DstPath); err != nil {
			return false, err
		} else if st.Size != it.Size {
			return false, nil // moveItem finds the original gone and skips the item
		}
		return true, w.moved(ctx, planID, m, it.Path, it.DstPath, false)
	case !srcThere && !dstThere:
		return false, store.JournalMove(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, it.DstPath, "file vanished while being moved")
	case srcThere && dstThere:
		if it.RootID == *it.DstRootID && strings.EqualFold(it.Path, it.DstPath) {
			// A case-only rename on storage that ignores case: both names are the one
			// file, which removing "the original" would delete. Rename again: the backend
			// changes the case, or refuses (ECONFLICT) if they are two files after all.
			err := m.transfer(ctx, it.Path, it.DstPath, it.Size, false)
			if err == nil {
				return true, w.moved(ctx, planID, m, it.Path, it.DstPath, false)
			} else if filefleet.ErrorCode(err) != filefleet.ECONFLICT {
				return false, err
			}
		}
		// A copy finished but the original was not removed yet (S3, across roots), or
		// another file took the destination: only the same content finishes the move.
		same, err := m.sameContent(ctx, it.Path, it.DstPath, it.Size)
		if err != nil || !same {
			return false, err
		}
		if err := m.src.Remove(ctx, it.Path); err != nil && filefleet.ErrorCode(err) != filefleet.ENOTFOUND {
			return false, err
		}
		return true, w.moved(ctx, planID, m, it.Path, it.DstPath, false)
	}
	return false, nil
}

// unmoveItem moves a file an executed plan moved back to its original path, unless another
// file is there now.
func (w *Worker) unmoveItem(ctx context.Context, planID string, it store.PlanItem) (bool, error) {
	m, err := w.openMove(ctx, it)
	if err != nil {
		return false, err
	}
	srcThere, dstThere, err := m.ends(ctx, it.Path, it.DstPath)
	if err != nil {
		return false, err
	}
	switch {
	case srcThere && !dstThere: // moved back by an earlier attempt
		return true, w.moved(ctx, planID, m, it.DstPath, it.Path, true)
	case !srcThere && !dstThere:
		return false, store.JournalMove(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, it.DstPath, "file is gone from its destination; nothing to move back")
	case srcThere && dstThere:
		if st, err := m.dst.Stat(ctx, it.DstPath); err != nil {
			return false, err
		} else if same, err := m.sameContent(ctx, it.Path, it.DstPath, st.Size); err != nil {
			return false, err
		} else if !same {
			return false, store.JournalMove(ctx, w.db, planID, it.Seq, it.State, it.DstPath,
				"another file is at the original path now; left at the destination")
		}
		if err := m.dst.Remove(ctx, it.DstPath); err != nil && filefleet.ErrorCode(err) != filefleet.ENOTFOUND {
			return false, err
		}
		return true, w.moved(ctx, planID, m, it.DstPath, it.Path, true)
	}
	st, err := m.dst.Stat(ctx, it.DstPath)
	if err != nil {
		return false, err
	}
	err = w.transferLocked(ctx, m, it.DstPath, it.Path, st.Size, true)
	if filefleet.ErrorCode(err) == filefleet.ECONFLICT || errors.Is(err, hashing.ErrChanged) {
		return false, store.JournalMove(ctx, w.db, planID, it.Seq, it.State, it.DstPath,
			"could not move back ("+filefleet.ErrorMessage(err)+"); left at the destination")
	} else if err != nil {
		return false, err
	}
	return true, w.moved(ctx, planID, m, it.DstPath, it.Path, true)
}

// ends reports whether the file at each end of a move exists.
func (m move) ends(ctx context.Context, srcPath, dstPath string) (srcThere, dstThere bool, err error) {
	if srcThere, err = storage.Exists(ctx, m.src, srcPath); err != nil {
		return false, false, err
	}
	dstThere, err = storage.Exists(ctx, m.dst, dstPath)
	return srcThere, dstThere, err
}

// transfer moves a file between the move's ends (back from dst to src when back is set):
// a rename within one root, else a streamed copy verified by size and BLAKE3, then removal of
// the original. ECONFLICT when to is taken.
func (m move) transfer(ctx context.Context, from, to string, size int64, back bool) error {
	fromB, toB := m.src, m.dst
	if back {
		fromB, toB = m.dst, m.src
	}
	if m.it.RootID == *m.it.DstRootID {
		return fromB.Rename(ctx, from, to)
	}
	if err := storage.Absent(ctx, toB, to); err != nil {
		return err
	}
	r, err := fromB.Open(ctx, from, 0, -1)
	if err != nil {
		return err
	}
	h := blake3.New()
	cr := &countingReader{r: io.TeeReader(r, h)}
	_, err = toB.Put(ctx, to, cr)
	r.Close()
	if err != nil {
		return err
	}
	sums, _, err := hashing.Full(ctx, toB, to, cr.n, nil)
	if err == nil && (cr.n != size || !bytes.Equal(sums.BLAKE3, h.Sum(nil))) {
		err = fmt.Errorf("%s: %w (copy of %d bytes does not match the %d-byte original)", from, hashing.ErrChanged, cr.n, size)
	}
	if err != nil {
		// Not a faithful copy: drop it; the original stays.
		if rerr := toB.Remove(context.WithoutCancel(ctx), to); rerr != nil && filefleet.ErrorCode(rerr) != filefleet.ENOTFOUND {
			return errors.Join(err, rerr)
		}
		return err
	}
	return fromB.Remove(ctx, from)
}

// transferLocked is m.transfer holding a lock on path to when the move copies (across roots,
// or within S3): there the check that to is free and the copy are apart, and two plans moving
// different files to one free name would both find it free; the second copy would replace
// the first after its original was removed.
func (w *Worker) transferLocked(ctx context.Context, m move, from, to string, size int64, back bool) error {
	if toRoot := *m.it.DstRootID; m.it.RootID != toRoot || storage.RenamesByCopy(m.dst) {
		if back {
			toRoot = m.it.RootID
		}
		release, err := store.LockPath(ctx, w.db, toRoot, to)
		if err != nil {
			return err
		}
		defer release()
	}
	return m.transfer(ctx, from, to, size, back)
}

// sameContent reports whether the files at both ends have size bytes and one BLAKE3.
func (m move) sameContent(ctx context.Context, srcPath, dstPath string, size int64) (bool, error) {
	a, _, err := hashing.Full(ctx, m.src, srcPath, size, nil)
	if errors.Is(err, hashing.ErrChanged) || filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	b, _, err := hashing.Full(ctx, m.dst, dstPath, size, nil)
	if errors.Is(err, hashing.ErrChanged) || filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return bytes.Equal(a.BLAKE3, b.BLAKE3), nil
}

// moved journals a finished move (or move back) and makes the catalog follow it.
func (w *Worker) moved(ctx context.Context, planID string, m move, from, to string, back bool) error {
	fromRoot, toB, toRoot, state, dstPath := m.it.RootID, m.dst, *m.it.DstRootID, filefleet.ItemDone, to
	if back {
		fromRoot, toB, toRoot, state, dstPath = toRoot, m.src, fromRoot, filefleet.ItemUndone, from
	}
	st, err := toB.Stat(ctx, to)
	if err != nil {
		return err
	}
	return store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		if err := store.JournalMove(ctx, tx, planID, m.it.Seq, state, dstPath, ""); err != nil {
			return err
		}
		return store.MoveFile(ctx, tx, fromRoot, from, store.MovedFile{RootID: toRoot, Path: to, Size: st.Size,
			ModTime: st.ModTime, ETag: st.ETag})
	})
}

// sameTime compares modification times to the second (S3 reports listings in milliseconds
// and HEAD in seconds); an unknown time matches any.
func sameTime(a, b time.Time) bool {
	return a.IsZero() || b.IsZero() || a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// organizeProgress adds an organize_progress event (the File Organizer seed's name) beside each
// job_progress event of an organize execute or undo job.
func organizeProgress(ctx context.Context, tx *sqlx.Tx, job *filefleet.Job, c *completion) error {
	if job.Type != filefleet.JobTypeOrganizeExecute && job.Type != filefleet.JobTypeOrganizeUndo {
		return nil
	}
	var twins []filefleet.Event
	for _, ev := range c.events {
		if ev.Type == filefleet.EventJobProgress {
			twin := ev
			twin.ID, twin.Type = 0, filefleet.EventOrganizeProgress
			if err := store.AddEvent(ctx, tx, &twin); err != nil {
				return err
			}
			twins = append(twins, twin)
		}
	}
	c.events = append(c.events, twins...)
	return nil
}
