package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/secret"
)

type rootRow struct {
	ID        int64     `db:"id"`
	Name      string    `db:"name"`
	Kind      string    `db:"kind"`
	Config    []byte    `db:"config"`
	Secret    []byte    `db:"secret"`
	CreatedAt time.Time `db:"created_at"`
}

// rootSecrets is what is sealed in roots.secret.
type rootSecrets struct {
	Secret string `json:"secret"`
}

// CreateRoot inserts root, sealing its secret with box; ECONFLICT if the name is taken.
func CreateRoot(ctx context.Context, q sqlx.ExtContext, box *secret.Box, root *filefleet.Root) error {
	cfg := *root
	cfg.Secret = ""
	config, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	var sealed []byte
	if root.Secret != "" {
		plain, _ := json.Marshal(rootSecrets{Secret: root.Secret})
		sealed = box.Seal(plain)
	}
	err = q.QueryRowxContext(ctx, `INSERT INTO roots (name, kind, config, secret)
		VALUES ($1, $2, $3, $4) RETURNING id, created_at`, root.Name, root.Kind, config, sealed).
		Scan(&root.ID, &root.CreatedAt)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ECONFLICT {
		return filefleet.Errorf(filefleet.ECONFLICT, "a storage root named %q already exists", root.Name)
	}
	return translate(err, "create root")
}

// GetRoot returns the root named name with its secret opened; ENOTFOUND if there is none.
func GetRoot(ctx context.Context, q sqlx.QueryerContext, box *secret.Box, name string) (*filefleet.Root, error) {
	var row rootRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT * FROM roots WHERE name = $1`, name)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "storage root %q not found", name)
	} else if err != nil {
		return nil, translate(err, "get root")
	}
	return row.root(box)
}

// GetRootByID is GetRoot by id.
func GetRootByID(ctx context.Context, q sqlx.QueryerContext, box *secret.Box, id int64) (*filefleet.Root, error) {
	var row rootRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT * FROM roots WHERE id = $1`, id)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "storage root %d not found", id)
	} else if err != nil {
		return nil, translate(err, "get root")
	}
	return row.root(box)
}

// ListRoots returns all roots by name, without their secrets.
func ListRoots(ctx context.Context, q sqlx.QueryerContext) ([]*filefleet.Root, error) {
	var rows []rootRow
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT * FROM roots ORDER BY name`); err != nil {
		return nil, translate(err, "list roots")
	}
	roots := make([]*filefleet.Root, 0, len(rows))
	for _, row := range rows {
		row.Secret = nil
		r, err := row.root(nil)
		if err != nil {
			return nil, err
		}
		roots = append(roots, r)
	}
	return roots, nil
}

// DeleteRoot removes root name from filefleet, with its catalog rows and journals (its files
// stay on storage). It refuses (ECONFLICT) while a job that has not finished works on the
// root, and, unless force, while a plan could still undo what it did there (files it
// trashed or moved): the root's deletion would delete that plan's journal. The root's row
// stays locked until the end, so no job can be submitted on it meanwhile.
func DeleteRoot(ctx context.Context, db *sqlx.DB, name string, force bool) error {
	return InTx(ctx, db, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, `SELECT id FROM roots WHERE name = $1 FOR UPDATE`, name)
		if errors.Is(err, sql.ErrNoRows) {
			return filefleet.Errorf(filefleet.ENOTFOUND, "storage root %q not found", name)
		} else if err != nil {
			return translate(err, "lock root")
		}
		var job struct {
			ID   string `db:"id"`
			Type string `db:"type"`
		}
		err = tx.GetContext(ctx, &job, `
			SELECT id, type FROM jobs
			WHERE status IN ('pending', 'running')
			  AND (root_id = $1 OR params->>'target_root_id' = $1::text
			       OR params->'scopes' @> jsonb_build_array(jsonb_build_object('root_id', $1::bigint))
			       OR EXISTS (SELECT 1 FROM plan_items i WHERE i.plan_id = nullif(jobs.params->>'plan_id', '')::uuid
			                  AND (i.root_id = $1 OR i.dst_root_id = $1)))
			LIMIT 1`, id)
		if err == nil {
			return filefleet.Errorf(filefleet.ECONFLICT, "storage root %q is in use by %s job %s, which has not finished: "+
				"wait for it or cancel it (POST /api/v1/jobs/%s/cancel), then delete the root", name, job.Type, job.ID, job.ID)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return translate(err, "find the root's jobs")
		}
		if !force {
			var plan struct {
				ID    string `db:"id"`
				Kind  string `db:"kind"`
				Files int64  `db:"files"`
			}
			err = tx.GetContext(ctx, &plan, `
				SELECT p.id, p.kind, count(*) AS files FROM plans p JOIN plan_items i ON i.plan_id = p.id
				WHERE p.status IN ('executing', 'executed', 'undoing') AND i.state IN ('in_progress', 'done')
				  AND i.action IN ('trash', 'move') AND (i.root_id = $1 OR i.dst_root_id = $1)
				GROUP BY p.id, p.kind LIMIT 1`, id)
			if err == nil {
				return filefleet.Errorf(filefleet.ECONFLICT, "%s plan %s moved %d files of storage root %q (to its trash or "+
					"elsewhere) and can still undo that; deleting the root would delete the plan's journal: undo it first "+
					"(POST /api/v1/%s/undo), or delete the root with ?force=true (the files stay where they are now)",
					plan.Kind, plan.ID, plan.Files, name, plan.Kind)
			} else if !errors.Is(err, sql.ErrNoRows) {
				return translate(err, "find the root's plans")
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM roots WHERE id = $1`, id)
		return translate(err, "delete root")
	})
}

// MissingRootIDs returns those of ids that name no root (any more).
func MissingRootIDs(ctx context.Context, q sqlx.QueryerContext, ids []int64) ([]int64, error) {
	var missing []int64
	err := sqlx.SelectContext(ctx, q, &missing, `
		SELECT x FROM unnest($1::bigint[]) AS x WHERE NOT EXISTS (SELECT 1 FROM roots WHERE id = x)`, pq.Array(ids))
	return missing, translate(err, "find deleted roots")
}

func (row rootRow) root(box *secret.Box) (*filefleet.Root, error) {
	var r filefleet.Root
	if err := json.Unmarshal(row.Config, &r); err != nil {
		return nil, err
	}
	r.ID, r.Name, r.Kind, r.CreatedAt = row.ID, row.Name, filefleet.RootKind(row.Kind), row.CreatedAt
	if len(row.Secret) > 0 && box != nil {
		plain, err := box.Open(row.Secret)
		if err != nil {
			return nil, err
		}
		var s rootSecrets
		if err := json.Unmarshal(plain, &s); err != nil {
			return nil, err
		}
		r.Secret = s.Secret
	}
	return &r, nil
}
