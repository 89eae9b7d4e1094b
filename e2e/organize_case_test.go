package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/organize"
)

// TestOrganizeCaseOnlyRename organizes projects/plan.txt into PARA's Projects/plan.txt on
// Samba, which ignores letter case, and on local disk: the file is found under its new name,
// with no " (1)" suffix, and keeps its content. A second plan's item is set in progress as a crash
// right after the rename leaves it (both names find the file on Samba): executing it again
// must finish the rename, not delete "the original", which is the file itself.
func TestOrganizeCaseOnlyRename(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)
	for _, root := range []string{"nas", "disk"} {
		for _, crashed := range []bool{false, true} {
			dir := "case-" + map[bool]string{false: "clean", true: "crashed"}[crashed]
			data := randomBytes(3000)
			d.put(t, root+"/"+dir+"/projects/plan.txt", data)

			res := organizeScan(t, s, map[string]any{"path": "/" + root + "/" + dir, "methodology": organize.Para})
			plan := getOrganizePlan(t, s, res.PlanID)
			require.Len(t, plan.Items, 1)
			require.Equal(t, dir+"/Projects/plan.txt", plan.Items[0].DstPath)
			if crashed {
				_, err := s.DB.Exec(`UPDATE plan_items SET state = 'in_progress' WHERE plan_id = $1`, res.PlanID)
				require.NoError(t, err)
			}

			runPlanJob(t, s, "/api/v1/organize/execute", map[string]any{"plan_id": res.PlanID})
			plan = getOrganizePlan(t, s, res.PlanID)
			require.Equal(t, filefleet.ItemDone, plan.Items[0].State, "%s %s: %s", root, dir, plan.Items[0].Message)
			require.Equal(t, dir+"/Projects/plan.txt", plan.Items[0].DstPath, "%s %s: no suffix", root, dir)
			// Samba keeps the existing directory's case (projects/), which the new name finds.
			require.Len(t, treeUnder(t, d.byName[root], dir), 1, "%s %s: one file, nothing lost or copied", root, dir)
			require.Equal(t, data, d.read(t, root+"/"+dir+"/Projects/plan.txt"), "%s %s: whole under its new name", root, dir)
		}
	}
}

// TestOrganizeConcurrentPlansOneDestination makes two plans that move different files from
// two directories to the same free names on MinIO (both planned before either ran), and
// executes them at once: from a local root (copies across roots) and from the MinIO root
// itself (S3 renames are copies too). Every file must arrive, one of each pair under a
// " (1)" name; none may replace another.
func TestOrganizeConcurrentPlansOneDestination(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)
	for _, from := range []string{"disk", "s3"} {
		t.Run(from, func(t *testing.T) { concurrentPlansOneDestination(t, s, d, from) })
	}
}

func concurrentPlansOneDestination(t *testing.T, s *testenv.Stack, d *dedupeRoots, from string) {
	const files = 40
	sorted := "sorted-from-" + from
	want := map[string]int{} // content → copies expected
	var plans []string
	for _, dir := range []string{from + "-one", from + "-two"} {
		for i := range files {
			data := randomBytes(20<<10 + i)
			want[string(data)]++
			d.put(t, fmt.Sprintf("%s/%s/f%02d.txt", from, dir, i), data)
		}
		res := organizeScan(t, s, map[string]any{"root": from, "path": dir, "methodology": "by_extension",
			"target_root": "s3", "target_path": sorted})
		plans = append(plans, res.PlanID)
	}
	for _, p := range plans {
		require.Equal(t, sorted+"/txt/f00.txt", getOrganizePlan(t, s, p).Items[0].DstPath, "both plans aim at the same names")
	}
	runPlanJobsAtOnce(t, s, "/api/v1/organize/execute", plans...)
	arrived := treeUnder(t, d.s3, sorted)
	got := map[string]int{}
	for _, data := range arrived {
		got[string(data)]++
	}
	require.Len(t, arrived, 2*files, "every file arrived under its own name")
	require.True(t, maps.Equal(want, got), "each file's content arrived exactly once")
	for _, dir := range []string{from + "-one", from + "-two"} {
		_, _, err := d.byName[from].List(context.Background(), dir, "", 10)
		if err == nil { // a local directory stays, empty; S3 has no empty directories
			require.Empty(t, treeUnder(t, d.byName[from], dir), "the originals are gone")
		} else {
			require.Equal(t, filefleet.ENOTFOUND, filefleet.ErrorCode(err), "%v", err)
		}
	}
}

// TestOrganizeRecoveryLeavesStrangersAlone: an item journaled in progress whose original is
// gone while a file of another size sits at its destination is not recorded as moved, so an
// undo never carries that file to the original path.
func TestOrganizeRecoveryLeavesStrangersAlone(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)
	d.put(t, "disk/strays/a.txt", randomBytes(1000))
	res := organizeScan(t, s, map[string]any{"root": "disk", "path": "strays", "methodology": "by_extension"})
	plan := getOrganizePlan(t, s, res.PlanID)
	require.Len(t, plan.Items, 1)
	dst := plan.Items[0].DstPath
	_, err := s.DB.Exec(`UPDATE plan_items SET state = 'in_progress' WHERE plan_id = $1`, res.PlanID)
	require.NoError(t, err)
	require.NoError(t, d.fs.Remove(context.Background(), "strays/a.txt"))
	stranger := []byte("someone else's file")
	d.put(t, "disk/"+dst, stranger)

	runPlanJob(t, s, "/api/v1/organize/execute", map[string]any{"plan_id": res.PlanID})
	plan = getOrganizePlan(t, s, res.PlanID)
	require.Equal(t, filefleet.ItemSkipped, plan.Items[0].State, "not recorded as moved")
	require.Contains(t, plan.Items[0].Message, "gone")
	require.Equal(t, stranger, d.read(t, "disk/"+dst), "the stranger's file is untouched")
}

// organizeScan runs an organize scan and returns its result (with the plan's id).
func organizeScan(t *testing.T, s *testenv.Stack, body map[string]any) organize.ScanResult {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/organize/scan", body)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var scan filefleet.Job
	r.Decode(t, &scan)
	scan = waitJob(t, s, scan.ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, scan.Status, scan.Error)
	var res organize.ScanResult
	require.NoError(t, json.Unmarshal(scan.Result, &res))
	return res
}

// runPlanJobsAtOnce posts {"plan_id"} of each plan to endpoint at the same time and waits
// until every job it starts has succeeded.
func runPlanJobsAtOnce(t *testing.T, s *testenv.Stack, endpoint string, plans ...string) {
	t.Helper()
	started := make(chan filefleet.Job, len(plans))
	for _, p := range plans {
		go func() {
			r := s.Do(t, http.MethodPost, endpoint, map[string]any{"plan_id": p})
			var body struct {
				Job filefleet.Job `json:"job"`
			}
			if r.Status == http.StatusAccepted {
				r.Decode(t, &body)
			}
			started <- body.Job
		}()
	}
	for range plans {
		j := <-started
		require.NotEmpty(t, j.ID, "every plan's job is accepted")
		require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, j.ID, 2*time.Minute).Status)
	}
}
