// Package auth holds filefleet's authentication and authorization rules: permissions and
// built-in roles, password hashing, API keys and access tokens.
package auth

import "slices"

// Permission names one thing a user may do.
type Permission string

// Permissions. Every API route declares the one it needs.
const (
	PermAll             Permission = "*"
	PermRootsView       Permission = "roots.view"
	PermRootsManage     Permission = "roots.manage"
	PermJobsView        Permission = "jobs.view"
	PermJobsSubmit      Permission = "jobs.submit"
	PermJobsCancel      Permission = "jobs.cancel"
	PermFilesView       Permission = "files.view"
	PermFilesDelete     Permission = "files.delete"
	PermFilesUpload     Permission = "files.upload"
	PermPlansExecute    Permission = "plans.execute" // approve and run (or undo) dedupe and organize plans
	PermSchedulesView   Permission = "schedules.view"
	PermSchedulesManage Permission = "schedules.manage"
	PermMonitoringView  Permission = "monitoring.view"
	PermUsersManage     Permission = "users.manage"
	PermRolesManage     Permission = "roles.manage"
)

// Catalog lists every permission by category, as GET /roles/permissions shows it.
var Catalog = map[string][]Permission{
	"roots":      {PermRootsView, PermRootsManage},
	"jobs":       {PermJobsView, PermJobsSubmit, PermJobsCancel},
	"files":      {PermFilesView, PermFilesDelete, PermFilesUpload},
	"plans":      {PermPlansExecute},
	"schedules":  {PermSchedulesView, PermSchedulesManage},
	"monitoring": {PermMonitoringView},
	"system":     {PermUsersManage, PermRolesManage, PermAll},
}

// Known reports whether p is in the catalog.
func Known(p Permission) bool {
	for _, ps := range Catalog {
		if slices.Contains(ps, p) {
			return true
		}
	}
	return false
}

// Built-in roles, created by the migrations; they cannot be changed or deleted.
const (
	RoleAdmin    = "admin"
	RoleOperator = "operator"
	RoleViewer   = "viewer"
)

// Principal is who a request acts for: a user, through a password login or one of their API keys.
type Principal struct {
	UserID      int64        `json:"user_id"`
	Username    string       `json:"username"`
	Role        string       `json:"role"`
	Permissions []Permission `json:"permissions"`
	KeyID       string       `json:"key_id,omitempty"` // the API key used, if any
	// Scopes are the API key's scopes as stored (not narrowed by the user's role); none for
	// a login session or an unscoped key.
	Scopes []Permission `json:"scopes,omitempty"`
}

// Limited reports whether the principal acts through an API key limited by scopes (other than
// "*"). A limited key cannot change passwords, and creates and revokes only keys within its
// scopes.
func (p *Principal) Limited() bool {
	return p != nil && len(p.Scopes) > 0 && !slices.Contains(p.Scopes, PermAll)
}

// Within reports whether every permission of perms is in scopes.
func Within(perms, scopes []Permission) bool {
	for _, s := range perms {
		if !slices.Contains(scopes, s) {
			return false
		}
	}
	return true
}

// Can reports whether the principal holds permission p.
func (p *Principal) Can(perm Permission) bool {
	return p != nil && (slices.Contains(p.Permissions, PermAll) || slices.Contains(p.Permissions, perm))
}
