package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"

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

// DeleteRoot deletes the root named name and its catalog; ENOTFOUND if there is none.
func DeleteRoot(ctx context.Context, q sqlx.ExecerContext, name string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM roots WHERE name = $1`, name)
	if err != nil {
		return translate(err, "delete root")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return filefleet.Errorf(filefleet.ENOTFOUND, "storage root %q not found", name)
	}
	return nil
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
