package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/internal/testenv"
)

// TestDeleteFile deletes catalog files through the API: to the root's trash by default, for
// good with permanent=true; journaled; viewers may not.
func TestDeleteFile(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir := t.TempDir()
	writeTree(t, dir, map[string]int64{"keep.txt": 5, "a/trash-me.txt": 7, "gone.txt": 9, "changed.txt": 3})
	addLocalRoot(t, s, "disk", dir)
	require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, submit(t, s, map[string]any{"type": "scan", "root": "disk"}).ID, 30*time.Second).Status)
	cat := catalog(t, s, "disk", false)
	trashed, gone := cat["a/trash-me.txt"], cat["gone.txt"]

	viewer := s.NewUser(t, "vic", auth.RoleViewer)
	r := s.DoAs(t, viewer, http.MethodDelete, fmt.Sprintf("/api/v1/files/%d", trashed.ID), nil)
	require.Equal(t, http.StatusForbidden, r.Status, "%s", r.Raw)
	require.FileExists(t, filepath.Join(dir, "a/trash-me.txt"))

	r = s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/files/%d", trashed.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var res struct {
		Deletion struct {
			ID        int64  `json:"id"`
			TrashPath string `json:"trash_path"`
			State     string `json:"state"`
		} `json:"deletion"`
	}
	r.Decode(t, &res)
	require.Equal(t, "done", res.Deletion.State)
	require.Equal(t, fmt.Sprintf(".filefleet-trash/deleted/%d/a/trash-me.txt", res.Deletion.ID), res.Deletion.TrashPath)
	require.NoFileExists(t, filepath.Join(dir, "a/trash-me.txt"))
	data, err := os.ReadFile(filepath.Join(dir, res.Deletion.TrashPath))
	require.NoError(t, err, "the file is in the trash, whole")
	require.Len(t, data, 7)

	r = s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/files/%d?permanent=true", gone.ID), nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.NoFileExists(t, filepath.Join(dir, "gone.txt"))
	r = s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/files/%d", gone.ID), nil)
	require.Equal(t, http.StatusNotFound, r.Status, "deleted already: %s", r.Raw)

	// Changed since the scan: the catalog has not seen this content, so it is not deleted.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "changed.txt"), []byte("new content"), 0o644))
	for _, q := range []string{"", "?permanent=true"} {
		r = s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/files/%d%s", cat["changed.txt"].ID, q), nil)
		require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
		require.Contains(t, r.Error.Message, "rescan")
	}
	data, err = os.ReadFile(filepath.Join(dir, "changed.txt"))
	require.NoError(t, err)
	require.Equal(t, "new content", string(data), "left alone")

	after := catalog(t, s, "disk", false)
	require.NotContains(t, after, "a/trash-me.txt")
	require.NotContains(t, after, "gone.txt")
	require.Contains(t, after, "keep.txt")
	var states []string
	require.NoError(t, s.DB.Select(&states, `SELECT state FROM file_deletions ORDER BY id`))
	require.Equal(t, []string{"done", "done"}, states, "both deletions journaled")
}

// TestLocalRootDirs limits local roots to one directory: roots in it are created, a root
// outside it, or reached through a symlink that leaves it, is refused with 403.
func TestLocalRootDirs(t *testing.T) {
	allowed := t.TempDir()
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true, LocalDirs: []string{allowed}})
	require.NoError(t, os.Mkdir(filepath.Join(allowed, "media"), 0o755))
	require.NoError(t, os.Symlink("/etc", filepath.Join(allowed, "escape")))
	for path, want := range map[string]int{
		allowed:                             http.StatusCreated,
		filepath.Join(allowed, "media"):     http.StatusCreated,
		"/etc":                              http.StatusForbidden,
		filepath.Join(allowed, "escape"):    http.StatusForbidden,
		filepath.Join(allowed, "..", "etc"): http.StatusForbidden,
		t.TempDir():                         http.StatusForbidden,
	} {
		r := s.Do(t, http.MethodPost, "/api/v1/roots", map[string]any{"name": testenv.RandomName("r"), "kind": "local", "path": path})
		require.Equal(t, want, r.Status, "%s: %s", path, r.Raw)
		if want == http.StatusForbidden {
			require.Equal(t, "FORBIDDEN", r.Error.Code)
			require.Contains(t, r.Error.Message, "FILEFLEET_LOCAL_ROOT_DIRS")
		}
	}
}
