package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/backends"
	"github.com/filefleet/filefleet/storage/smb"
)

// smbConnection is the body of the /smb endpoints (as in the catalog seed). Only POST bodies
// are accepted: the seed's query-parameter variants would put passwords in URLs and logs.
type smbConnection struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Share    string `json:"share"`
	Path     string `json:"path"`
	Username string `json:"username"`
	Password string `json:"password"`
	Domain   string `json:"domain"`
	Limit    int    `json:"limit"`
	Cursor   string `json:"cursor"`
}

// smbPortDefault is SMB's standard port.
const smbPortDefault = 445

// root validates the connection and returns it as an smb root; needShare says whether a share
// is required.
func (s smbConnection) root(needShare bool) (*filefleet.Root, error) {
	if s.Host == "" {
		return nil, filefleet.Errorf(filefleet.EINVALID, "host is required")
	}
	if needShare && s.Share == "" {
		return nil, filefleet.Errorf(filefleet.EINVALID, "share is required")
	}
	if s.Port == 0 {
		s.Port = smbPortDefault
	}
	if s.Port < 1 || s.Port > 65535 {
		return nil, filefleet.Errorf(filefleet.EINVALID, "port must be from 1 to 65535")
	}
	path, err := storage.CleanPath(s.Path)
	if err != nil {
		return nil, err
	}
	return &filefleet.Root{Kind: filefleet.RootKindSMB, Host: s.Host, Port: s.Port, Share: s.Share, Path: path,
		Username: s.Username, Secret: s.Password, Domain: s.Domain}, nil
}

func (a *API) bindSMB(c *gin.Context, needShare bool) (*filefleet.Root, smbConnection, bool) {
	var req smbConnection
	err := bindJSON(c, &req)
	var root *filefleet.Root
	if err == nil {
		root, err = req.root(needShare)
	}
	if err != nil {
		a.fail(c, err)
		return nil, req, false
	}
	return root, req, true
}

// smbDiscover lists the shares of an SMB server.
func (a *API) smbDiscover(c *gin.Context) {
	root, _, found := a.bindSMB(c, false)
	if !found {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 15*time.Second)
	defer cancel()
	shares, err := smb.ListShares(ctx, smbConfig(*root))
	if err != nil {
		a.fail(c, smbError(err))
		return
	}
	ok(c, http.StatusOK, gin.H{"host": root.Host, "shares": shares}, gin.H{"total": len(shares)})
}

// smbTest connects to a share with the credentials given: 200 when it works, 4xx saying why not.
func (a *API) smbTest(c *gin.Context) {
	root, _, found := a.bindSMB(c, true)
	if !found {
		return
	}
	start := time.Now()
	err := withBackend(c.Request.Context(), *root, func(ctx context.Context, b storage.Backend) error {
		return backends.Check(ctx, b)
	})
	if err != nil {
		a.fail(c, smbError(err))
		return
	}
	ok(c, http.StatusOK, gin.H{"host": root.Host, "port": root.Port, "share": root.Share, "username": root.Username,
		"connection": true, "latency_ms": float64(time.Since(start).Microseconds()) / 1000}, nil)
}

// smbBrowse lists one directory level of a share.
func (a *API) smbBrowse(c *gin.Context) {
	root, req, found := a.bindSMB(c, true)
	if !found {
		return
	}
	dir := root.Path
	root.Path = ""
	a.browse(c, *root, dir, req.Cursor, req.Limit, smbError)
}

// smbError makes storage failures of an ad-hoc connection client errors.
func smbError(err error) error { return clientStorageError(err, "") }

func smbConfig(r filefleet.Root) smb.Config {
	return smb.Config{Host: r.Host, Port: r.Port, Share: r.Share, Path: r.Path, Username: r.Username,
		Password: r.Secret, Domain: r.Domain}
}
