package client

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/filefleet/filefleet"
)

// FilesService reads the catalog and moves file bytes (/files, /download, /files/upload).
type FilesService struct{ c *Client }

// ListFilesOptions filter and page GET /files; zero values are left out.
type ListFilesOptions struct {
	Root           string // a root's name; all roots when empty
	Path           string // a directory: files anywhere below it
	SortBy         string // path (default), name, size, modified_at, created_at, extension
	SortOrder      string // asc, desc
	IncludeDeleted bool   // also files later scans found gone
	Limit          int    // 1-1000, default 100
	Offset         int
}

// FileList is a page of catalog files.
type FileList struct {
	Files []filefleet.File `json:"-"`
	Page
}

// List returns a page of the catalog.
func (s *FilesService) List(ctx context.Context, o ListFilesOptions) (*FileList, error) {
	q := query("root", o.Root, "path", o.Path, "sort_by", o.SortBy, "sort_order", o.SortOrder,
		"include_deleted", boolStr(o.IncludeDeleted), "limit", itoa(o.Limit), "offset", itoa(o.Offset))
	return listFiles(ctx, s.c, "/files"+q)
}

func listFiles(ctx context.Context, c *Client, path string) (*FileList, error) {
	var out struct {
		Files []filefleet.File `json:"files"`
	}
	var l FileList
	if err := c.get(ctx, path, &dataMeta{&out, &l.Page}); err != nil {
		return nil, err
	}
	l.Files = out.Files
	return &l, nil
}

// Get returns a catalog file.
func (s *FilesService) Get(ctx context.Context, id int64) (*filefleet.File, error) {
	return call[filefleet.File](ctx, s.c, http.MethodGet, "/files/"+strconv.FormatInt(id, 10), nil)
}

// FileDeletion is the answer of DELETE /files/{id}.
type FileDeletion struct {
	Deleted  int64  `json:"deleted"`
	Root     string `json:"root"`
	Path     string `json:"path"`
	Deletion struct {
		ID        int64  `json:"id"`
		FileID    int64  `json:"file_id"`
		Path      string `json:"path"`
		TrashPath string `json:"trash_path,omitempty"`
		RequestID string `json:"request_id"`
		State     string `json:"state"` // in_progress, done, failed
		Message   string `json:"message,omitempty"`
	} `json:"deletion"`
}

// Delete deletes a file from its storage: to .filefleet-trash/deleted/ in its root, or for
// good if permanent.
func (s *FilesService) Delete(ctx context.Context, id int64, permanent bool) (*FileDeletion, error) {
	path := "/files/" + strconv.FormatInt(id, 10) + query("permanent", boolStr(permanent))
	return call[FileDeletion](ctx, s.c, http.MethodDelete, path, nil)
}

// Download writes a catalog file's bytes to w and returns how many it wrote.
func (s *FilesService) Download(ctx context.Context, id int64, w io.Writer) (int64, error) {
	return s.download(ctx, id, 0, -1, w)
}

// DownloadRange writes length bytes of a catalog file from offset to w (length < 0: to the
// end) and returns how many it wrote; fewer when the file ends first.
func (s *FilesService) DownloadRange(ctx context.Context, id, offset, length int64, w io.Writer) (int64, error) {
	if offset < 0 || length == 0 {
		return 0, fmt.Errorf("filefleet: DownloadRange: offset %d, length %d", offset, length)
	}
	return s.download(ctx, id, offset, length, w)
}

func (s *FilesService) download(ctx context.Context, id, offset, length int64, w io.Writer) (int64, error) {
	h := http.Header{"Accept": {"*/*"}}
	ranged := offset > 0 || length > 0
	if ranged {
		end := ""
		if length > 0 {
			end = strconv.FormatInt(offset+length-1, 10)
		}
		h.Set("Range", fmt.Sprintf("bytes=%d-%s", offset, end))
	}
	resp, err := s.c.send(ctx, request{method: http.MethodGet, path: "/download/file/" + strconv.FormatInt(id, 10),
		header: h, idempotent: true})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body := io.Reader(resp.Body)
	if ranged && resp.StatusCode == http.StatusOK { // the whole file: cut the range out
		if _, err := io.CopyN(io.Discard, body, offset); err != nil {
			return 0, fmt.Errorf("filefleet: download %d: %w", id, err)
		}
	}
	if length > 0 {
		body = io.LimitReader(body, length)
	}
	n, err := io.Copy(w, body)
	if err != nil {
		return n, fmt.Errorf("filefleet: download %d: %w", id, err)
	}
	return n, nil
}

// Upload is the answer of POST /files/upload.
type Upload struct {
	Message     string `json:"message"`
	Filename    string `json:"filename"`
	Destination string `json:"destination"` // "root:path" of the stored file
	Root        string `json:"root"`
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	FileID      int64  `json:"file_id"` // its catalog id
	BLAKE3      string `json:"blake3"`
}

// Upload streams r into a root as file name: destination is "root:path", the path a
// directory (empty or ending in "/": the file keeps name) or the file's own path. An
// existing file is a CONFLICT unless overwrite. The body is written through an io.Pipe as
// the request goes, never held whole in memory; uploads are not retried.
func (s *FilesService) Upload(ctx context.Context, destination, name string, r io.Reader, overwrite bool) (*Upload, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeUpload(mw, destination, name, r, overwrite))
	}()
	resp, err := s.c.send(ctx, request{method: http.MethodPost, path: "/files/upload",
		header: http.Header{"Content-Type": {mw.FormDataContentType()}}, stream: pr})
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if the request ended early
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var up Upload
	if err := decode(resp, &up); err != nil {
		return nil, err
	}
	return &up, nil
}

// writeUpload writes the form: the fields naming where first, then the file.
func writeUpload(mw *multipart.Writer, destination, name string, r io.Reader, overwrite bool) error {
	if err := mw.WriteField("destination", destination); err != nil {
		return err
	}
	if err := mw.WriteField("overwrite", boolStr(overwrite)); err != nil {
		return err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, quoteEscaper.Replace(name)))
	h.Set("Content-Type", "application/octet-stream")
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(part, r); err != nil {
		return err
	}
	return mw.Close()
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return ""
}

// SearchOptions filter, sort and page GET /search; zero values are left out.
type SearchOptions struct {
	Query          string   // substring of the name, case-insensitive
	Path           string   // a directory: files anywhere below it
	Extensions     []string // with or without the dot
	MimeType       string   // "image/png" or "image/*"
	MinSize        int64    // bytes, inclusive
	MaxSize        int64    // bytes, inclusive
	Roots          []string // root names
	ModifiedAfter  string   // RFC 3339, inclusive
	ModifiedBefore string   // RFC 3339, exclusive
	SortBy         string   // name (default), path, size, modified_at, extension
	SortOrder      string   // asc, desc
	Limit          int      // 1-1000, default 100
	Offset         int
}

// SearchResult is a page of matching files. Total counts matches up to a cap (TotalCapped:
// there are more); TotalEstimated: it is PostgreSQL's estimate.
type SearchResult struct {
	Files []filefleet.File `json:"-"`
	Page
	Count          int  `json:"count"`
	TotalCapped    bool `json:"total_capped"`
	TotalEstimated bool `json:"total_estimated"`
}

// Search finds live catalog files matching every filter given.
func (c *Client) Search(ctx context.Context, o SearchOptions) (*SearchResult, error) {
	q := query("query", o.Query, "path", o.Path, "extension", strings.Join(o.Extensions, ","), "mime_type", o.MimeType,
		"min_size", itoa(o.MinSize), "max_size", itoa(o.MaxSize), "roots", strings.Join(o.Roots, ","),
		"modified_after", o.ModifiedAfter, "modified_before", o.ModifiedBefore, "sort_by", o.SortBy,
		"sort_order", o.SortOrder, "limit", itoa(o.Limit), "offset", itoa(o.Offset))
	var out struct {
		Files []filefleet.File `json:"files"`
	}
	var r SearchResult
	if err := c.get(ctx, "/search"+q, &dataMeta{&out, &r}); err != nil {
		return nil, err
	}
	r.Files = out.Files
	return &r, nil
}
