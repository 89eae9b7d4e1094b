package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/store"
)

// dedupeScanJob runs a dedupe scan of roots and returns its groups as sets of "root/path".
func dedupeScanJob(t *testing.T, s *testenv.Stack, roots ...string) (filefleet.Job, [][]string) {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/scan", map[string]any{"roots": roots})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var job filefleet.Job
	r.Decode(t, &job)
	job = waitJob(t, s, job.ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	r = s.Do(t, http.MethodGet, "/api/v1/dedupe/groups?job_id="+job.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var groups []filefleet.DuplicateGroup
	r.Decode(t, &groups)
	return job, groupSets(groups)
}

// previewPlan previews a trash plan of a dedupe scan with the given keep policy.
func previewPlan(t *testing.T, s *testenv.Stack, jobID string, policy map[string]any) dedupeResponse {
	t.Helper()
	body := map[string]any{"job_id": jobID, "action": "trash"}
	for k, v := range policy {
		body[k] = v
	}
	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/preview", body)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var plan dedupeResponse
	r.Decode(t, &plan)
	return plan
}

// planStates returns "action/state" by "root/path" of a plan's items, and their messages.
func planStates(t *testing.T, s *testenv.Stack, planID string) (states, messages map[string]string) {
	t.Helper()
	var items struct {
		Items []store.PlanItem `json:"items"`
	}
	r := s.Do(t, http.MethodGet, "/api/v1/dedupe/plans/"+planID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r.Decode(t, &items)
	states, messages = map[string]string{}, map[string]string{}
	for _, it := range items.Items {
		states[it.Root+"/"+it.Path] = string(it.Action) + "/" + string(it.State)
		messages[it.Root+"/"+it.Path] = it.Message
	}
	return states, messages
}

// TestDedupeLinkedPaths: one file reachable under several paths — a symlinked directory, a
// symlink to a file, and a second root inside the first — is one file, never a duplicate of
// itself. Within a root the scan counts it once; across overlapping roots, execute sees that
// the kept copy and the file to remove are the same file and leaves it alone. The real
// duplicate is trashed and nothing else is lost.
func TestDedupeLinkedPaths(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir := t.TempDir()
	a, b := randomBytes(50<<10), randomBytes(30<<10)
	write := func(p string, data []byte) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), data, 0o644))
	}
	write("photos/a.jpg", a)
	write("photos/b.jpg", b)
	write("copy/a-copy.jpg", a)
	require.NoError(t, os.Symlink("photos", filepath.Join(dir, "album")))
	require.NoError(t, os.Symlink("photos/b.jpg", filepath.Join(dir, "b-link.jpg")))
	for name, p := range map[string]string{"home": dir, "photos": filepath.Join(dir, "photos")} {
		r := s.Do(t, http.MethodPost, "/api/v1/roots", map[string]any{"name": name, "kind": "local", "path": p})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	}

	_, groups := dedupeScanJob(t, s, "home")
	require.Len(t, groups, 1, "b under three paths is one file; only a has a real copy: %v", groups)
	require.Len(t, groups[0], 2, "a counts once, whichever of its paths stands for it: %v", groups)
	require.Contains(t, groups[0], "home/copy/a-copy.jpg")

	// Across the two roots, photos/a.jpg and photos/b.jpg are also photos' a.jpg and b.jpg.
	job, _ := dedupeScanJob(t, s, "home", "photos")
	plan := previewPlan(t, s, job.ID, map[string]any{"keep": "preferred_root", "preferred_root": "photos"})
	exec := runPlanJob(t, s, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan.PlanID})
	states, messages := planStates(t, s, plan.PlanID)
	require.Equal(t, "trash/done", states["home/copy/a-copy.jpg"], "%v", states)
	skipped := 0
	for p, st := range states {
		if st == "trash/skipped" {
			skipped++
			require.Contains(t, messages[p], "under another path", p)
		}
	}
	require.Positive(t, skipped, "the kept files' other paths are left alone: %v", states)

	for p, want := range map[string][]byte{"photos/a.jpg": a, "photos/b.jpg": b, "album/a.jpg": a, "b-link.jpg": b} {
		got, err := os.ReadFile(filepath.Join(dir, p))
		require.NoError(t, err, "%s is still there", p)
		require.Equal(t, want, got, p)
	}
	trashed, err := os.ReadFile(filepath.Join(dir, filefleet.TrashDir, exec.ID, "copy/a-copy.jpg"))
	require.NoError(t, err)
	require.Equal(t, a, trashed, "the real duplicate is in the trash")
}

// TestDedupeConflictingPlans executes at once two plans of one scan that keep opposite
// copies (oldest and newest): groups are carried out one plan at a time, so every group
// ends with exactly one copy at its place and the other in a trash, never none.
func TestDedupeConflictingPlans(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir := t.TempDir()
	const groups = 60
	old := time.Now().Add(-time.Hour)
	for i := range groups {
		data := randomBytes(8<<10 + i)
		for _, name := range []string{"old", "new"} {
			p := filepath.Join(dir, name, fmtIndex(i))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, data, 0o644))
		}
		require.NoError(t, os.Chtimes(filepath.Join(dir, "old", fmtIndex(i)), old, old))
	}
	r := s.Do(t, http.MethodPost, "/api/v1/roots", map[string]any{"name": "disk", "kind": "local", "path": dir})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	job, found := dedupeScanJob(t, s, "disk")
	require.Len(t, found, groups)
	keepOld := previewPlan(t, s, job.ID, map[string]any{"keep": "oldest"})
	keepNew := previewPlan(t, s, job.ID, map[string]any{"keep": "newest"})

	execs := make(chan filefleet.Job, 2)
	for _, plan := range []string{keepOld.PlanID, keepNew.PlanID} {
		go func() {
			r := s.Do(t, http.MethodPost, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan})
			var started struct {
				Job filefleet.Job `json:"job"`
			}
			if r.Status == http.StatusAccepted {
				r.Decode(t, &started)
			}
			execs <- started.Job
		}()
	}
	for range 2 {
		j := <-execs
		require.NotEmpty(t, j.ID, "both executes are accepted")
		require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, j.ID, 2*time.Minute).Status)
	}
	for i := range groups {
		present := 0
		for _, name := range []string{"old", "new"} {
			if _, err := os.Stat(filepath.Join(dir, name, fmtIndex(i))); err == nil {
				present++
			}
		}
		require.Equal(t, 1, present, "group %d keeps exactly one copy at its place", i)
	}
}

func fmtIndex(i int) string {
	return filepath.Join("g", string(rune('a'+i/26)), string(rune('a'+i%26))+".bin")
}
