package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/store"
)

// principalKey is where authenticate leaves the request's auth.Principal.
const principalKey = "filefleet.principal"

// authenticate resolves the request's credentials — X-API-Key: fo_<id>_<secret>,
// Authorization: Bearer <access token or API key>, or on the routes of queryTokenRoutes a
// token query parameter — and answers 401 without them.
func (a *API) authenticate(c *gin.Context) {
	if c.Query("token") != "" && !queryTokenAllowed(c) {
		a.fail(c, filefleet.Errorf(filefleet.EUNAUTHORIZED, "?token= is only taken by event streams and downloads "+
			"(a token in a URL ends up in logs and browser history): send X-API-Key: fo_<id>_<secret> or "+
			"Authorization: Bearer <access_token> instead"))
		c.Abort()
		return
	}
	p, err := a.principal(c)
	if err != nil {
		a.fail(c, err)
		c.Abort()
		return
	}
	c.Set(principalKey, p)
	c.Next()
}

// queryTokenRoutes are the routes that take their credential as a token query parameter
// too, for clients that cannot set headers: EventSource, WebSocket, and links a browser
// follows to download a file. Other routes refuse one.
var queryTokenRoutes = map[string]bool{
	"/api/v1/events":                         true,
	"/api/v1/jobs/:id/events":                true,
	"/api/v1/ws/:client_id":                  true,
	"/api/v1/download/file/:id":              true,
	"/api/v1/download/directory/:root/*path": true,
}

// queryTokenAllowed reports whether the request may present its credential as ?token=.
func queryTokenAllowed(c *gin.Context) bool {
	return c.Request.Method == http.MethodGet && queryTokenRoutes[c.FullPath()]
}

// credential returns the credential a request presents, "" when none.
func credential(c *gin.Context) string {
	if k := c.GetHeader("X-API-Key"); k != "" {
		return k
	}
	if h := c.GetHeader("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if queryTokenAllowed(c) {
		return c.Query("token")
	}
	return ""
}

func (a *API) principal(c *gin.Context) (*auth.Principal, error) {
	return a.principalFor(c, credential(c))
}

// principalFor checks credential cred: an API key or an access token.
func (a *API) principalFor(c *gin.Context, cred string) (*auth.Principal, error) {
	if cred == "" {
		return nil, filefleet.Errorf(filefleet.EUNAUTHORIZED, "authentication required: send X-API-Key: fo_<id>_<secret>, "+
			"or Authorization: Bearer <access_token> from POST /api/v1/auth/login")
	}
	if strings.HasPrefix(cred, auth.KeyPrefix) {
		return a.keyPrincipal(c, cred)
	}
	userID, sid, err := a.issuer.Verify(cred)
	if err != nil {
		return nil, err
	}
	sess, err := store.GetSession(c.Request.Context(), a.db, sid)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND || (err == nil && (sess.RevokedAt != nil || sess.UserID != userID)) {
		return nil, filefleet.Errorf(filefleet.EUNAUTHORIZED, "the session has ended; log in again")
	} else if err != nil {
		return nil, err
	}
	u, err := a.activeUser(c, userID)
	if err != nil {
		return nil, err
	}
	return &auth.Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Permissions: permissions(u.Permissions)}, nil
}

// keyPrincipal checks an API key: known, secret matching (constant time), not revoked, not
// expired, of an active user. Its scopes narrow the user's permissions.
func (a *API) keyPrincipal(c *gin.Context, key string) (*auth.Principal, error) {
	invalid := filefleet.Errorf(filefleet.EUNAUTHORIZED, "invalid API key")
	id, secret, ok := auth.ParseKey(key)
	if !ok {
		return nil, invalid
	}
	k, err := store.GetKey(c.Request.Context(), a.db, id)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		auth.SecretMatches(secret, make([]byte, 32)) // the same work as for a known key
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	switch {
	case !auth.SecretMatches(secret, k.SecretHash):
		return nil, invalid
	case k.RevokedAt != nil:
		return nil, filefleet.Errorf(filefleet.EUNAUTHORIZED, "API key %s was revoked; create a new one", k.ID)
	case k.ExpiresAt != nil && !k.ExpiresAt.After(time.Now()):
		return nil, filefleet.Errorf(filefleet.EUNAUTHORIZED, "API key %s expired at %s; create a new one", k.ID,
			k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	u, err := a.activeUser(c, k.UserID)
	if err != nil {
		return nil, err
	}
	perms := permissions(u.Permissions)
	if len(k.Scopes) > 0 {
		perms = narrow(perms, permissions(k.Scopes))
	}
	if err := store.TouchKey(c.Request.Context(), a.db, k.ID); err != nil {
		a.log.Warn("record API key use", "key_id", k.ID, "err", err)
	}
	return &auth.Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Permissions: perms, KeyID: k.ID,
		Scopes: permissions(k.Scopes)}, nil
}

// activeUser loads user id; 401 when it is gone or disabled.
func (a *API) activeUser(c *gin.Context, id int64) (*store.User, error) {
	u, err := store.GetUser(c.Request.Context(), a.db, id)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND || (err == nil && !u.IsActive) {
		return nil, filefleet.Errorf(filefleet.EUNAUTHORIZED, "the user of these credentials is disabled or gone")
	}
	return u, err
}

// narrow returns the permissions of scopes that perms grant.
func narrow(perms, scopes []auth.Permission) []auth.Permission {
	if slices.Contains(perms, auth.PermAll) {
		return scopes
	}
	var out []auth.Permission
	for _, s := range scopes {
		if slices.Contains(perms, s) {
			out = append(out, s)
		}
	}
	return out
}

func permissions(ss []string) []auth.Permission {
	out := make([]auth.Permission, len(ss))
	for i, s := range ss {
		out[i] = auth.Permission(s)
	}
	return out
}

// principalOf returns the request's principal (nil before authenticate).
func principalOf(c *gin.Context) *auth.Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(*auth.Principal)
	return pr
}

// need answers 403 unless the principal holds permission perm.
func (a *API) need(perm auth.Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principalOf(c)
		if p == nil {
			a.fail(c, filefleet.Errorf(filefleet.EUNAUTHORIZED, "authentication required"))
			c.Abort()
			return
		}
		if !p.Can(perm) {
			a.fail(c, filefleet.Errorf(filefleet.EFORBIDDEN, "this needs permission %s, which role %s does not grant", perm, p.Role))
			c.Abort()
			return
		}
		c.Next()
	}
}
