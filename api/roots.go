package api

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
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
	if err == nil {
		return nil
	}
	code := filefleet.ErrorCode(err)
	if code == filefleet.EINVALID {
		return err
	}
	return filefleet.Errorf(filefleet.EUNPROCESSABLE, "storage root check failed: %s (fix it, or add ?verify=false to skip the check)",
		filefleet.ErrorMessage(err)).WithDetails(map[string]any{"reason": statusOf[code].code})
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

func (a *API) deleteRoot(c *gin.Context) {
	if err := store.DeleteRoot(c.Request.Context(), a.db, c.Param("name")); err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"deleted": c.Param("name")}, nil)
}
