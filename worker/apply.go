package worker

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"path"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/hashing"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// applyTaskGroups is how many duplicate groups one apply task carries out.
const applyTaskGroups = 20

// applyUnits splits a plan's groups into apply tasks.
func applyUnits(ctx context.Context, q sqlx.QueryerContext, jobID string, params tasks.StagedParams, undo bool) ([]store.UnitTask, error) {
	groups, err := store.PlanGroups(ctx, q, params.PlanID)
	if err != nil {
		return nil, err
	}
	var units []store.UnitTask
	for i := 0; i < len(groups); i += applyTaskGroups {
		h := tasks.Header{JobID: jobID, Unit: fmt.Sprintf("%s:%d", tasks.StageApply, len(units))}
		u, err := unitTask(tasks.TypePlanApply, h, tasks.PlanApplyPayload{Header: h, PlanID: params.PlanID,
			Groups: groups[i:min(i+applyTaskGroups, len(groups))], Undo: undo})
		if err != nil {
			return nil, err
		}
		units = append(units, u)
	}
	return units, nil
}

// handlePlanApply carries out (or undoes) a batch of a plan's groups. Every change to a file
// is journaled before and after it, so a retry after a crash finds where each file is.
func (w *Worker) handlePlanApply(ctx context.Context, t *asynq.Task) error {
	var p tasks.PlanApplyPayload
	job, ok, err := w.begin(ctx, t, &p)
	if err != nil || !ok {
		return err
	}
	items, err := store.PlanItems(ctx, w.db, p.PlanID, p.Groups)
	if err != nil {
		return err
	}
	var files int64
	for start := 0; start < len(items); {
		end := start
		for end < len(items) && items[end].GroupID == items[start].GroupID {
			end++
		}
		n, err := w.applyGroup(ctx, job.ID, p.PlanID, items[start:end], p.Undo)
		if err != nil {
			return err
		}
		files += n
		start = end
	}
	var c completion
	err = store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		c, err = w.finishUnit(ctx, tx, p.Header, files, 0, w.onLast(ctx, job, tasks.StageApply, nil))
		if err != nil {
			return err
		}
		return organizeProgress(ctx, tx, job, &c)
	})
	if err != nil {
		return err
	}
	return w.after(ctx, c)
}

// applyGroup carries out or undoes one group; it returns how many files it changed.
func (w *Worker) applyGroup(ctx context.Context, jobID, planID string, items []store.PlanItem, undo bool) (int64, error) {
	if items[0].Action == filefleet.ActionMove {
		return w.moveGroup(ctx, planID, items, undo)
	}
	release, err := store.LockContent(ctx, w.db, items[0].Size)
	if err != nil {
		return 0, err
	}
	defer release()
	if undo {
		return w.undoGroup(ctx, planID, items)
	}
	var keep *store.PlanItem
	for i := range items {
		if items[i].Action == filefleet.ActionKeep {
			keep = &items[i]
		}
	}
	if keep == nil {
		return 0, fmt.Errorf("plan %s group %d has no kept file: %w", planID, items[0].GroupID, asynq.SkipRetry)
	}
	var changed int64
	var keepSum []byte // BLAKE3 of the kept copy, read once the group has work
	for _, it := range items {
		if it.Action == filefleet.ActionKeep || it.Action == filefleet.ActionReport ||
			(it.State != filefleet.ItemPlanned && it.State != filefleet.ItemInProgress) {
			continue
		}
		b, err := w.backend(ctx, it.RootID)
		if err != nil {
			return changed, err
		}
		copied := false // the trash holds a whole copy already: only the original remains to remove
		if it.State == filefleet.ItemInProgress {
			var done bool
			if done, copied, err = w.recoverItem(ctx, b, planID, it); err != nil {
				return changed, err
			}
			if done {
				changed++
				continue
			}
		}
		if keepSum == nil {
			// The kept copy must be there, whole and unchanged, before anything else goes.
			reason, sum, err := w.verify(ctx, *keep, nil)
			if err != nil {
				return changed, err
			} else if reason != "" {
				return changed, w.skipRest(ctx, planID, items, "kept copy "+keep.Root+"/"+keep.Path+" "+reason+"; nothing removed")
			}
			keepSum = sum
		}
		if reason, _, err := w.verify(ctx, it, keepSum); err != nil {
			return changed, err
		} else if reason != "" {
			msg := "file " + reason + "; left alone"
			if copied {
				if reason == "is gone" { // another attempt finished the move meanwhile
					if err := w.itemDone(ctx, planID, it, filefleet.ItemDone, true); err != nil {
						return changed, err
					}
					changed++
					continue
				}
				msg += "; a copy of it as planned is at " + it.TrashPath
			}
			if err := store.JournalItem(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, "", msg); err != nil {
				return changed, err
			}
			continue
		}
		groupReason, itemReason, err := w.keepCheck(ctx, *keep, it)
		if err != nil {
			return changed, err
		} else if groupReason != "" {
			return changed, w.skipRest(ctx, planID, items, groupReason)
		} else if itemReason != "" {
			if err := store.JournalItem(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, "", itemReason); err != nil {
				return changed, err
			}
			continue
		}
		if copied {
			err = w.finishTrash(ctx, b, planID, it)
		} else {
			err = w.removeItem(ctx, b, jobID, planID, it)
		}
		if err != nil {
			return changed, err
		}
		changed++
	}
	return changed, nil
}

// verify reads a plan item's file and says why it no longer matches the plan ("" if it does):
// its planned hash (BLAKE3, or MD5 for groups found by S3 ETags) and, when keep is given, the
// BLAKE3 of the kept copy. It returns the file's BLAKE3.
func (w *Worker) verify(ctx context.Context, it store.PlanItem, keep []byte) (string, []byte, error) {
	b, err := w.backend(ctx, it.RootID)
	if err != nil {
		return "", nil, err
	}
	byMD5 := len(it.Hash) == md5.Size
	var algos []filefleet.HashAlgo
	if byMD5 {
		algos = append(algos, filefleet.HashMD5)
	}
	sums, n, err := hashing.Full(ctx, b, it.Path, it.Size, algos)
	w.countRead(it.RootID, n)
	switch {
	case filefleet.ErrorCode(err) == filefleet.ENOTFOUND:
		return "is gone", nil, nil
	case errors.Is(err, hashing.ErrChanged):
		return "changed size since the plan", nil, nil
	case err != nil:
		return "", nil, err
	case byMD5 && !bytes.Equal(sums.MD5, it.Hash), !byMD5 && !bytes.Equal(sums.BLAKE3, it.Hash),
		keep != nil && !bytes.Equal(sums.BLAKE3, keep):
		return "changed content since the plan", nil, nil
	}
	return "", sums.BLAKE3, nil
}

// keepCheck looks at the kept copy again right before item it goes. The group stops
// (groupReason) when the kept copy is gone or changed size since the group began; the item
// is left alone (itemReason) when it is the kept copy itself under a second path: a symlink
// or a hard link, or a file seen through two roots that overlap. Backends that know no file
// identity from a stat (S3, SMB) skip that second check; their listings give hard links
// and links the server follows one identity already, so such paths do not form groups.
func (w *Worker) keepCheck(ctx context.Context, keep, it store.PlanItem) (groupReason, itemReason string, err error) {
	kb, err := w.backend(ctx, keep.RootID)
	if err != nil {
		return "", "", err
	}
	kept, err := kb.Stat(ctx, keep.Path)
	name := keep.Root + "/" + keep.Path
	switch {
	case filefleet.ErrorCode(err) == filefleet.ENOTFOUND:
		return "kept copy " + name + " is gone; nothing more removed", "", nil
	case err != nil:
		return "", "", err
	case kept.Size != keep.Size:
		return "kept copy " + name + " changed size; nothing more removed", "", nil
	case kept.FileKey == "":
		return "", "", nil
	}
	ib, err := w.backend(ctx, it.RootID)
	if err != nil {
		return "", "", err
	}
	if e, err := ib.Stat(ctx, it.Path); err == nil && e.FileKey == kept.FileKey {
		return "", "is the kept copy " + name + " under another path (a link, or roots that overlap); left alone", nil
	} else if err != nil && filefleet.ErrorCode(err) != filefleet.ENOTFOUND {
		return "", "", err
	}
	return "", "", nil
}

// removeItem trashes or deletes a verified duplicate, journaling before and after.
func (w *Worker) removeItem(ctx context.Context, b storage.Backend, jobID, planID string, it store.PlanItem) error {
	trash := ""
	if it.Action == filefleet.ActionTrash {
		trash = path.Join(filefleet.TrashDir, jobID, it.Path)
	}
	if err := store.JournalItem(ctx, w.db, planID, it.Seq, filefleet.ItemInProgress, trash, ""); err != nil {
		return err
	}
	var err error
	if trash != "" {
		err = b.Rename(ctx, it.Path, trash)
	} else {
		err = b.Remove(ctx, it.Path)
	}
	if err != nil {
		return err
	}
	return w.itemDone(ctx, planID, it, filefleet.ItemDone, true)
}

// recoverItem finishes an item a crashed attempt left in progress: done is true when the file
// is already where the step puts it, or is gone from both ends (skipped), or its trash path is
// taken by another file (skipped). copied is true when both the file and a whole copy at its
// trash path exist: S3 renames by copying, then deleting, and the attempt died in between.
func (w *Worker) recoverItem(ctx context.Context, b storage.Backend, planID string, it store.PlanItem) (done, copied bool, err error) {
	atPlace, err := storage.Exists(ctx, b, it.Path)
	if err != nil {
		return false, false, err
	}
	if it.Action != filefleet.ActionTrash {
		if atPlace {
			return false, false, nil // verify and delete again
		}
		return true, false, w.itemDone(ctx, planID, it, filefleet.ItemDone, true)
	}
	inTrash, err := storage.Exists(ctx, b, it.TrashPath)
	if err != nil {
		return false, false, err
	}
	switch {
	case !atPlace && inTrash:
		return true, false, w.itemDone(ctx, planID, it, filefleet.ItemDone, true)
	case !atPlace:
		return true, false, store.JournalItem(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, "", "file vanished while being trashed")
	case !inTrash:
		return false, false, nil // the attempt died before moving it: verify and trash again
	}
	whole, err := w.holdsPlanned(ctx, it, it.TrashPath)
	if err != nil || whole {
		return false, whole, err
	}
	return true, false, store.JournalItem(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, "",
		"another file is at its trash path "+it.TrashPath+"; left alone")
}

// holdsPlanned reports whether file p of the item's root holds the item's planned content.
func (w *Worker) holdsPlanned(ctx context.Context, it store.PlanItem, p string) (bool, error) {
	at := it
	at.Path = p
	reason, _, err := w.verify(ctx, at, nil)
	return err == nil && reason == "", err
}

// finishTrash removes a verified file whose trash copy a crashed attempt completed.
func (w *Worker) finishTrash(ctx context.Context, b storage.Backend, planID string, it store.PlanItem) error {
	if err := b.Remove(ctx, it.Path); err != nil && filefleet.ErrorCode(err) != filefleet.ENOTFOUND {
		return err
	}
	return w.itemDone(ctx, planID, it, filefleet.ItemDone, true)
}

// itemDone journals a finished step and marks the file deleted (or not) in the catalog.
func (w *Worker) itemDone(ctx context.Context, planID string, it store.PlanItem, state filefleet.ItemState, deleted bool) error {
	return store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		if err := store.JournalItem(ctx, tx, planID, it.Seq, state, "", ""); err != nil {
			return err
		}
		return store.SetDeleted(ctx, tx, it.RootID, it.Path, deleted)
	})
}

// skipRest journals every open item of a group as skipped for reason.
func (w *Worker) skipRest(ctx context.Context, planID string, items []store.PlanItem, reason string) error {
	for _, it := range items {
		if it.Action != filefleet.ActionKeep && it.State == filefleet.ItemPlanned {
			if err := store.JournalItem(ctx, w.db, planID, it.Seq, filefleet.ItemSkipped, "", reason); err != nil {
				return err
			}
		}
	}
	return nil
}

// undoGroup moves a group's trashed files back, unless something else is at their place
// now. Items an interrupted execute left in progress are undone too: wherever the file is
// (at its place, in the trash, or both after half an S3 rename), it ends at its place.
func (w *Worker) undoGroup(ctx context.Context, planID string, items []store.PlanItem) (int64, error) {
	var n int64
	for _, it := range items {
		if it.Action != filefleet.ActionTrash || it.TrashPath == "" ||
			(it.State != filefleet.ItemDone && it.State != filefleet.ItemInProgress) {
			continue
		}
		b, err := w.backend(ctx, it.RootID)
		if err != nil {
			return n, err
		}
		back, err := w.undoItem(ctx, b, planID, it)
		if err != nil {
			return n, err
		}
		if back {
			n++
		}
	}
	return n, nil
}

// undoItem brings one trashed file back to its place and reports whether it is back.
func (w *Worker) undoItem(ctx context.Context, b storage.Backend, planID string, it store.PlanItem) (bool, error) {
	atPlace, err := storage.Exists(ctx, b, it.Path)
	if err != nil {
		return false, err
	}
	inTrash, err := storage.Exists(ctx, b, it.TrashPath)
	if err != nil {
		return false, err
	}
	leave := func(state filefleet.ItemState, msg string) (bool, error) {
		return false, store.JournalItem(ctx, w.db, planID, it.Seq, state, "", msg)
	}
	if !atPlace {
		if !inTrash {
			return leave(filefleet.ItemSkipped, "its trash copy "+it.TrashPath+" is gone (removed from the trash?); nothing to restore")
		}
		if err := b.Rename(ctx, it.TrashPath, it.Path); err != nil {
			return false, err
		}
		return true, w.itemDone(ctx, planID, it, filefleet.ItemUndone, false)
	}
	// Something is at the place: the file itself (an earlier attempt moved it back, or the
	// execute never moved it) or another file that took the path since.
	ours, err := w.holdsPlanned(ctx, it, it.Path)
	if err != nil {
		return false, err
	}
	switch {
	case ours && inTrash: // an S3 rename (copy, then delete) died before deleting its source
		if err := b.Remove(ctx, it.TrashPath); err != nil && filefleet.ErrorCode(err) != filefleet.ENOTFOUND {
			return false, err
		}
		return true, w.itemDone(ctx, planID, it, filefleet.ItemUndone, false)
	case ours:
		return true, w.itemDone(ctx, planID, it, filefleet.ItemUndone, false)
	case inTrash:
		return leave(it.State, "a file is at the original path again; left in the trash")
	}
	return leave(filefleet.ItemSkipped, "its trash copy is gone and another file is at the original path; nothing to restore")
}
