package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/archive"
	"github.com/filefleet/filefleet/archive/archivetest"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/internal/testenv"
)

// get sends an authenticated GET (with extra headers) and returns the response and its body.
func get(t *testing.T, s *testenv.Stack, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	require.NoError(t, err)
	s.Header(req)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// uploadResult is the data of POST /files/upload.
type uploadResult struct {
	Filename, Destination, Root, Path, BLAKE3 string
	Size                                      int64
	FileID                                    int64 `json:"file_id"`
}

// postUpload sends a multipart upload with fields (in order) and then the file part, as key.
func postUpload(t *testing.T, s *testenv.Stack, key string, fields [][2]string, filename string, data []byte) testenv.Response {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		require.NoError(t, mw.WriteField(f[0], f[1]))
	}
	if filename != "" {
		fw, err := mw.CreateFormFile("file", filename)
		require.NoError(t, err)
		fw.Write(data)
	}
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v1/files/upload", &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := testenv.Response{Status: resp.StatusCode, Raw: raw}
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	out.Status, out.Raw = resp.StatusCode, raw
	return out
}

// TestUploadThenDownload uploads files into MinIO and local roots through the API, then
// downloads them whole and by ranges.
func TestUploadThenDownload(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)
	data := randomBytes(3<<20 + 12345)

	for _, root := range []string{"s3", "disk", "nas"} {
		t.Run(root, func(t *testing.T) {
			r := postUpload(t, s, s.AdminKey, [][2]string{{"destination", root + ":docs/"}}, "report 2026 ü.pdf", data)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
			var up uploadResult
			r.Decode(t, &up)
			require.Equal(t, root+":docs/report 2026 ü.pdf", up.Destination)
			require.Equal(t, int64(len(data)), up.Size)
			require.Equal(t, data, d.read(t, root+"/docs/report 2026 ü.pdf"), "the stored bytes are the uploaded ones")

			// Again without overwrite: 409, the file is untouched.
			r = postUpload(t, s, s.AdminKey, [][2]string{{"root", root}, {"path", "docs"}}, "report 2026 ü.pdf", []byte("other"))
			require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
			require.Equal(t, data, d.read(t, root+"/docs/report 2026 ü.pdf"))

			// Download by catalog id: whole, then ranges.
			resp, body := get(t, s, fmt.Sprintf("/api/v1/download/file/%d", up.FileID), nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
			require.Equal(t, data, body)
			_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
			require.NoError(t, err)
			require.Equal(t, "report 2026 ü.pdf", params["filename"])
			require.Equal(t, "bytes", resp.Header.Get("Accept-Ranges"))

			for spec, want := range map[string][]byte{
				"bytes=100-199":         data[100:200],
				"bytes=-10":             data[len(data)-10:],
				"bytes=3145728-":        data[3145728:],
				"bytes=0-0":             data[:1],
				"bytes=1048570-1048585": data[1048570:1048586],
			} {
				resp, body := get(t, s, fmt.Sprintf("/api/v1/download/file/%d", up.FileID), map[string]string{"Range": spec})
				require.Equal(t, http.StatusPartialContent, resp.StatusCode, "%s: %s", spec, body)
				require.Equal(t, want, body, spec)
				require.True(t, strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "), spec)
			}
			resp, _ = get(t, s, fmt.Sprintf("/api/v1/download/file/%d", up.FileID), map[string]string{"Range": "bytes=99999999-"})
			require.Equal(t, http.StatusRequestedRangeNotSatisfiable, resp.StatusCode)

			// Overwrite replaces the content, and the catalog row follows.
			r = postUpload(t, s, s.AdminKey, [][2]string{{"destination", root + ":docs/report 2026 ü.pdf"}, {"overwrite", "true"}},
				"ignored-name.pdf", []byte("v2"))
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
			var up2 uploadResult
			r.Decode(t, &up2)
			require.Equal(t, up.FileID, up2.FileID)
			_, body = get(t, s, fmt.Sprintf("/api/v1/download/file/%d", up.FileID), nil)
			require.Equal(t, "v2", string(body))
		})
	}

	// Bad uploads: 4xx with an error code, nothing written.
	viewer := s.NewUser(t, "viewer1", auth.RoleViewer)
	for name, tc := range map[string]struct {
		key      string
		fields   [][2]string
		filename string
		code     int
	}{
		"viewer":          {viewer, [][2]string{{"destination", "disk:x/"}}, "a.txt", http.StatusForbidden},
		"no file":         {s.AdminKey, [][2]string{{"destination", "disk:x/"}}, "", http.StatusBadRequest},
		"bad destination": {s.AdminKey, [][2]string{{"destination", "disk"}}, "a.txt", http.StatusBadRequest},
		"traversal":       {s.AdminKey, [][2]string{{"destination", "disk:../../etc/"}}, "a.txt", http.StatusBadRequest},
		"unknown root":    {s.AdminKey, [][2]string{{"destination", "nope:x/"}}, "a.txt", http.StatusNotFound},
		"dot name":        {s.AdminKey, [][2]string{{"destination", "disk:x/"}}, "..", http.StatusBadRequest},
	} {
		r := postUpload(t, s, tc.key, tc.fields, tc.filename, []byte("x"))
		require.Equal(t, tc.code, r.Status, "%s: %s", name, r.Raw)
		require.NotNil(t, r.Error, name)
	}
	require.Nil(t, d.read(t, "disk/x/a.txt"))

	// Each upload was announced on the stream of all events.
	n := 0
	for _, ev := range allEvents(t, s, filefleet.EventFileUploaded, 6) {
		var up uploadResult
		require.NoError(t, json.Unmarshal(ev.Data, &up))
		require.Contains(t, []string{"s3", "disk", "nas"}, up.Root)
		n++
	}
	require.Equal(t, 6, n)

	resp, body := get(t, s, "/api/v1/download/file/abc", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	resp, body = get(t, s, "/api/v1/download/file/999999", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
}

// allEvents reads GET /events from the start until it has n events of type typ.
func allEvents(t *testing.T, s *testenv.Stack, typ filefleet.EventType, n int) []filefleet.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/events?last_event_id=0", nil)
	require.NoError(t, err)
	s.Header(req)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out []filefleet.Event
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(out) < n {
		line, found := strings.CutPrefix(sc.Text(), "data: ")
		if !found {
			continue
		}
		var ev filefleet.Event
		require.NoError(t, json.Unmarshal([]byte(line), &ev))
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	require.Len(t, out, n, "events of type %s on /events", typ)
	return out
}

// TestDownloadDirectory streams a directory as every format and a list of paths as an
// archive; the entries equal the source tree.
func TestDownloadDirectory(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{DownloadMaxBytes: 4 << 20})
	d := newDedupeRoots(t, s)
	tree := contentTree(t, d.nasDir, "media", 300)
	want := map[string]string{}
	for p, c := range tree {
		want["media/"+p] = string(c)
	}
	for _, f := range []string{"", "zip", "tar", "tar.gz", "tar.zst"} {
		resp, body := get(t, s, "/api/v1/download/directory/nas/media?format="+f, nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", f, body)
		format, err := archive.ParseFormat(f)
		require.NoError(t, err)
		require.Equal(t, format.ContentType(), resp.Header.Get("Content-Type"))
		require.Contains(t, resp.Header.Get("Content-Disposition"), `filename=media.`+format.Ext())
		require.Equal(t, want, archivetest.Entries(t, format, body), "format %q", f)
	}

	// A list of paths (the seed's smb_root name works too).
	r, body := postJSON(t, s, "/api/v1/download/archive", map[string]any{"paths": []string{"media/d01", "media/top-1.dat"},
		"format": "tar", "smb_root": "nas"})
	require.Equal(t, http.StatusOK, r.StatusCode, "%s", body)
	got := archivetest.Entries(t, archive.Tar, body)
	for p, c := range tree {
		if strings.HasPrefix(p, "d01/") || p == "top-1.dat" {
			require.Equal(t, string(c), got["media/"+p], p)
			delete(got, "media/"+p)
		}
	}
	require.Empty(t, got, "only the listed paths")

	// Over the size limit: 400 with both sizes; bad format, missing directory.
	big := randomBytes(5 << 20)
	d.put(t, "nas/big/blob.bin", big)
	resp, body := get(t, s, "/api/v1/download/directory/nas/big", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	var env testenv.Response
	require.NoError(t, json.Unmarshal(body, &env))
	require.Equal(t, float64(len(big)), env.Error.Details["total_size"])
	require.Equal(t, float64(4<<20), env.Error.Details["max_size"])
	resp, body = get(t, s, "/api/v1/download/directory/nas/media?format=rar", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
	require.Contains(t, string(body), "zip, tar, tar.gz")
	resp, body = get(t, s, "/api/v1/download/directory/nas/nothing-here", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
	resp, body = get(t, s, "/api/v1/download/directory/nas/..%2F..%2Fetc", nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
}

// postJSON posts body as the admin and returns the raw response.
func postJSON(t *testing.T, s *testenv.Stack, path string, body any) (*http.Response, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	s.Header(req)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, raw
}

// TestUploadBadNames sends uploads whose names the catalog or the disk cannot take: each is a
// 400 and nothing is written.
func TestUploadBadNames(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	dir := t.TempDir()
	addLocalRoot(t, s, "disk", dir)
	for _, tc := range []struct {
		desc     string
		fields   [][2]string
		filename string
	}{
		{"file name not UTF-8", [][2]string{{"root", "disk"}}, "\xff\xfe.txt"},
		{"path not UTF-8", [][2]string{{"root", "disk"}, {"path", "a\xff/"}}, "a.txt"},
		{"file name too long", [][2]string{{"root", "disk"}}, strings.Repeat("a", 300) + ".txt"},
	} {
		r := postUpload(t, s, s.AdminKey, tc.fields, tc.filename, []byte("x"))
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", tc.desc, r.Raw)
		require.Equal(t, "INVALID_REQUEST", r.Error.Code, "%s: %s", tc.desc, r.Raw)
	}
	written, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, written, "nothing was written")
}

// TestTrashIsReserved writes into the trash folder through every API path that writes: each is
// a 400 and nothing lands there, so deleting a file to the trash still works.
func TestTrashIsReserved(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir := t.TempDir()
	writeTree(t, dir, map[string]int64{"a.txt": 3})
	addLocalRoot(t, s, "disk", dir)
	scanAndFollow(t, s, "disk")

	for _, tc := range []struct {
		desc     string
		fields   [][2]string
		filename string
	}{
		{"into the trash", [][2]string{{"root", "disk"}, {"path", filefleet.TrashDir + "/deleted/1/"}}, "a.txt"},
		{"a file named like the trash", [][2]string{{"root", "disk"}}, filefleet.TrashDir},
	} {
		r := postUpload(t, s, s.AdminKey, tc.fields, tc.filename, []byte("x"))
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", tc.desc, r.Raw)
		require.Contains(t, r.Error.Message, "trash", tc.desc)
	}
	rules := []map[string]any{{"extensions": []string{"txt"}, "destination": filefleet.TrashDir + "/{name}{ext}"}}
	for _, tc := range []struct {
		desc, path string
		body       map[string]any
	}{
		{"archive target", "/api/v1/archive", map[string]any{"root": "disk", "target_path": filefleet.TrashDir + "/a.zip"}},
		{"organize target", "/api/v1/organize/preview", map[string]any{"root": "disk", "methodology": "by_type",
			"target_path": filefleet.TrashDir + "/sorted"}},
		{"organize job target", "/api/v1/jobs", map[string]any{"type": "organize", "root": "disk",
			"organize": map[string]any{"methodology": "by_type", "target_path": filefleet.TrashDir}}},
		{"organize rule destination", "/api/v1/organize/preview", map[string]any{"root": "disk", "methodology": "rules", "rules": rules}},
	} {
		r := s.Do(t, http.MethodPost, tc.path, tc.body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", tc.desc, r.Raw)
		require.Contains(t, r.Error.Message, "trash", tc.desc)
	}
	_, err := os.Stat(filepath.Join(dir, filefleet.TrashDir))
	require.ErrorIs(t, err, os.ErrNotExist, "nothing was written to the trash")

	f := catalog(t, s, "disk", false)["a.txt"]
	r := s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/files/%d", f.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
}

// TestUploadsRaceForOneName sends eight uploads of different content to one free name at
// once, without overwrite, on local disk and MinIO: exactly one is stored (200), the others
// are refused (409), and the file holds the stored one's content.
func TestUploadsRaceForOneName(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	d := newDedupeRoots(t, s)
	for _, root := range []string{"disk", "s3"} {
		contents := make([][]byte, 8)
		reqs := make([]*http.Request, len(contents))
		for i := range contents {
			contents[i] = randomBytes(2<<20 + i)
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			require.NoError(t, mw.WriteField("destination", root+":race/same.bin"))
			fw, err := mw.CreateFormFile("file", "same.bin")
			require.NoError(t, err)
			fw.Write(contents[i])
			require.NoError(t, mw.Close())
			reqs[i], err = http.NewRequest(http.MethodPost, s.URL+"/api/v1/files/upload", &body)
			require.NoError(t, err)
			reqs[i].Header.Set("Content-Type", mw.FormDataContentType())
			s.Header(reqs[i])
		}
		statuses := make([]int, len(reqs))
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if resp, err := http.DefaultClient.Do(req); err == nil {
					statuses[i] = resp.StatusCode
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		winner := -1
		for i, st := range statuses {
			switch st {
			case http.StatusOK:
				require.Equal(t, -1, winner, "%s: two uploads were stored: %v", root, statuses)
				winner = i
			case http.StatusConflict:
			default:
				t.Fatalf("%s: upload %d answered %d", root, i, st)
			}
		}
		require.NotEqual(t, -1, winner, "%s: one upload is stored: %v", root, statuses)
		require.True(t, bytes.Equal(contents[winner], d.read(t, root+"/race/same.bin")), "%s: the file is the stored upload", root)
	}
}
