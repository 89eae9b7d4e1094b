package client

import (
	"context"
	"net/http"
	"time"
)

// AuthService opens and ends sessions (/auth).
type AuthService struct{ c *Client }

// User is a filefleet user.
type User struct {
	ID          int64      `json:"id"`
	Username    string     `json:"username"`
	Email       string     `json:"email"`
	RoleID      int64      `json:"role_id"`
	Role        string     `json:"role"`
	Permissions []string   `json:"permissions"`
	IsActive    bool       `json:"is_active"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Session is the answer of login and refresh.
type Session struct {
	User         User      `json:"user"`
	AccessToken  string    `json:"access_token"` // a JWT, sent as Bearer
	TokenType    string    `json:"token_type"`
	RefreshToken string    `json:"refresh_token"` // for Refresh; shown once
	ExpiresAt    time.Time `json:"expires_at"`    // of the access token
}

// Principal is who the credentials belong to.
type Principal struct {
	User        User     `json:"user"`
	Permissions []string `json:"permissions"` // effective: narrowed by the key's scopes
	KeyID       string   `json:"key_id"`      // "" for an access token
}

// Login opens a session; the client then sends its access token (unless it has an API key).
func (s *AuthService) Login(ctx context.Context, username, password string) (*Session, error) {
	body := map[string]string{"username": username, "password": password}
	return s.session(call[Session](ctx, s.c, http.MethodPost, "/auth/login", body))
}

// Refresh trades a refresh token for a new session (the old token stops working); the
// client then sends the new access token.
func (s *AuthService) Refresh(ctx context.Context, refreshToken string) (*Session, error) {
	body := map[string]string{"refresh_token": refreshToken}
	return s.session(call[Session](ctx, s.c, http.MethodPost, "/auth/refresh", body))
}

func (s *AuthService) session(sess *Session, err error) (*Session, error) {
	if err == nil {
		s.c.setToken(sess.AccessToken)
	}
	return sess, err
}

// Logout ends the session of the access token in use.
func (s *AuthService) Logout(ctx context.Context) error {
	return s.c.post(ctx, "/auth/logout", nil, nil)
}

// Me returns the user, permissions and API key of the client's credentials.
func (s *AuthService) Me(ctx context.Context) (*Principal, error) {
	return call[Principal](ctx, s.c, http.MethodGet, "/auth/me", nil)
}

// KeysService manages the caller's API keys (/keys).
type KeysService struct{ c *Client }

// APIKey is an API key's record (its secret is shown only by Create).
type APIKey struct {
	ID         string     `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// NewKey is a key just made: Key (fo_<id>_<secret>, for WithAPIKey) is shown this once.
type NewKey struct {
	Key    string `json:"key"`
	APIKey APIKey `json:"api_key"`
}

// KeyRequest describes an API key to make (POST /keys).
type KeyRequest struct {
	Name          string     `json:"name"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	ExpiresInDays int        `json:"expires_in_days,omitempty"` // 0 and no ExpiresAt: never
	// Scopes narrow the key to these permissions (GET /roles/permissions lists them); none:
	// all of the user's.
	Scopes []string `json:"scopes,omitempty"`
}

// Create makes an API key for the caller, expiring after expiresInDays (0: never).
func (s *KeysService) Create(ctx context.Context, name string, expiresInDays int) (*NewKey, error) {
	return s.CreateKey(ctx, KeyRequest{Name: name, ExpiresInDays: expiresInDays})
}

// CreateKey makes the API key r describes for the caller.
func (s *KeysService) CreateKey(ctx context.Context, r KeyRequest) (*NewKey, error) {
	return call[NewKey](ctx, s.c, http.MethodPost, "/keys", r)
}

// List returns the caller's keys.
func (s *KeysService) List(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	err := s.c.get(ctx, "/keys", &out)
	return out, err
}

// Delete revokes a key by id (the part between fo_ and the secret).
func (s *KeysService) Delete(ctx context.Context, id string) error {
	return s.c.del(ctx, "/keys/"+pathEscape(id), nil)
}
