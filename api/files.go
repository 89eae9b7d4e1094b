package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/store"
)

// listFiles lists the catalog: ?root=&path=&limit=&offset=&sort_by=&sort_order=&include_deleted=.
func (a *API) listFiles(c *gin.Context) {
	limit, offset, err := page(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	p := store.ListFilesParams{Limit: limit, Offset: offset,
		SortBy: c.Query("sort_by"), SortOrder: c.Query("sort_order"), IncludeDeleted: c.Query("include_deleted") == "true"}
	if p.Path, err = storage.CleanPath(c.Query("path")); err == nil {
		err = oneOf("sort_by", p.SortBy, store.FileSortNames)
	}
	if err == nil {
		err = oneOf("sort_order", p.SortOrder, []string{"asc", "desc"})
	}
	if name := c.Query("root"); err == nil && name != "" {
		var root *filefleet.Root
		if root, err = store.GetRoot(c.Request.Context(), a.db, nil, name); err == nil {
			p.RootID = root.ID
		}
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	files, total, err := store.ListFiles(c.Request.Context(), a.db, p)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"files": files}, pageMeta(total, limit, offset))
}

func (a *API) getFile(c *gin.Context) {
	id, err := idParam(c, "file")
	if err != nil {
		a.fail(c, err)
		return
	}
	f, err := store.GetFile(c.Request.Context(), a.db, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, f, nil)
}

// stillAsCatalogued returns ECONFLICT unless the file at f's path is still a file of f's size
// and modification time (to the second: S3 listings and HEAD differ below it): a deletion
// must not remove content the catalog has not seen. ENOTFOUND when it is gone.
func stillAsCatalogued(ctx context.Context, b storage.Backend, f *filefleet.File) error {
	e, err := b.Stat(ctx, f.Path)
	switch {
	case filefleet.ErrorCode(err) == filefleet.ENOTFOUND:
		return filefleet.Errorf(filefleet.ENOTFOUND, "%s is no longer in its root; rescan %s to update the catalog", f.Path, f.RootName)
	case err != nil:
		return err
	case e.IsDir || e.Size != f.Size || !e.ModTime.Truncate(time.Second).Equal(f.ModifiedAt.Truncate(time.Second)):
		return filefleet.Errorf(filefleet.ECONFLICT, "%s changed since the catalog saw it; rescan %s and try again", f.Path, f.RootName)
	}
	return nil
}

// deleteFile deletes a catalog file from its storage: by default it moves it to
// .filefleet-trash/deleted/<deletion id>/ in its root (where it can be taken back), with
// ?permanent=true it removes it. The deletion is journaled before the file is touched.
func (a *API) deleteFile(c *gin.Context) {
	permanent := c.Query("permanent") == "true"
	ctx := c.Request.Context()
	f, b, err := a.liveFile(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	defer b.Close()
	if err := stillAsCatalogued(ctx, b, f); err != nil {
		a.fail(c, err)
		return
	}
	userID := principalOf(c).UserID
	d := store.FileDeletion{FileID: f.ID, RootID: f.RootID, Path: f.Path, UserID: &userID, RequestID: c.GetString("request_id")}
	if err := store.StartDeletion(ctx, a.db, &d, !permanent); err != nil {
		a.fail(c, err)
		return
	}
	if !permanent {
		err = b.Rename(ctx, f.Path, d.TrashPath)
	} else {
		err = b.Remove(ctx, f.Path)
	}
	// From here on the file has moved (or failed to): record it even if the client left.
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		if ferr := store.FinishDeletion(ctx, a.db, d.ID, "failed", "", filefleet.ErrorMessage(err)); ferr != nil {
			a.log.Error("journal failed deletion", "deletion_id", d.ID, "err", ferr)
		}
		a.fail(c, err)
		return
	}
	d.State = "done"
	err = store.InTx(ctx, a.db, func(tx *sqlx.Tx) error {
		if err := store.FinishDeletion(ctx, tx, d.ID, d.State, d.TrashPath, ""); err != nil {
			return err
		}
		return store.SetDeleted(ctx, tx, f.RootID, f.Path, true)
	})
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, gin.H{"deleted": f.ID, "root": f.RootName, "path": f.Path, "deletion": d}, nil)
}
