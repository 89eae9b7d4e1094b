package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/zeebo/blake3"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/archive"
	"github.com/filefleet/filefleet/events"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/backends"
	"github.com/filefleet/filefleet/store"
)

// DownloadMaxBytesDefault is the largest directory (sum of its files) GET
// /download/directory and POST /download/archive stream; larger ones are archived by a job.
const DownloadMaxBytesDefault = 10 << 30

// backendOf opens the storage of root id; close it after use.
func (a *API) backendOf(ctx context.Context, id int64) (storage.Backend, *filefleet.Root, error) {
	root, err := store.GetRootByID(ctx, a.db, a.box, id)
	if err != nil {
		return nil, nil, err
	}
	b, err := backends.Open(*root)
	return b, root, err
}

// liveFile loads catalog file :id, which must not be deleted, and opens its root's storage;
// close it after use.
func (a *API) liveFile(c *gin.Context) (*filefleet.File, storage.Backend, error) {
	id, err := idParam(c, "file")
	if err != nil {
		return nil, nil, err
	}
	f, err := store.GetFile(c.Request.Context(), a.db, id)
	if err == nil && f.Deleted {
		err = filefleet.Errorf(filefleet.ENOTFOUND, "file %d is deleted", id)
	}
	if err != nil {
		return nil, nil, err
	}
	b, _, err := a.backendOf(c.Request.Context(), f.RootID)
	return f, b, err
}

// backendNamed opens the storage of the root named name; close it after use.
func (a *API) backendNamed(ctx context.Context, name string) (storage.Backend, *filefleet.Root, error) {
	if name == "" {
		return nil, nil, filefleet.Errorf(filefleet.EINVALID, "root is required: name a storage root (GET /api/v1/roots lists them)")
	}
	root, err := store.GetRoot(ctx, a.db, a.box, name)
	if err != nil {
		return nil, nil, err
	}
	b, err := backends.Open(*root)
	return b, root, err
}

// downloadFile streams catalog file :id from its storage, with Range requests (RFC 9110) and
// conditional requests answered by http.ServeContent.
func (a *API) downloadFile(c *gin.Context) {
	ctx := c.Request.Context()
	f, b, err := a.liveFile(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	defer b.Close()
	e, err := b.Stat(ctx, f.Path)
	switch {
	case filefleet.ErrorCode(err) == filefleet.ENOTFOUND:
		err = filefleet.Errorf(filefleet.ENOTFOUND, "file %d is no longer at %s:%s; scan the root again", f.ID, f.RootName, f.Path)
	case err == nil && e.IsDir:
		err = filefleet.Errorf(filefleet.EINVALID, "cannot download directory as single file; use GET /api/v1/download/directory/%s/%s",
			f.RootName, f.Path)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Content-Disposition", attachment(path.Base(f.Path)))
	c.Header("Content-Type", "application/octet-stream")
	r := &rangeReader{ctx: ctx, b: b, path: f.Path, size: e.Size}
	defer r.Close()
	http.ServeContent(c.Writer, c.Request, "", e.ModTime, r)
}

// attachment is a Content-Disposition header value for a file name (RFC 6266, with the
// RFC 2231 form for names that are not plain ASCII).
func attachment(name string) string {
	return mime.FormatMediaType("attachment", map[string]string{"filename": name})
}

// rangeReader is an io.ReadSeeker over a storage file: it opens the file at the offset
// reached by Seek on the first Read after it, so a Range request reads only its bytes.
type rangeReader struct {
	ctx       context.Context
	b         storage.Backend
	path      string
	size, off int64
	r         io.ReadCloser
}

func (r *rangeReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return r.off, errors.New("seek before the start of the file")
	}
	if offset != r.off {
		r.Close()
		r.off = offset
	}
	return r.off, nil
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.r == nil {
		rc, err := r.b.Open(r.ctx, r.path, r.off, -1)
		if err != nil {
			return 0, err
		}
		r.r = rc
	}
	n, err := r.r.Read(p)
	r.off += int64(n)
	return n, err
}

func (r *rangeReader) Close() error {
	if r.r == nil {
		return nil
	}
	err := r.r.Close()
	r.r = nil
	return err
}

// downloadDirectory streams directory :path of root :root as an archive (?format=zip, the
// default, tar, tar.gz or tar.zst).
func (a *API) downloadDirectory(c *gin.Context) {
	dir := strings.TrimPrefix(c.Param("path"), "/")
	name := path.Base(dir)
	if dir == "" {
		name = c.Param("root")
	}
	a.streamArchive(c, c.Param("root"), c.Query("format"), archive.Selection{Prefix: dir}, name)
}

// archiveRequest is the body of POST /download/archive (the catalog seed's, which names the
// root smb_root).
type archiveRequest struct {
	Paths   []string `json:"paths"`
	Format  string   `json:"format"`
	Root    string   `json:"root"`
	SMBRoot string   `json:"smb_root"`
}

// downloadArchive streams the files and directories of a list of paths as an archive.
func (a *API) downloadArchive(c *gin.Context) {
	var req archiveRequest
	if err := bindJSON(c, &req); err != nil {
		a.fail(c, err)
		return
	}
	if len(req.Paths) == 0 {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "paths is required: the files and directories to archive"))
		return
	}
	root := req.Root
	if root == "" {
		root = req.SMBRoot
	}
	a.streamArchive(c, root, req.Format, archive.Selection{Paths: req.Paths}, "archive-"+time.Now().UTC().Format("20060102-150405"))
}

// streamArchive writes the files of sel in root as an archive named name.<ext>. Problems
// found before the first byte get an error envelope; a failure while streaming aborts the
// connection, so the client never takes a cut archive for a whole one.
func (a *API) streamArchive(c *gin.Context, rootName, format string, sel archive.Selection, name string) {
	ctx := c.Request.Context()
	f, err := archive.ParseFormat(format)
	if err != nil {
		a.fail(c, err)
		return
	}
	b, _, err := a.backendNamed(ctx, rootName)
	if err != nil {
		a.fail(c, err)
		return
	}
	defer b.Close()
	l, err := archive.Collect(ctx, b, sel, a.cfg.DownloadMaxBytes)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Content-Type", f.ContentType())
	c.Header("Content-Disposition", attachment(name+"."+f.Ext()))
	c.Status(http.StatusOK)
	if _, err := archive.Write(ctx, c.Writer, f, b, l.Files, nil); err != nil {
		if ctx.Err() == nil {
			a.log.ErrorContext(ctx, "archive download failed midway; aborting the response", "root", rootName, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}

// upload is the response of POST /files/upload.
type upload struct {
	Message     string `json:"message"`
	Filename    string `json:"filename"`
	Destination string `json:"destination"` // root:path
	Root        string `json:"root"`
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	FileID      int64  `json:"file_id"`
	BLAKE3      string `json:"blake3"`
}

// uploadFile streams a multipart upload straight into a root, without a temporary copy. The
// form names where first: "destination" ("root:path", the catalog seed's) or "root" and
// "path"; the path is a directory when it is empty, ends with "/" or is one, else the file's
// path. "overwrite" = "true" replaces an existing file (else 409). Then the "file" part.
func (a *API) uploadFile(c *gin.Context) {
	ctx := c.Request.Context()
	mr, err := c.Request.MultipartReader()
	if err != nil {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID, "send multipart/form-data with a \"file\" part: %v", err))
		return
	}
	fields := map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			a.fail(c, filefleet.Errorf(filefleet.EINVALID, "the form has no \"file\" part"))
			return
		} else if err != nil {
			a.fail(c, filefleet.Errorf(filefleet.EINVALID, "malformed multipart body: %v", err))
			return
		}
		if part.FormName() != "file" {
			v, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				a.fail(c, filefleet.Errorf(filefleet.EINVALID, "malformed multipart body: %v", err))
				return
			}
			fields[part.FormName()] = string(v)
			continue
		}
		res, err := a.receive(ctx, fields, part)
		if err != nil {
			a.fail(c, err)
			return
		}
		ok(c, http.StatusOK, res, nil)
		return
	}
}

// receive writes the file part of an upload where fields say.
func (a *API) receive(ctx context.Context, fields map[string]string, part *multipart.Part) (upload, error) {
	var up upload
	filename, err := storage.CleanPath(path.Base(strings.ReplaceAll(part.FileName(), `\`, "/")))
	if err != nil || filename == "" {
		return up, filefleet.Errorf(filefleet.EINVALID,
			"the \"file\" part needs a file name in UTF-8, without NUL bytes, other than \".\" or \"..\"")
	}
	rootName, dst := fields["root"], fields["path"]
	if d, found := fields["destination"]; found {
		var ok bool
		if rootName, dst, ok = strings.Cut(d, ":"); !ok {
			return up, filefleet.Errorf(filefleet.EINVALID, "invalid destination format %q. Use 'root:path'", d)
		}
	}
	b, root, err := a.backendNamed(ctx, rootName)
	if err != nil {
		return up, err
	}
	defer b.Close()
	asDir := dst == "" || strings.HasSuffix(dst, "/")
	if dst, err = storage.CleanPath(dst); err != nil {
		return up, err
	}
	e, err := b.Stat(ctx, dst)
	if err == nil && e.IsDir {
		asDir = true
	}
	if asDir {
		dst = storage.Join(dst, filename)
	}
	if terr := storage.NotInTrash(dst); terr != nil {
		return up, terr
	}
	if fields["overwrite"] != "true" {
		// Two uploads to one free name would both find it free and the second replace the
		// first: the check and the write are made under a lock on the name.
		release, lerr := store.LockPath(ctx, a.db, root.ID, dst)
		if lerr != nil {
			return up, lerr
		}
		defer release()
	}
	e, err = b.Stat(ctx, dst)
	switch {
	case err == nil && e.IsDir:
		return up, filefleet.Errorf(filefleet.ECONFLICT, "%s:%s is a directory", root.Name, dst)
	case err == nil && fields["overwrite"] != "true":
		return up, filefleet.Errorf(filefleet.ECONFLICT, "destination file already exists: %s:%s; send overwrite=true to replace it", root.Name, dst)
	case err != nil && filefleet.ErrorCode(err) != filefleet.ENOTFOUND:
		return up, err
	}
	sum := blake3.New()
	e, err = b.Put(ctx, dst, io.TeeReader(part, sum))
	if err != nil {
		return up, err
	}
	digest := sum.Sum(nil)
	// The file is in place: record it even if the client hung up meanwhile.
	id, err := store.RecordWritten(context.WithoutCancel(ctx), a.db, root.ID, e, digest)
	if err != nil {
		return up, err
	}
	up = upload{Message: "File uploaded successfully", Filename: filename, Destination: root.Name + ":" + dst,
		Root: root.Name, Path: dst, Size: e.Size, FileID: id, BLAKE3: hex.EncodeToString(digest)}
	a.announceUpload(ctx, up)
	return up, nil
}

// announceUpload stores and publishes the file_uploaded event of an upload.
func (a *API) announceUpload(ctx context.Context, up upload) {
	ev := filefleet.Event{Type: filefleet.EventFileUploaded, Message: fmt.Sprintf("uploaded %s (%d bytes)", up.Destination, up.Size)}
	ev.Data, _ = json.Marshal(up)
	if err := store.AddEvent(ctx, a.db, &ev); err != nil {
		a.log.WarnContext(ctx, "record file_uploaded event", "err", err)
		return
	}
	if err := events.Publish(ctx, a.rdb, ev); err != nil {
		a.log.WarnContext(ctx, "publish file_uploaded event", "err", err)
	}
}
