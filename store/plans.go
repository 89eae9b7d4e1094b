package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
)

// Plan kinds: what a stored plan does.
const (
	PlanKindDedupe   = "dedupe"
	PlanKindOrganize = "organize"
)

// Plan is a stored plan of destructive work.
type Plan struct {
	ID        string              `json:"plan_id" db:"id"`
	Kind      string              `json:"kind" db:"kind"`
	JobID     *string             `json:"job_id,omitempty" db:"job_id"` // the scan it plans from, if any
	Status    filefleet.PlanState `json:"status" db:"status"`
	Params    json.RawMessage     `json:"params" db:"params"`
	ExecJobID *string             `json:"execute_job_id,omitempty" db:"exec_job_id"`
	UndoJobID *string             `json:"undo_job_id,omitempty" db:"undo_job_id"`
	CreatedAt time.Time           `json:"created_at" db:"created_at"`
}

// PlanItem is one file of a plan and its journal state. Dedupe items form groups (one file
// kept, the others trashed, deleted or reported); organize items move a file to DstRoot/DstPath
// and come in groups too, batches carried out by one task.
type PlanItem struct {
	Seq       int                  `json:"seq" db:"seq"`
	GroupID   int64                `json:"group_id" db:"group_id"`
	Action    filefleet.PlanAction `json:"action" db:"action"`
	RootID    int64                `json:"-" db:"root_id"`
	Root      string               `json:"root" db:"root_name"`
	Path      string               `json:"path" db:"path"`
	Size      int64                `json:"size" db:"size"`
	ModTime   time.Time            `json:"modified_at" db:"mtime"`
	Hash      []byte               `json:"-" db:"hash"`
	KeepSeq   int                  `json:"keep_seq" db:"keep_seq"`
	TrashPath string               `json:"trash_path,omitempty" db:"trash_path"`
	DstRootID *int64               `json:"-" db:"dst_root_id"`
	DstRoot   *string              `json:"dst_root,omitempty" db:"dst_root_name"`
	DstPath   string               `json:"dst_path,omitempty" db:"dst_path"`
	State     filefleet.ItemState  `json:"state" db:"state"`
	Message   string               `json:"message,omitempty" db:"message"`
}

// CreatePlan stores a plan awaiting approval with its items.
func CreatePlan(ctx context.Context, q sqlx.ExtContext, p Plan, items []PlanItem) error {
	_, err := q.ExecContext(ctx, `INSERT INTO plans (id, kind, job_id, status, params) VALUES ($1, $2, $3, $4, $5)`,
		p.ID, p.Kind, p.JobID, filefleet.PlanAwaitingApproval, string(p.Params))
	if err != nil {
		return translate(err, "create plan")
	}
	n := len(items)
	seqs, keeps := make([]int64, n), make([]int64, n)
	groups, roots, sizes := make([]int64, n), make([]int64, n), make([]int64, n)
	actions, paths, mtimes := make([]string, n), make([]string, n), make([]string, n)
	hashes := make([][]byte, n)
	dstRoots, dstPaths := make([]sql.NullInt64, n), make([]string, n)
	for i, it := range items {
		seqs[i], keeps[i], groups[i], roots[i], sizes[i] = int64(it.Seq), int64(it.KeepSeq), it.GroupID, it.RootID, it.Size
		actions[i], paths[i], mtimes[i], hashes[i] = string(it.Action), it.Path, it.ModTime.UTC().Format(time.RFC3339Nano), it.Hash
		if it.DstRootID != nil {
			dstRoots[i] = sql.NullInt64{Int64: *it.DstRootID, Valid: true}
		}
		dstPaths[i] = it.DstPath
	}
	_, err = q.ExecContext(ctx, `INSERT INTO plan_items (plan_id, seq, group_id, action, root_id, path, size, mtime, hash,
			keep_seq, dst_root_id, dst_path)
		SELECT $1, u.* FROM unnest($2::int[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::bigint[],
			$8::timestamptz[], $9::bytea[], $10::int[], $11::bigint[], $12::text[]) AS u`,
		p.ID, pq.Array(seqs), pq.Array(groups), pq.Array(actions), pq.Array(roots), pq.Array(paths), pq.Array(sizes),
		pq.Array(mtimes), pq.ByteaArray(hashes), pq.Array(keeps), pq.Array(dstRoots), pq.Array(dstPaths))
	return translate(err, "create plan items")
}

// GetPlan returns plan id; ENOTFOUND if there is none.
func GetPlan(ctx context.Context, q sqlx.QueryerContext, id string) (*Plan, error) {
	var p Plan
	err := sqlx.GetContext(ctx, q, &p, `SELECT id, kind, job_id, status, params, exec_job_id, undo_job_id, created_at
		FROM plans WHERE id = $1`, id)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "plan %s not found", id)
	}
	return &p, translate(err, "get plan")
}

// LockPlan is GetPlan that locks the plan's row until the transaction ends.
func LockPlan(ctx context.Context, tx *sqlx.Tx, id string) (*Plan, error) {
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM plans WHERE id = $1 FOR UPDATE`, id); err != nil {
		return nil, translate(err, "lock plan")
	}
	return GetPlan(ctx, tx, id)
}

// PlanOfJob returns the newest plan made from job id, or executed or undone by it.
func PlanOfJob(ctx context.Context, q sqlx.QueryerContext, jobID string) (*Plan, error) {
	var id string
	err := sqlx.GetContext(ctx, q, &id, `SELECT id FROM plans WHERE job_id = $1 OR exec_job_id = $1 OR undo_job_id = $1
		ORDER BY created_at DESC LIMIT 1`, jobID)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "job %s has no plan; make one with POST /api/v1/dedupe/preview or /api/v1/organize/preview", jobID)
	} else if err != nil {
		return nil, translate(err, "plan of job")
	}
	return GetPlan(ctx, q, id)
}

// MovePlan changes a plan's status from one of from to to, recording the job that does it
// (column exec_job_id or undo_job_id). ECONFLICT if the plan is in another state.
func MovePlan(ctx context.Context, q sqlx.ExecerContext, id string, from []filefleet.PlanState, to filefleet.PlanState, jobColumn, jobID string) error {
	set := ""
	args := []any{id, pq.Array(from), to}
	if jobColumn == "exec_job_id" || jobColumn == "undo_job_id" {
		set = ", " + jobColumn + " = $4"
		args = append(args, jobID)
	}
	res, err := q.ExecContext(ctx, `UPDATE plans SET status = $3`+set+` WHERE id = $1 AND status = ANY($2::text[])`, args...)
	if err != nil {
		return translate(err, "move plan")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return filefleet.Errorf(filefleet.ECONFLICT, "plan %s is not %v", id, from)
	}
	return nil
}

const itemColumns = `i.seq, i.group_id, i.action, i.root_id, r.name AS root_name, i.path, i.size, i.mtime, i.hash,
	i.keep_seq, i.trash_path, i.dst_root_id, d.name AS dst_root_name, i.dst_path, i.state, i.message`

// PlanItems returns the items of a plan, of the given groups (all when nil), in group and seq order.
func PlanItems(ctx context.Context, q sqlx.QueryerContext, planID string, groups []int64) ([]PlanItem, error) {
	var items []PlanItem
	err := sqlx.SelectContext(ctx, q, &items, `SELECT `+itemColumns+` FROM plan_items i JOIN roots r ON r.id = i.root_id
		LEFT JOIN roots d ON d.id = i.dst_root_id WHERE i.plan_id = $1 AND ($2::bigint[] IS NULL OR i.group_id = ANY($2)) ORDER BY i.group_id, i.seq`,
		planID, pq.Array(groups))
	return items, translate(err, "plan items")
}

// PlanGroups returns the group ids of a plan.
func PlanGroups(ctx context.Context, q sqlx.QueryerContext, planID string) ([]int64, error) {
	var ids []int64
	err := sqlx.SelectContext(ctx, q, &ids, `SELECT DISTINCT group_id FROM plan_items WHERE plan_id = $1 ORDER BY group_id`, planID)
	return ids, translate(err, "plan groups")
}

// JournalItem records the state of a plan item (and the trash path it moves to).
func JournalItem(ctx context.Context, q sqlx.ExecerContext, planID string, seq int, state filefleet.ItemState, trashPath, message string) error {
	_, err := q.ExecContext(ctx, `UPDATE plan_items SET state = $3, trash_path = CASE WHEN $4 = '' THEN trash_path ELSE $4 END,
		message = $5 WHERE plan_id = $1 AND seq = $2`, planID, seq, state, trashPath, message)
	return translate(err, "journal item")
}

// JournalMove records the state of an organize item and the destination path it moves to.
func JournalMove(ctx context.Context, q sqlx.ExecerContext, planID string, seq int, state filefleet.ItemState, dstPath, message string) error {
	_, err := q.ExecContext(ctx, `UPDATE plan_items SET state = $3, dst_path = $4, message = $5 WHERE plan_id = $1 AND seq = $2`,
		planID, seq, state, dstPath, message)
	return translate(err, "journal move")
}

// PlanCounts counts a plan's items by action and state ("trash/done": 3...).
func PlanCounts(ctx context.Context, q sqlx.QueryerContext, planID string) (map[string]int64, error) {
	var rows []struct {
		Key string `db:"k"`
		N   int64  `db:"n"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT action || '/' || state AS k, count(*) AS n FROM plan_items
		WHERE plan_id = $1 GROUP BY 1`, planID)
	m := make(map[string]int64, len(rows))
	for _, r := range rows {
		m[r.Key] = r.N
	}
	return m, translate(err, "plan counts")
}

// First keys of the advisory locks LockContent and LockPath take.
const (
	contentLockSpace = 0x66660001
	pathLockSpace    = 0x66660002
)

// LockContent waits for an advisory lock on the contents of one size and returns its
// release. Dedupe execute holds it while it carries out a group, so two plans over the same
// files (two previews of one scan, keeping different copies) take turns: the second finds
// the first's removals instead of racing it and removing every copy.
func LockContent(ctx context.Context, db *sqlx.DB, size int64) (release func(), err error) {
	return advisoryLock(ctx, db, `SELECT pg_advisory_xact_lock($1, hashint8($2))`, contentLockSpace, size)
}

// LockPath waits for an advisory lock on path p of root rootID and returns its release.
// Organize holds it while it copies a file to p across roots, so two moves to one free name
// take turns and the second finds the name taken.
func LockPath(ctx context.Context, db *sqlx.DB, rootID int64, p string) (release func(), err error) {
	return advisoryLock(ctx, db, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, pathLockSpace,
		fmt.Sprintf("%d:%s", rootID, p))
}

// advisoryLock takes a lock with query in a transaction of its own, so that a crash or a
// lost connection releases it; release ends the transaction.
func advisoryLock(ctx context.Context, db *sqlx.DB, query string, args ...any) (release func(), err error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, translate(err, "begin")
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		tx.Rollback()
		return nil, translate(err, "advisory lock")
	}
	return func() { tx.Rollback() }, nil
}
