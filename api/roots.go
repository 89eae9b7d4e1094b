package api

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/backends"
	"github.com/filefleet/filefleet/store"
)

// rootNamePattern is what a root name looks like.
var rootNamePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$`)

// createRootRequest is the body of POST /roots.
type createRootRequest struct {
	Name      string             `json:"name"`
	Kind      filefleet.RootKind `json:"kind"`
	Path      string             `json:"path"`
	Endpoint  string             `json:"endpoint"`
	Bucket    string             `json:"bucket"`
	Prefix    string             `json:"prefix"`
	Region    string             `json:"region"`
	UseSSL    bool               `json:"use_ssl"`
	AccessKey string             `json:"access_key"`
	SecretKey string             `json:"secret_key"`
	Host      string             `json:"host"`
	Port      int                `json:"port"`
	Share     string             `json:"share"`
	Username  string             `json:"username"`
	Password  string             `json:"password"`
	Domain    string             `json:"domain"`
}

func (req createRootRequest) root() (*filefleet.Root, error) {
	if !rootNamePattern.MatchString(req.Name) {
		return nil, filefleet.Errorf(filefleet.EINVALID,
			"name must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	r := &filefleet.Root{Name: req.Name, Kind: req.Kind}
	switch req.Kind {
	case filefleet.RootKindLocal:
		if req.Path == "" || !filepath.IsAbs(req.Path) {
			return nil, filefleet.Errorf(filefleet.EINVALID, "a local root needs an absolute path")
		}
		r.Path = filepath.Clean(req.Path)
	case filefleet.RootKindS3:
		if req.Endpoint == "" || req.Bucket == "" {
			return nil, filefleet.Errorf(filefleet.EINVALID, "an s3 root needs endpoint (host:port) and bucket")
		}
		if strings.Contains(req.Endpoint, "://") {
			return nil, filefleet.Errorf(filefleet.EINVALID, "endpoint is host:port without a scheme; set use_ssl for https")
		}
		prefix := strings.Trim(req.Prefix, "/")
		if prefix != "" {
			prefix += "/"
		}
		r.Endpoint, r.Bucket, r.Prefix, r.Region, r.UseSSL = req.Endpoint, req.Bucket, prefix, req.Region, req.UseSSL
		r.AccessKey, r.Secret = req.AccessKey, req.SecretKey
	case filefleet.RootKindSMB:
		conn, err := smbConnection{Host: req.Host, Port: req.Port, Share: req.Share, Path: req.Path,
			Username: req.Username, Password: req.Password, Domain: req.Domain}.root(true)
		if err != nil {
			return nil, err
		}
		conn.Name = r.Name
		return conn, nil
	default:
		return nil, filefleet.Errorf(filefleet.EINVALID, "kind must be one of %v", filefleet.RootKinds)
	}
	return r, nil
}

// createRoot adds a storage root. Unless ?verify=false, it first checks that the root is
// reachable with the credentials given (422 if not).
func (a *API) createRoot(c *gin.Context) {
	var req createRootRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	root, err := req.root()
	if err == nil && root.Kind == filefleet.RootKindLocal {
		err = allowedLocalDir(root.Path, a.cfg.LocalDirs)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	if c.Query("verify") != "false" {
		if err := verifyRoot(c.Request.Context(), *root); err != nil {
			a.fail(c, err)
			return
		}
	}
	if err := store.CreateRoot(c.Request.Context(), a.db, a.box, root); err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusCreated, root, nil)
}

// verifyRoot opens root and checks that it answers; failures are EUNPROCESSABLE with the cause.
func verifyRoot(ctx context.Context, root filefleet.Root) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := backends.Open(root)
	if err == nil {
		defer b.Close()
		err = backends.Check(ctx, b)
	}
	return clientStorageError(err, " (fix the root's settings, or add ?verify=false to skip this check)")
}

func (a *API) listRoots(c *gin.Context) {
	roots, err := store.ListRoots(c.Request.Context(), a.db)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"roots": roots}, gin.H{"total": len(roots)})
}

func (a *API) getRoot(c *gin.Context) {
	root, err := store.GetRoot(c.Request.Context(), a.db, nil, c.Param("name"))
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, root, nil)
}

// rootStatus tells whether a root is reachable, how fast it answered and, where the backend
// knows, its size and free space. An unreachable root is a 200 with reachable false.
func (a *API) rootStatus(c *gin.Context) {
	root, err := store.GetRoot(c.Request.Context(), a.db, a.box, c.Param("name"))
	if err != nil {
		a.fail(c, err)
		return
	}
	status := gin.H{"name": root.Name, "kind": root.Kind, "reachable": false}
	start := time.Now()
	err = withBackend(c.Request.Context(), *root, func(ctx context.Context, b storage.Backend) error {
		if err := backends.Check(ctx, b); err != nil {
			return err
		}
		status["reachable"], status["latency_ms"] = true, float64(time.Since(start).Microseconds())/1000
		if sr, ok := b.(storage.SpaceReporter); ok {
			if total, free, err := sr.Statfs(ctx); err == nil {
				status["total_bytes"], status["free_bytes"] = total, free
			}
		}
		return nil
	})
	if err != nil {
		status["error"] = gin.H{"code": statusOf[filefleet.ErrorCode(err)].code, "message": filefleet.ErrorMessage(err)}
	}
	ok(c, http.StatusOK, status, nil)
}

// browseRoot lists one directory level of a root: ?path=&limit=&cursor=; meta.next_cursor
// continues the listing.
func (a *API) browseRoot(c *gin.Context) {
	root, err := store.GetRoot(c.Request.Context(), a.db, a.box, c.Param("name"))
	if err != nil {
		a.fail(c, err)
		return
	}
	limit := 0
	if s := c.Query("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil {
			limit = -1
		}
	}
	a.browse(c, *root, c.Query("path"), c.Query("cursor"), limit, nil)
}

// browse lists one level of dir in root as the browse endpoints answer it.
// limit 0 means the default; mapErr, when set, turns storage failures into client errors.
func (a *API) browse(c *gin.Context, root filefleet.Root, dir, cursor string, limit int, mapErr func(error) error) {
	if limit == 0 {
		limit = limitDefault
	}
	if limit < 1 || limit > browseLimitMax {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "limit must be a whole number from 1 to %d", browseLimitMax))
		return
	}
	dir, err := storage.CleanPath(dir)
	if err != nil {
		a.fail(c, err)
		return
	}
	var entries []storage.Entry
	var next string
	err = withBackend(c.Request.Context(), root, func(ctx context.Context, b storage.Backend) error {
		entries, next, err = b.List(ctx, dir, cursor, limit)
		return err
	})
	if err != nil && mapErr != nil {
		err = mapErr(err)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]browseEntry, len(entries))
	for i, e := range entries {
		out[i] = browseEntry{Name: e.Name(), Path: e.Path, Size: e.Size, IsDirectory: e.IsDir, ETag: e.ETag}
		if !e.ModTime.IsZero() {
			t := e.ModTime.UTC()
			out[i].ModifiedAt = &t
		}
	}
	ok(c, http.StatusOK, gin.H{"entries": out}, gin.H{"limit": limit, "count": len(out), "next_cursor": next})
}

// browseLimitMax is the most entries one browse page holds (S3 pages hold up to 999).
const browseLimitMax = 999

// browseEntry is one entry of a browse listing.
type browseEntry struct {
	Name        string     `json:"name"`
	Path        string     `json:"path"`
	Size        int64      `json:"size"`
	IsDirectory bool       `json:"is_directory"`
	ModifiedAt  *time.Time `json:"modified_at,omitempty"`
	ETag        string     `json:"etag,omitempty"`
}

// withBackend opens root's backend for one request, with a 30 s limit.
func withBackend(ctx context.Context, root filefleet.Root, fn func(context.Context, storage.Backend) error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	b, err := backends.Open(root)
	if err != nil {
		return err
	}
	defer b.Close()
	return fn(ctx, b)
}

func (a *API) deleteRoot(c *gin.Context) {
	force, err := boolParam(c, "force", false)
	if err == nil {
		err = store.DeleteRoot(c.Request.Context(), a.db, c.Param("name"), force)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"deleted": c.Param("name")}, nil)
}

// allowedLocalDir returns EFORBIDDEN unless dir (symlinks resolved) lies in one of allowed;
// none allowed means any.
func allowedLocalDir(dir string, allowed []string) error {
	if len(allowed) == 0 {
		return nil
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		real = dir // a directory that does not exist yet: verify (or the worker) says so
	}
	for _, a := range allowed {
		if ra, err := filepath.EvalSymlinks(a); err == nil {
			a = ra
		}
		if rel, err := filepath.Rel(a, real); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return nil
		}
	}
	return filefleet.Errorf(filefleet.EFORBIDDEN, "local roots must lie in %s (FILEFLEET_LOCAL_ROOT_DIRS); %q does not",
		strings.Join(allowed, ", "), dir)
}
