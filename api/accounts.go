package api

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/store"
)

// loginRequest is the body of POST /auth/login (device_info and remember_me as in the catalog
// seed are accepted; remember_me is the only one that matters: a 30-day session).
type loginRequest struct {
	Username   string         `json:"username"`
	Password   string         `json:"password"`
	DeviceInfo map[string]any `json:"device_info"`
	RememberMe bool           `json:"remember_me"`
}

// login checks a username and password and opens a session: an access token (JWT) and a
// refresh token. Unknown users take as long as wrong passwords.
func (a *API) login(c *gin.Context) {
	var req loginRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if req.Username == "" || req.Password == "" {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "username and password are required"))
		return
	}
	// Failed logins are limited per username too, so that rotating addresses does not help.
	who := "login:" + strings.ToLower(req.Username)
	if err := a.checkFailures(c, who); err != nil {
		a.fail(c, err)
		return
	}
	invalid := filefleet.Errorf(filefleet.EUNAUTHORIZED, "invalid credentials")
	u, err := store.UserByName(c.Request.Context(), a.db, req.Username)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		auth.CheckNoUser(req.Password)
		a.failed(c, who)
		a.fail(c, invalid)
		return
	} else if err != nil {
		a.fail(c, err)
		return
	}
	if !auth.CheckPassword(req.Password, u.PasswordHash) || !u.IsActive {
		a.failed(c, who)
		a.fail(c, invalid)
		return
	}
	ttl := auth.RefreshTTLDefault
	if req.RememberMe {
		ttl = 30 * 24 * time.Hour
	}
	if err := store.TouchLogin(c.Request.Context(), a.db, u.ID); err != nil {
		a.fail(c, err)
		return
	}
	a.openSession(c, u, ttl, http.StatusOK)
}

// openSession stores a new session of u and answers with its tokens.
func (a *API) openSession(c *gin.Context, u *store.User, ttl time.Duration, status int) {
	id, secret, refresh := auth.NewRefreshToken()
	err := store.CreateSession(c.Request.Context(), a.db, store.Session{ID: id, UserID: u.ID,
		SecretHash: auth.HashSecret(secret), ExpiresAt: time.Now().Add(ttl)})
	if err != nil {
		a.fail(c, err)
		return
	}
	access, exp, err := a.issuer.Issue(u.ID, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, status, gin.H{"user": u, "session_token": access, "access_token": access, "token_type": "Bearer",
		"refresh_token": refresh, "expires_at": exp}, nil)
}

// refreshRequest is the body of POST /auth/refresh.
type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// refresh trades a refresh token for new tokens; the old refresh token stops working (rotation).
func (a *API) refresh(c *gin.Context) {
	var req refreshRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	sess, err := a.liveSession(c, req.RefreshToken)
	if err != nil {
		a.fail(c, err)
		return
	}
	if revoked, err := store.RevokeSession(c.Request.Context(), a.db, sess.ID); err != nil || !revoked {
		a.fail(c, cmpErr(err, errInvalidRefresh))
		return
	}
	u, err := a.activeUser(c, sess.UserID)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.openSession(c, u, time.Until(sess.ExpiresAt), http.StatusOK)
}

// errInvalidRefresh answers a refresh token that is not one, or not of a live session.
var errInvalidRefresh = filefleet.Errorf(filefleet.EUNAUTHORIZED, "invalid or expired refresh token; log in again")

// liveSession returns the session of refresh token token: known, secret matching (constant
// time), neither revoked nor expired; errInvalidRefresh otherwise.
func (a *API) liveSession(c *gin.Context, token string) (*store.Session, error) {
	id, secret, found := auth.ParseRefreshToken(token)
	if !found {
		return nil, errInvalidRefresh
	}
	sess, err := store.GetSession(c.Request.Context(), a.db, id)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		return nil, errInvalidRefresh
	} else if err != nil {
		return nil, err
	}
	if !auth.SecretMatches(secret, sess.SecretHash) || sess.RevokedAt != nil || !sess.ExpiresAt.After(time.Now()) {
		return nil, errInvalidRefresh
	}
	return sess, nil
}

// cmpErr returns err, or def when err is nil.
func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// logout ends the session of the refresh token in the body, which must be live and the
// caller's, or else that of the access token.
func (a *API) logout(c *gin.Context) {
	var req refreshRequest
	if c.Request.ContentLength > 0 {
		if err := bindJSON(c, &req); err != nil {
			a.fail(c, err)
			return
		}
	}
	sid := ""
	if req.RefreshToken != "" {
		sess, err := a.liveSession(c, req.RefreshToken)
		if err == nil && sess.UserID != principalOf(c).UserID {
			err = errInvalidRefresh
		}
		if err != nil {
			a.fail(c, err)
			return
		}
		sid = sess.ID
	} else if _, s, err := a.issuer.Verify(credential(c)); err == nil {
		sid = s
	}
	if sid != "" {
		if _, err := store.RevokeSession(c.Request.Context(), a.db, sid); err != nil {
			a.fail(c, err)
			return
		}
	}
	ok(c, http.StatusOK, gin.H{"logged_out": sid != ""}, nil)
}

// me shows the principal's user and effective permissions.
func (a *API) me(c *gin.Context) {
	p := principalOf(c)
	u, err := store.GetUser(c.Request.Context(), a.db, p.UserID)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"user": u, "permissions": p.Permissions, "key_id": p.KeyID}, nil)
}

// keyDaysMax bounds expires_in_days: 100 years, well inside what a time.Duration holds.
const keyDaysMax = 36500

// keyRequest is the body of POST /keys.
type keyRequest struct {
	Name          string            `json:"name"`
	ExpiresAt     *time.Time        `json:"expires_at"`
	ExpiresInDays int               `json:"expires_in_days"`
	Scopes        []auth.Permission `json:"scopes"`
}

// createKey makes an API key for the principal's user and shows it once.
func (a *API) createKey(c *gin.Context) {
	var req keyRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	p := principalOf(c)
	if req.Name == "" || len(req.Name) > 100 {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "name is required (up to 100 characters)"))
		return
	}
	switch {
	case req.ExpiresAt != nil && req.ExpiresInDays != 0:
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "give expires_at or expires_in_days, not both"))
		return
	case req.ExpiresInDays < 0, req.ExpiresInDays > keyDaysMax:
		a.fail(c, filefleet.Errorf(filefleet.EINVALID,
			"expires_in_days must be from 1 to %d (100 years); leave it out for a key that does not expire", keyDaysMax))
		return
	case req.ExpiresInDays > 0:
		t := time.Now().Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour)
		req.ExpiresAt = &t
	case req.ExpiresAt != nil && !req.ExpiresAt.After(time.Now()):
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "expires_at must be in the future"))
		return
	}
	for _, s := range req.Scopes {
		if !auth.Known(s) {
			a.fail(c, filefleet.Errorf(filefleet.EINVALID, "unknown scope %q; GET /api/v1/roles/permissions lists them", s))
			return
		}
		if !p.Can(s) {
			a.fail(c, filefleet.Errorf(filefleet.EFORBIDDEN, "a key cannot have scope %s, which you do not have", s))
			return
		}
	}
	// A key made with a scoped key gets at most that key's stored scopes: the scopes asked for
	// are within them (checked above, as the narrowed permissions are), none asked is all of
	// them. Copying the narrowed permissions instead would give an unscoped key (all of the
	// role) when the role no longer grants any of the scopes.
	requested := req.Scopes
	if len(requested) == 0 {
		requested = p.Scopes
	}
	scopes := make([]string, len(requested))
	for i, s := range requested {
		scopes[i] = string(s)
	}
	id, secret, key := auth.NewKey()
	k := store.APIKey{ID: id, UserID: p.UserID, Name: req.Name, SecretHash: auth.HashSecret(secret), Scopes: scopes,
		ExpiresAt: req.ExpiresAt}
	if err := store.CreateKey(c.Request.Context(), a.db, &k); err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusCreated, gin.H{"key": key, "api_key": k}, gin.H{"note": "the key is shown once; only a hash of it is kept"})
}

// listKeys lists the principal's keys (every user's with ?all=true for users.manage).
func (a *API) listKeys(c *gin.Context) {
	p := principalOf(c)
	userID := p.UserID
	if c.Query("all") == "true" {
		if !p.Can(auth.PermUsersManage) {
			a.fail(c, filefleet.Errorf(filefleet.EFORBIDDEN, "listing every user's keys needs permission %s", auth.PermUsersManage))
			return
		}
		userID = 0
	}
	keys, err := store.ListKeys(c.Request.Context(), a.db, userID)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, keys, gin.H{"total": len(keys)})
}

// deleteKey revokes one of the principal's keys (anyone's for users.manage). A limited key
// revokes only keys within its scopes (itself included).
func (a *API) deleteKey(c *gin.Context) {
	p := principalOf(c)
	k, err := store.GetKey(c.Request.Context(), a.db, c.Param("id"))
	if err == nil && k.UserID != p.UserID {
		if !p.Can(auth.PermUsersManage) {
			err = filefleet.Errorf(filefleet.ENOTFOUND, "API key %s not found", k.ID)
		} else {
			err = a.manageableUser(c, k.UserID)
		}
	}
	if err == nil && k.UserID == p.UserID && p.Limited() && (len(k.Scopes) == 0 || !auth.Within(permissions(k.Scopes), p.Scopes)) {
		err = filefleet.Errorf(filefleet.EFORBIDDEN, "API key %s has scopes this key lacks (%s); revoke it with a login "+
			"session or an unscoped key", k.ID, scopeList(p.Scopes))
	}
	if err == nil {
		err = store.RevokeKey(c.Request.Context(), a.db, k.ID, k.UserID)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"revoked": k.ID}, nil)
}

// scopeList shows scopes for a message: "jobs.view, files.view".
func scopeList(scopes []auth.Permission) string {
	ss := make([]string, len(scopes))
	for i, s := range scopes {
		ss[i] = string(s)
	}
	return strings.Join(ss, ", ")
}

// usernamePattern is what a username may be.
var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// userRequest is the body of POST /users and PATCH /users/{id}.
type userRequest struct {
	Username string  `json:"username"`
	Email    *string `json:"email"`
	Password *string `json:"password"`
	// CurrentPassword proves who changes their own password (PATCH only).
	CurrentPassword *string `json:"current_password"`
	Role            *string `json:"role"`
	IsActive        *bool   `json:"is_active"`
}

func (a *API) createUser(c *gin.Context) {
	var req userRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if !usernamePattern.MatchString(req.Username) {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "username must be 1 to 64 letters, digits or . _ @ -"))
		return
	}
	if req.Password == nil || req.Role == nil {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "password and role are required"))
		return
	}
	if err := a.grantableRole(c, *req.Role); err != nil {
		a.fail(c, err)
		return
	}
	hash, err := auth.HashPassword(*req.Password)
	if err != nil {
		a.fail(c, err)
		return
	}
	email := ""
	if req.Email != nil {
		email = *req.Email
	}
	u, err := store.CreateUser(c.Request.Context(), a.db, req.Username, email, hash, *req.Role)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusCreated, u, nil)
}

func (a *API) listUsers(c *gin.Context) {
	users, err := store.ListUsers(c.Request.Context(), a.db)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, users, gin.H{"total": len(users)})
}

// userID parses the id parameter; users without users.manage may only name themselves.
func (a *API) userID(c *gin.Context) (int64, error) {
	id, err := idParam(c, "user")
	if err != nil {
		return 0, err
	}
	if p := principalOf(c); id != p.UserID && !p.Can(auth.PermUsersManage) {
		return 0, filefleet.Errorf(filefleet.EFORBIDDEN, "other users need permission %s", auth.PermUsersManage)
	}
	return id, nil
}

func (a *API) getUser(c *gin.Context) {
	id, err := a.userID(c)
	if err == nil {
		var u *store.User
		if u, err = store.GetUser(c.Request.Context(), a.db, id); err == nil {
			ok(c, http.StatusOK, u, nil)
			return
		}
	}
	a.fail(c, err)
}

// patchUser changes a user: their own email and password, or, with users.manage, anyone's
// role and whether they are active.
func (a *API) patchUser(c *gin.Context) {
	id, err := a.userID(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	var req userRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if (req.Role != nil || req.IsActive != nil) && !principalOf(c).Can(auth.PermUsersManage) {
		a.fail(c, filefleet.Errorf(filefleet.EFORBIDDEN, "changing role or is_active needs permission %s", auth.PermUsersManage))
		return
	}
	if req.Username != "" {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "a username cannot be changed"))
		return
	}
	if err := a.mayChangeUser(c, id, req.Role); err != nil {
		a.fail(c, err)
		return
	}
	upd := store.UserUpdate{Email: req.Email, Role: req.Role, IsActive: req.IsActive}
	if req.Password != nil {
		if err := a.mayChangePassword(c, id, req.CurrentPassword); err != nil {
			a.fail(c, err)
			return
		}
		hash, err := auth.HashPassword(*req.Password)
		if err != nil {
			a.fail(c, err)
			return
		}
		upd.PasswordHash = &hash
	}
	u, err := store.UpdateUser(c.Request.Context(), a.db, id, upd)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, u, nil)
}

// holdsAll checks that the principal holds every permission of perms, which what has: nobody
// hands out, or acts on, more than they have.
func holdsAll(p *auth.Principal, perms []string, what string) error {
	for _, perm := range perms {
		if !p.Can(auth.Permission(perm)) {
			return filefleet.Errorf(filefleet.EFORBIDDEN, "%s holds permission %s, which you do not have; "+
				"ask a user who has it", what, perm)
		}
	}
	return nil
}

// grantableRole checks that role name exists and that the principal holds all of its
// permissions.
func (a *API) grantableRole(c *gin.Context, name string) error {
	r, err := store.RoleByName(c.Request.Context(), a.db, name)
	if err != nil {
		return err
	}
	return holdsAll(principalOf(c), r.Permissions, "role "+name)
}

// manageableUser checks that the principal holds every permission of user id's role, as
// changing or deleting another user (or their keys) needs.
func (a *API) manageableUser(c *gin.Context, id int64) error {
	u, err := store.GetUser(c.Request.Context(), a.db, id)
	if err != nil {
		return err
	}
	return holdsAll(principalOf(c), u.Permissions, fmt.Sprintf("user %s (role %s)", u.Username, u.Role))
}

// mayChangeUser checks a change of user id, to role if not nil: nobody changes their own role,
// and users.manage acts only on users, and gives only roles, within its holder's permissions.
func (a *API) mayChangeUser(c *gin.Context, id int64, role *string) error {
	self := id == principalOf(c).UserID
	if self && role != nil {
		return filefleet.Errorf(filefleet.EFORBIDDEN, "you cannot change your own role; ask another user with %s",
			auth.PermUsersManage)
	}
	if !self {
		if err := a.manageableUser(c, id); err != nil {
			return err
		}
	}
	if role != nil {
		return a.grantableRole(c, *role)
	}
	return nil
}

// mayChangePassword checks that the principal may set user id's password: not with a limited
// API key, and for their own password only with current (their present password).
func (a *API) mayChangePassword(c *gin.Context, id int64, current *string) error {
	p := principalOf(c)
	if p.Limited() {
		return filefleet.Errorf(filefleet.EFORBIDDEN, "an API key with scopes cannot change passwords; "+
			"log in, or use an unscoped key")
	}
	if id != p.UserID {
		return nil // users.manage, checked by userID: a reset
	}
	if current == nil || *current == "" {
		return filefleet.Errorf(filefleet.EINVALID, "changing your password needs current_password, your present password")
	}
	u, err := store.GetUser(c.Request.Context(), a.db, id)
	if err != nil {
		return err
	}
	if !auth.CheckPassword(*current, u.PasswordHash) {
		return filefleet.Errorf(filefleet.EFORBIDDEN, "current_password is wrong; give your present password")
	}
	return nil
}

func (a *API) deleteUser(c *gin.Context) {
	id, err := idParam(c, "user")
	if err != nil {
		a.fail(c, err)
		return
	}
	if id == principalOf(c).UserID {
		a.fail(c, filefleet.Errorf(filefleet.ECONFLICT, "you cannot delete yourself"))
		return
	}
	if err := a.manageableUser(c, id); err != nil {
		a.fail(c, err)
		return
	}
	if err := store.DeleteUser(c.Request.Context(), a.db, id); err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"deleted": id}, nil)
}

// roleRequest is the body of POST /roles and PUT /roles/{id}.
type roleRequest struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Permissions []auth.Permission `json:"permissions"`
}

var roleNamePattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// putRole creates (POST) or changes (PUT) a custom role.
func (a *API) putRole(c *gin.Context) {
	var req roleRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if !roleNamePattern.MatchString(req.Name) {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "name must be 1 to 64 lower-case letters, digits, _ or -"))
		return
	}
	if len(req.Permissions) == 0 {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "permissions are required; GET /api/v1/roles/permissions lists them"))
		return
	}
	r := store.Role{Name: req.Name, Description: req.Description}
	for _, p := range req.Permissions {
		if !auth.Known(p) {
			a.fail(c, filefleet.Errorf(filefleet.EINVALID, "unknown permission %q; GET /api/v1/roles/permissions lists them", p))
			return
		}
		if !slices.Contains(r.Permissions, string(p)) {
			r.Permissions = append(r.Permissions, string(p))
		}
	}
	if err := holdsAll(principalOf(c), r.Permissions, "role "+r.Name); err != nil {
		a.fail(c, err)
		return
	}
	status := http.StatusCreated
	if c.Request.Method == http.MethodPut {
		id, err := idParam(c, "role")
		if err == nil {
			err = a.mayChangeRole(c, id)
		}
		if err != nil {
			a.fail(c, err)
			return
		}
		r.ID, status = id, http.StatusOK
	}
	if err := store.PutRole(c.Request.Context(), a.db, &r); err != nil {
		a.fail(c, err)
		return
	}
	ok(c, status, r, nil)
}

// mayChangeRole checks that the principal may change or delete role id: not their own, and
// not one holding a permission they lack. Built-in roles are left to store.PutRole and
// store.DeleteRole (409).
func (a *API) mayChangeRole(c *gin.Context, id int64) error {
	r, err := store.GetRole(c.Request.Context(), a.db, id)
	p := principalOf(c)
	switch {
	case err != nil:
		return err
	case r.IsSystem:
		return nil
	case r.Name == p.Role:
		return filefleet.Errorf(filefleet.EFORBIDDEN, "you cannot change your own role %s; ask another user with %s",
			r.Name, auth.PermRolesManage)
	}
	return holdsAll(p, r.Permissions, "role "+r.Name)
}

func (a *API) listRoles(c *gin.Context) {
	roles, err := store.ListRoles(c.Request.Context(), a.db)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, roles, gin.H{"total": len(roles)})
}

func (a *API) getRole(c *gin.Context) {
	id, err := idParam(c, "role")
	if err != nil {
		a.fail(c, err)
		return
	}
	r, err := store.GetRole(c.Request.Context(), a.db, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, r, nil)
}

func (a *API) deleteRole(c *gin.Context) {
	id, err := idParam(c, "role")
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := a.mayChangeRole(c, id); err != nil {
		a.fail(c, err)
		return
	}
	if err := store.DeleteRole(c.Request.Context(), a.db, id); err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"deleted": id}, nil)
}

// permissionCatalog lists every permission by category.
func (a *API) permissionCatalog(c *gin.Context) {
	ok(c, http.StatusOK, auth.Catalog, nil)
}
