// Package store keeps roots, jobs, the file catalog and job events in PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockID is the advisory lock that serializes migrations across processes.
const migrateLockID = 7_346_001

// MaxOpenConnsDefault is the connection pool's size unless a worker needs more (see
// worker.New).
const MaxOpenConnsDefault = 32

// Open connects to PostgreSQL at url, checks the connection and applies pending migrations.
// Its sessions run with sessionDefaults unless url sets them.
func Open(ctx context.Context, url string) (*sqlx.DB, error) {
	dsn, err := withSessionDefaults(url)
	if err != nil {
		return nil, filefleet.Errorf(filefleet.EINVALID, "bad database URL (check FILEFLEET_DATABASE_URL)")
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, filefleet.WrapError(filefleet.EINVALID, err, "bad database URL")
	}
	db.SetMaxOpenConns(MaxOpenConnsDefault)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, filefleet.WrapError(filefleet.EUNAVAILABLE, err,
			"cannot reach PostgreSQL (check FILEFLEET_DATABASE_URL, or run `make services`)")
	}
	if err := Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// sessionDefaults are the settings filefleet's sessions start with. jit=off: JIT compilation
// pays off only for queries of seconds; filefleet's are mostly tens of milliseconds, which it
// made several times slower at catalog scale (hash targets of a directory in a 900,000-row
// catalog: 61-80 ms with JIT, 13-14 ms without; the catalog-wide queries within noise).
var sessionDefaults = map[string]string{"jit": "off"}

// withSessionDefaults returns url as a lib/pq key=value connection string with the
// sessionDefaults it does not set itself (lib/pq sends unknown keys as session settings).
func withSessionDefaults(url string) (string, error) {
	dsn := url
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		var err error
		if dsn, err = pq.ParseURL(url); err != nil {
			return "", err
		}
	}
	for k, v := range sessionDefaults {
		if !strings.Contains(" "+dsn, " "+k+"=") {
			dsn += " " + k + "=" + v
		}
	}
	return strings.TrimSpace(dsn), nil
}

// Migrate applies the embedded migrations not yet applied, holding an advisory lock so that
// several processes may start at once.
func Migrate(ctx context.Context, db *sqlx.DB) error {
	conn, err := db.Connx(ctx)
	if err != nil {
		return translate(err, "migrate")
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockID); err != nil {
		return translate(err, "migrate: lock")
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockID)

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return translate(err, "migrate: create table")
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		var applied bool
		if err := conn.GetContext(ctx, &applied,
			`SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, version); err != nil {
			return translate(err, "migrate: check")
		}
		if applied {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := conn.BeginTxx(ctx, nil)
		if err != nil {
			return translate(err, "migrate: begin")
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", version, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, version); err != nil {
			tx.Rollback()
			return translate(err, "migrate: record")
		}
		if err := tx.Commit(); err != nil {
			return translate(err, "migrate: commit")
		}
	}
	return nil
}

// InTx runs fn in a transaction, committing when it returns nil.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return translate(err, "begin")
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return translate(err, "commit")
	}
	return nil
}

// Ping checks that PostgreSQL answers.
func Ping(ctx context.Context, db *sqlx.DB) error {
	return translate(db.PingContext(ctx), "ping")
}

// translate turns driver errors into coded errors: unreachable database → EUNAVAILABLE,
// unique violations → ECONFLICT, text PostgreSQL cannot store (NUL, not UTF-8) → EINVALID;
// others are wrapped with op.
func translate(err error, op string) error {
	if err == nil {
		return nil
	}
	var fe *filefleet.Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return filefleet.WrapError(filefleet.ENOTFOUND, err, "%s: not found", op)
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch {
		case pqErr.Code == "23505":
			return filefleet.WrapError(filefleet.ECONFLICT, err, "%s: already exists", op)
		case pqErr.Code == "22021", pqErr.Code == "22P05": // invalid byte sequence, untranslatable character
			return filefleet.WrapError(filefleet.EINVALID, err,
				"%s: a text value holds a NUL byte or is not valid UTF-8; send UTF-8 text without NUL characters", op)
		case pqErr.Code.Class() == "08", pqErr.Code.Class() == "57": // connection, shutdown
			return unavailable(err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "EOF") {
		return unavailable(err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func unavailable(err error) error {
	return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "PostgreSQL is unavailable; retry later")
}
