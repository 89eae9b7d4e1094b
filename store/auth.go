package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/filefleet/filefleet"
)

// User is an account; its password hash never leaves the store except for a login check.
type User struct {
	ID           int64          `json:"id" db:"id"`
	Username     string         `json:"username" db:"username"`
	Email        string         `json:"email" db:"email"`
	PasswordHash string         `json:"-" db:"password_hash"`
	RoleID       int64          `json:"role_id" db:"role_id"`
	Role         string         `json:"role" db:"role"`
	Permissions  pq.StringArray `json:"permissions" db:"permissions"`
	IsActive     bool           `json:"is_active" db:"is_active"`
	LastLoginAt  *time.Time     `json:"last_login_at,omitempty" db:"last_login_at"`
	CreatedAt    time.Time      `json:"created_at" db:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at" db:"updated_at"`
}

const userSelect = `SELECT u.id, u.username, u.email, u.password_hash, u.role_id, r.name AS role, r.permissions,
	u.is_active, u.last_login_at, u.created_at, u.updated_at FROM users u JOIN roles r ON r.id = u.role_id`

// CreateUser adds a user with role roleName; ECONFLICT if the username is taken,
// EUNPROCESSABLE if the role does not exist.
func CreateUser(ctx context.Context, q sqlx.QueryerContext, username, email, passwordHash, roleName string) (*User, error) {
	var id int64
	err := sqlx.GetContext(ctx, q, &id, `INSERT INTO users (username, email, password_hash, role_id)
		SELECT $1, $2, $3, id FROM roles WHERE name = $4 RETURNING id`, username, email, passwordHash, roleName)
	switch filefleet.ErrorCode(translate(err, "")) {
	case filefleet.ECONFLICT:
		return nil, filefleet.Errorf(filefleet.ECONFLICT, "user %q exists already", username)
	case filefleet.ENOTFOUND:
		return nil, filefleet.Errorf(filefleet.EUNPROCESSABLE, "role %q does not exist; GET /api/v1/roles lists them", roleName)
	case "":
		return GetUser(ctx, q, id)
	}
	return nil, translate(err, "create user")
}

// GetUser returns user id; ENOTFOUND if there is none.
func GetUser(ctx context.Context, q sqlx.QueryerContext, id int64) (*User, error) {
	var u User
	err := sqlx.GetContext(ctx, q, &u, userSelect+` WHERE u.id = $1`, id)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "user %d not found", id)
	}
	return &u, translate(err, "get user")
}

// UserByName returns the user called username; ENOTFOUND if there is none.
func UserByName(ctx context.Context, q sqlx.QueryerContext, username string) (*User, error) {
	var u User
	err := sqlx.GetContext(ctx, q, &u, userSelect+` WHERE u.username = $1`, username)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "user %q not found", username)
	}
	return &u, translate(err, "user by name")
}

// ListUsers returns every user by id.
func ListUsers(ctx context.Context, q sqlx.QueryerContext) ([]User, error) {
	out := []User{}
	err := sqlx.SelectContext(ctx, q, &out, userSelect+` ORDER BY u.id`)
	return out, translate(err, "list users")
}

// UserUpdate holds the fields UpdateUser changes (nil: unchanged).
type UserUpdate struct {
	Email        *string
	PasswordHash *string
	Role         *string
	IsActive     *bool
}

// UpdateUser changes user id; ENOTFOUND if there is none, EUNPROCESSABLE for an unknown role.
// A new password ends every session of the user (their refresh tokens, and so the access
// tokens issued with them); API keys stay.
func UpdateUser(ctx context.Context, q sqlx.QueryerContext, id int64, u UserUpdate) (*User, error) {
	if u.Role != nil {
		var exists bool
		if err := sqlx.GetContext(ctx, q, &exists, `SELECT EXISTS (SELECT 1 FROM roles WHERE name = $1)`, *u.Role); err != nil {
			return nil, translate(err, "update user")
		} else if !exists {
			return nil, filefleet.Errorf(filefleet.EUNPROCESSABLE, "role %q does not exist", *u.Role)
		}
	}
	var n int64
	err := sqlx.GetContext(ctx, q, &n, `WITH u AS (UPDATE users SET email = coalesce($2, email),
			password_hash = coalesce($3, password_hash),
			role_id = coalesce((SELECT id FROM roles WHERE name = $4), role_id),
			is_active = coalesce($5, is_active), updated_at = now()
		WHERE id = $1 RETURNING id),
		s AS (UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND $3::text IS NOT NULL AND revoked_at IS NULL)
		SELECT count(*) FROM u`, id, u.Email, u.PasswordHash, u.Role, u.IsActive)
	if err != nil {
		return nil, translate(err, "update user")
	}
	if n == 0 {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "user %d not found", id)
	}
	return GetUser(ctx, q, id)
}

// DeleteUser removes user id with their keys and sessions; ENOTFOUND if there is none.
func DeleteUser(ctx context.Context, q sqlx.ExecerContext, id int64) error {
	res, err := q.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return translate(err, "delete user")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return filefleet.Errorf(filefleet.ENOTFOUND, "user %d not found", id)
	}
	return nil
}

// CountUsers returns how many users there are.
func CountUsers(ctx context.Context, q sqlx.QueryerContext) (int64, error) {
	var n int64
	err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM users`)
	return n, translate(err, "count users")
}

// TouchLogin records a successful login.
func TouchLogin(ctx context.Context, q sqlx.ExecerContext, id int64) error {
	_, err := q.ExecContext(ctx, `UPDATE users SET last_login_at = now() WHERE id = $1`, id)
	return translate(err, "touch login")
}

// Role is a named set of permissions.
type Role struct {
	ID          int64          `json:"id" db:"id"`
	Name        string         `json:"name" db:"name"`
	Description string         `json:"description" db:"description"`
	Permissions pq.StringArray `json:"permissions" db:"permissions"`
	IsSystem    bool           `json:"is_system" db:"is_system"`
	CreatedAt   time.Time      `json:"created_at" db:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at" db:"updated_at"`
}

// ListRoles returns every role by id.
func ListRoles(ctx context.Context, q sqlx.QueryerContext) ([]Role, error) {
	out := []Role{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT * FROM roles ORDER BY id`)
	return out, translate(err, "list roles")
}

// GetRole returns role id; ENOTFOUND if there is none.
func GetRole(ctx context.Context, q sqlx.QueryerContext, id int64) (*Role, error) {
	var r Role
	err := sqlx.GetContext(ctx, q, &r, `SELECT * FROM roles WHERE id = $1`, id)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "role %d not found", id)
	}
	return &r, translate(err, "get role")
}

// RoleByName returns the role called name; EUNPROCESSABLE if there is none (names come in
// request bodies).
func RoleByName(ctx context.Context, q sqlx.QueryerContext, name string) (*Role, error) {
	var r Role
	err := sqlx.GetContext(ctx, q, &r, `SELECT * FROM roles WHERE name = $1`, name)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.EUNPROCESSABLE, "role %q does not exist; GET /api/v1/roles lists them", name)
	}
	return &r, translate(err, "role by name")
}

// PutRole creates role r (ID 0) or changes it; ECONFLICT for a taken name or a built-in role.
func PutRole(ctx context.Context, q sqlx.QueryerContext, r *Role) error {
	var err error
	if r.ID == 0 {
		err = sqlx.GetContext(ctx, q, r, `INSERT INTO roles (name, description, permissions) VALUES ($1, $2, $3) RETURNING *`,
			r.Name, r.Description, r.Permissions)
	} else {
		err = sqlx.GetContext(ctx, q, r, `UPDATE roles SET name = $2, description = $3, permissions = $4, updated_at = now()
			WHERE id = $1 AND NOT is_system RETURNING *`, r.ID, r.Name, r.Description, r.Permissions)
		if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
			if _, gerr := GetRole(ctx, q, r.ID); gerr != nil {
				return gerr
			}
			return filefleet.Errorf(filefleet.ECONFLICT, "role %d is built in and cannot be changed", r.ID)
		}
	}
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ECONFLICT {
		return filefleet.Errorf(filefleet.ECONFLICT, "a role named %q exists already", r.Name)
	}
	return translate(err, "put role")
}

// DeleteRole removes role id; ECONFLICT for a built-in role or one that users have.
func DeleteRole(ctx context.Context, q sqlx.ExtContext, id int64) error {
	r, err := GetRole(ctx, q, id)
	if err != nil {
		return err
	}
	if r.IsSystem {
		return filefleet.Errorf(filefleet.ECONFLICT, "role %q is built in and cannot be deleted", r.Name)
	}
	var users int64
	if err := sqlx.GetContext(ctx, q, &users, `SELECT count(*) FROM users WHERE role_id = $1`, id); err != nil {
		return translate(err, "delete role")
	}
	if users > 0 {
		return filefleet.Errorf(filefleet.ECONFLICT, "role %q is held by %d users; give them another role first", r.Name, users)
	}
	_, err = q.ExecContext(ctx, `DELETE FROM roles WHERE id = $1`, id)
	return translate(err, "delete role")
}

// APIKey is a user's API key; its secret is only ever shown when it is created.
type APIKey struct {
	ID         string         `json:"id" db:"id"`
	UserID     int64          `json:"user_id" db:"user_id"`
	Name       string         `json:"name" db:"name"`
	SecretHash []byte         `json:"-" db:"secret_hash"`
	Scopes     pq.StringArray `json:"scopes" db:"scopes"`
	ExpiresAt  *time.Time     `json:"expires_at,omitempty" db:"expires_at"`
	RevokedAt  *time.Time     `json:"revoked_at,omitempty" db:"revoked_at"`
	LastUsedAt *time.Time     `json:"last_used_at,omitempty" db:"last_used_at"`
	CreatedAt  time.Time      `json:"created_at" db:"created_at"`
}

// CreateKey stores k.
func CreateKey(ctx context.Context, q sqlx.QueryerContext, k *APIKey) error {
	err := sqlx.GetContext(ctx, q, k, `INSERT INTO api_keys (id, user_id, name, secret_hash, scopes, expires_at)
		VALUES ($1, $2, $3, $4, coalesce($5, '{}'::text[]), $6) RETURNING *`, k.ID, k.UserID, k.Name, k.SecretHash, k.Scopes, k.ExpiresAt)
	return translate(err, "create key")
}

// GetKey returns key id; ENOTFOUND if there is none.
func GetKey(ctx context.Context, q sqlx.QueryerContext, id string) (*APIKey, error) {
	var k APIKey
	err := sqlx.GetContext(ctx, q, &k, `SELECT * FROM api_keys WHERE id = $1`, id)
	if filefleet.ErrorCode(translate(err, "")) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.ENOTFOUND, "API key %s not found", id)
	}
	return &k, translate(err, "get key")
}

// ListKeys returns the keys of user userID (all users' when 0), newest first.
func ListKeys(ctx context.Context, q sqlx.QueryerContext, userID int64) ([]APIKey, error) {
	out := []APIKey{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT * FROM api_keys WHERE $1 = 0 OR user_id = $1 ORDER BY created_at DESC`, userID)
	return out, translate(err, "list keys")
}

// RevokeKey revokes key id of user userID (any user's when 0); ENOTFOUND if there is none.
func RevokeKey(ctx context.Context, q sqlx.ExecerContext, id string, userID int64) error {
	res, err := q.ExecContext(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
		WHERE id = $1 AND ($2 = 0 OR user_id = $2)`, id, userID)
	if err != nil {
		return translate(err, "revoke key")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return filefleet.Errorf(filefleet.ENOTFOUND, "API key %s not found", id)
	}
	return nil
}

// TouchKey records that key id was used, at most once a minute.
func TouchKey(ctx context.Context, q sqlx.ExecerContext, id string) error {
	_, err := q.ExecContext(ctx, `UPDATE api_keys SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, id)
	return translate(err, "touch key")
}

// Session is a login's refresh token, hashed.
type Session struct {
	ID         string     `db:"id"`
	UserID     int64      `db:"user_id"`
	SecretHash []byte     `db:"secret_hash"`
	ExpiresAt  time.Time  `db:"expires_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
	CreatedAt  time.Time  `db:"created_at"`
}

// CreateSession stores s.
func CreateSession(ctx context.Context, q sqlx.ExecerContext, s Session) error {
	_, err := q.ExecContext(ctx, `INSERT INTO sessions (id, user_id, secret_hash, expires_at) VALUES ($1, $2, $3, $4)`,
		s.ID, s.UserID, s.SecretHash, s.ExpiresAt)
	return translate(err, "create session")
}

// GetSession returns session id; ENOTFOUND if there is none.
func GetSession(ctx context.Context, q sqlx.QueryerContext, id string) (*Session, error) {
	var s Session
	err := sqlx.GetContext(ctx, q, &s, `SELECT * FROM sessions WHERE id = $1`, id)
	return &s, translate(err, "get session")
}

// RevokeSession ends session id; false if it was not active.
func RevokeSession(ctx context.Context, q sqlx.ExecerContext, id string) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return false, translate(err, "revoke session")
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
