package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

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
	p := store.ListFilesParams{Root: c.Query("root"), Limit: limit, Offset: offset,
		SortBy: c.Query("sort_by"), SortOrder: c.Query("sort_order"), IncludeDeleted: c.Query("include_deleted") == "true"}
	if p.Path, err = storage.CleanPath(c.Query("path")); err == nil {
		err = oneOf("sort_by", p.SortBy, store.FileSortNames)
	}
	if err == nil {
		err = oneOf("sort_order", p.SortOrder, []string{"asc", "desc"})
	}
	if err == nil && p.Root != "" {
		_, err = store.GetRoot(c.Request.Context(), a.db, nil, p.Root)
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
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "file id %q is not a positive integer", c.Param("id")))
		return
	}
	f, err := store.GetFile(c.Request.Context(), a.db, id)
	if err != nil {
		a.fail(c, err)
		return
	}
	ok(c, http.StatusOK, f, nil)
}
