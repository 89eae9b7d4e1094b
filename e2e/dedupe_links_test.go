package e2e

import (
	"encoding/json"
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
		addLocalRoot(t, s, name, p)
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
	const groups = 60
	dir, job := dedupeTree(t, s, groups)
	keepOld := previewPlan(t, s, job.ID, map[string]any{"keep": "oldest"})
	keepNew := previewPlan(t, s, job.ID, map[string]any{"keep": "newest"})

	runPlanJobsAtOnce(t, s, "/api/v1/dedupe/execute", keepOld.PlanID, keepNew.PlanID)
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

// dedupeTree writes n groups of two copies (old/..., an hour older than new/...) into a new
// local root "disk" and returns the root's directory and its completed dedupe scan.
func dedupeTree(t *testing.T, s *testenv.Stack, n int) (string, filefleet.Job) {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		data := randomBytes(4<<10 + i)
		for _, name := range []string{"old", "new"} {
			p := filepath.Join(dir, name, fmtIndex(i))
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, data, 0o644))
		}
		old := time.Now().Add(-time.Hour)
		require.NoError(t, os.Chtimes(filepath.Join(dir, "old", fmtIndex(i)), old, old))
	}
	addLocalRoot(t, s, "disk", dir)
	job, _ := dedupeScanJob(t, s, "disk")
	var res filefleet.DedupeResult
	require.NoError(t, json.Unmarshal(job.Result, &res))
	require.EqualValues(t, n, res.Groups)
	return dir, job
}

// TestDedupeCanceledExecuteResumesAndUndoes cancels an execute part way: the plan is not
// stuck. Undo while the execute job is canceled takes back what it did; executing again
// resumes where it stopped; another execute or undo while a job runs is refused.
func TestDedupeCanceledExecuteResumesAndUndoes(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	const groups = 400
	dir, scan := dedupeTree(t, s, groups)
	tree := func() map[string][]byte { return readTree(t, dir) }
	before := tree()

	cancelMidway := func(plan string) filefleet.Job {
		r := s.Do(t, http.MethodPost, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan})
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
		var started struct {
			Job filefleet.Job `json:"job"`
		}
		r.Decode(t, &started)
		r = s.Do(t, http.MethodPost, "/api/v1/dedupe/undo", map[string]any{"plan_id": plan})
		require.Equal(t, http.StatusConflict, r.Status, "no undo while the execute runs: %s", r.Raw)
		require.Eventually(t, func() bool { return getJob(t, s, started.Job.ID).Progress.Files > 0 },
			time.Minute, 5*time.Millisecond)
		r = s.Do(t, http.MethodPost, "/api/v1/jobs/"+started.Job.ID+"/cancel", nil)
		require.Equal(t, http.StatusOK, r.Status, "the execute was canceled before it finished: %s", r.Raw)
		// Tasks already running finish their groups: wait until nothing moves any more.
		time.Sleep(time.Second)
		return getJob(t, s, started.Job.ID)
	}

	plan := previewPlan(t, s, scan.ID, map[string]any{"keep": "oldest"})
	canceled := cancelMidway(plan.PlanID)
	require.Equal(t, filefleet.JobStateCanceled, canceled.Status)
	states, _ := planStates(t, s, plan.PlanID)
	done := 0
	for _, st := range states {
		if st == "trash/done" {
			done++
		}
	}
	require.Positive(t, done, "the canceled execute trashed some files")
	require.Less(t, done, groups, "and not all")
	runPlanJob(t, s, "/api/v1/dedupe/undo", map[string]any{"plan_id": plan.PlanID})
	require.Equal(t, before, tree(), "undo after a canceled execute restores the tree byte for byte")

	plan = previewPlan(t, s, scan.ID, map[string]any{"keep": "oldest"})
	canceledAgain := cancelMidway(plan.PlanID)
	exec := runPlanJob(t, s, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan.PlanID})
	var counts struct {
		Plan   store.Plan       `json:"plan"`
		Counts map[string]int64 `json:"counts"`
	}
	r := s.Do(t, http.MethodGet, "/api/v1/dedupe/plans/"+plan.PlanID, nil)
	r.Decode(t, &counts)
	require.Equal(t, filefleet.PlanExecuted, counts.Plan.Status)
	require.Equal(t, int64(groups), counts.Counts["trash/done"], "the resumed execute finished every group: %v", counts.Counts)
	after := tree()
	require.Len(t, after, len(before)-groups, "one copy of each group left its place")
	for i := range groups {
		p := filepath.ToSlash(fmtIndex(i))
		require.Equal(t, before["old/"+p], after["old/"+p], "group %d keeps its oldest copy", i)
		var trashed []byte
		for _, job := range []string{canceledAgain.ID, exec.ID} { // the trash of whichever job moved it
			if data, err := os.ReadFile(filepath.Join(dir, filefleet.TrashDir, job, "new", fmtIndex(i))); err == nil {
				require.Nil(t, trashed, "group %d: one trash copy", i)
				trashed = data
			}
		}
		require.Equal(t, before["new/"+p], trashed, "group %d: the other copy is in a trash, whole", i)
	}
}

// TestDedupeUndoWithoutTrashCopies undoes a plan after the trash lost copies: one trash copy
// deleted by hand, another deleted while a different file took its original path. Undo
// restores the rest, reports both, and leaves the stranger's file alone.
func TestDedupeUndoWithoutTrashCopies(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir, scan := dedupeTree(t, s, 5)
	before := readTree(t, dir)
	plan := previewPlan(t, s, scan.ID, map[string]any{"keep": "oldest"})
	exec := runPlanJob(t, s, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan.PlanID})
	trashOf := func(i int) string {
		return filepath.Join(dir, filefleet.TrashDir, exec.ID, "new", fmtIndex(i))
	}
	_, err := os.Stat(trashOf(0))
	require.NoError(t, err, "the oldest copies were kept, the new ones trashed")
	require.NoError(t, os.Remove(trashOf(1)))
	require.NoError(t, os.Remove(trashOf(2)))
	stranger := []byte("another file took this path")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new", fmtIndex(2)), stranger, 0o644))

	runPlanJob(t, s, "/api/v1/dedupe/undo", map[string]any{"plan_id": plan.PlanID})
	states, messages := planStates(t, s, plan.PlanID)
	p1, p2 := "disk/new/"+filepath.ToSlash(fmtIndex(1)), "disk/new/"+filepath.ToSlash(fmtIndex(2))
	require.Equal(t, "trash/skipped", states[p1], "%v", states)
	require.Contains(t, messages[p1], "trash copy")
	require.Equal(t, "trash/skipped", states[p2], "%v", states)
	require.Contains(t, messages[p2], "another file is at the original path")
	after := readTree(t, dir)
	for p, data := range before {
		switch p {
		case "new/" + filepath.ToSlash(fmtIndex(1)):
			require.NotContains(t, after, p, "nothing to restore it from")
		case "new/" + filepath.ToSlash(fmtIndex(2)):
			require.Equal(t, stranger, after[p], "the stranger's file is left alone")
		default:
			require.Equal(t, data, after[p], "%s is restored", p)
		}
	}
}

// readTree returns the files under dir by slash path, outside the trash.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() && rel == filefleet.TrashDir {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = data
		}
		return nil
	}))
	return out
}
