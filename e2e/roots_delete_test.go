package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// TestDeleteRootKeepsUndoJournals: a root is not deleted while a plan can still undo what it
// did there (trashed files), as the deletion would take the plan's journal along; undone, or
// with ?force=true, it is. The files stay on disk either way.
func TestDeleteRootKeepsUndoJournals(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir, data := twoCopies(t, 10<<10)
	addLocalRoot(t, s, "dups", dir)
	addLocalRoot(t, s, "again", dir)
	trashAll := func(root string) dedupeResponse {
		job, groups := dedupeScanJob(t, s, root)
		require.Len(t, groups, 1)
		plan := previewPlan(t, s, job.ID, map[string]any{"keep": "shortest_path"})
		runPlanJob(t, s, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan.PlanID})
		return plan
	}

	plan := trashAll("dups")
	r := s.Do(t, http.MethodDelete, "/api/v1/roots/dups", nil)
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	require.Contains(t, r.Error.Message, plan.PlanID)
	require.Contains(t, r.Error.Message, "POST /api/v1/dedupe/undo")
	require.Contains(t, r.Error.Message, "?force=true")
	r = s.Do(t, http.MethodDelete, "/api/v1/roots/dups?force=maybe", nil)
	require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Raw)
	runPlanJob(t, s, "/api/v1/dedupe/undo", map[string]any{"plan_id": plan.PlanID})
	r = s.Do(t, http.MethodDelete, "/api/v1/roots/dups", nil)
	require.Equal(t, http.StatusOK, r.Status, "undone, nothing is left to lose: %s", r.Raw)
	for _, name := range []string{"a.bin", "b.bin"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, data, got, name)
	}

	plan = trashAll("again")
	r = s.Do(t, http.MethodDelete, "/api/v1/roots/again", nil)
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	r = s.Do(t, http.MethodDelete, "/api/v1/roots/again?force=true", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r = s.Do(t, http.MethodGet, "/api/v1/dedupe/plans/"+plan.PlanID, nil)
	require.Equal(t, http.StatusOK, r.Status, "the plan stays, without the root's items: %s", r.Raw)
	kept, err := os.ReadFile(filepath.Join(dir, "a.bin"))
	require.NoError(t, err)
	require.Equal(t, data, kept, "the kept copy is where it was")
	trashed, err := filepath.Glob(filepath.Join(dir, filefleet.TrashDir, "*", "b.bin"))
	require.NoError(t, err)
	require.Len(t, trashed, 1, "the trashed copy stays in the trash")
}

// twoCopies writes a.bin and b.bin, both the same size random bytes, into a new directory.
func twoCopies(t *testing.T, size int) (dir string, data []byte) {
	t.Helper()
	dir, data = t.TempDir(), randomBytes(size)
	for _, name := range []string{"a.bin", "b.bin"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	return dir, data
}

// TestDeleteRootInUse: a root is not deleted under a job that has not finished (pending here:
// no worker runs), whether the job names it as its root, as one of several, or as the target
// of its output; once the job is canceled, it is.
func TestDeleteRootInUse(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	for _, name := range []string{"one", "two", "three", "out"} {
		addLocalRoot(t, s, name, t.TempDir())
	}
	scan := submit(t, s, map[string]any{"type": "scan", "root": "one"})
	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/scan", map[string]any{"roots": []string{"one", "two"}})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var dedupe filefleet.Job
	r.Decode(t, &dedupe)
	r = s.Do(t, http.MethodPost, "/api/v1/archive", map[string]any{"root": "three", "target_root": "out", "target_path": "x.zip"})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var archive filefleet.Job
	r.Decode(t, &archive)

	for root, job := range map[string]filefleet.Job{"one": scan, "two": dedupe, "three": archive, "out": archive} {
		r = s.Do(t, http.MethodDelete, "/api/v1/roots/"+root, nil)
		require.Equal(t, http.StatusConflict, r.Status, "%s: %s", root, r.Raw)
		if root != "one" { // the scan or the dedupe job may be named
			require.Contains(t, r.Error.Message, job.ID, root)
		}
		require.Contains(t, r.Error.Message, "/cancel", root)
	}
	for _, job := range []filefleet.Job{scan, dedupe, archive} {
		r = s.Do(t, http.MethodPost, "/api/v1/jobs/"+job.ID+"/cancel", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	}
	for _, root := range []string{"one", "two", "three", "out"} {
		r = s.Do(t, http.MethodDelete, "/api/v1/roots/"+root, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", root, r.Raw)
	}
	r = s.Do(t, http.MethodGet, "/api/v1/jobs/"+scan.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "the job's record stays: %s", r.Raw)
}

// TestWorkerClosesDeletedRoots: a worker closes the storage it opened for a root (here an SMB
// session) once the root is deleted, and keeps the others.
func TestWorkerClosesDeletedRoots(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{RootRecheck: 100 * time.Millisecond})
	e := smbEnv()
	share, _ := smbTree(t, e, map[string]int64{"a.txt": 10})
	ids := map[string]int64{}
	for name, body := range map[string]map[string]any{
		"nas":  e.body(map[string]any{"name": "nas", "kind": "smb", "path": share}),
		"disk": {"name": "disk", "kind": "local", "path": t.TempDir()},
	} {
		r := s.Do(t, http.MethodPost, "/api/v1/roots", body)
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
		var root filefleet.Root
		r.Decode(t, &root)
		ids[name] = root.ID
		job := waitJob(t, s, submit(t, s, map[string]any{"type": "scan", "root": name}).ID, time.Minute)
		require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	}
	require.ElementsMatch(t, []int64{ids["nas"], ids["disk"]}, s.Worker.OpenRoots())

	r := s.Do(t, http.MethodDelete, "/api/v1/roots/nas", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Eventually(t, func() bool { return !slices.Contains(s.Worker.OpenRoots(), ids["nas"]) }, 10*time.Second,
		50*time.Millisecond, "the deleted root's storage is closed")
	require.Equal(t, []int64{ids["disk"]}, s.Worker.OpenRoots())
	job := waitJob(t, s, submit(t, s, map[string]any{"type": "scan", "root": "disk"}).ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
}

// TestDeleteRootUnderPlanJob: a dedupe execute that has not started yet (its plan's items
// all planned; its job names the plan, not the root) keeps its roots from being deleted, even
// with force.
func TestDeleteRootUnderPlanJob(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir, _ := twoCopies(t, 4<<10)
	addLocalRoot(t, s, "dups", dir)
	job, _ := dedupeScanJob(t, s, "dups")
	plan := previewPlan(t, s, job.ID, map[string]any{"keep": "shortest_path"})
	require.NoError(t, s.Worker.Stop(context.Background())) // the execute stays pending
	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan.PlanID})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var started struct {
		Job filefleet.Job `json:"job"`
	}
	r.Decode(t, &started)
	for _, path := range []string{"/api/v1/roots/dups", "/api/v1/roots/dups?force=true"} {
		r = s.Do(t, http.MethodDelete, path, nil)
		require.Equal(t, http.StatusConflict, r.Status, "%s: %s", path, r.Raw)
		require.Contains(t, r.Error.Message, started.Job.ID, path)
	}
}
