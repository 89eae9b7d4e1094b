package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/organize"
	"github.com/filefleet/filefleet/organize/organizetest"
	"github.com/filefleet/filefleet/store"
)

// photoTaken is the EXIF date of the one photo of the messy tree that has one.
var photoTaken = time.Date(2021, 8, 14, 17, 3, 9, 0, time.UTC)

// messyTree is a directory as people leave it: mixed types, unicode and dotless names, a
// photo with an EXIF date, zero bytes, a name that collides once flattened, and a file in
// the place by_type puts another one ("Documents/notes.txt").
func messyTree() map[string][]byte {
	files := map[string][]byte{
		"photo.jpg":                organizetest.JPEGTaken(photoTaken, 3000),
		"IMG_2020.jpeg":            organizetest.BuildJPEG(nil, 2000),
		"Report.PDF":               randomBytes(5000),
		"notes.txt":                []byte("my notes"),
		"Documents/notes.txt":      []byte("other notes, already filed"),
		"song.mp3":                 randomBytes(4000),
		"clips/movie.mkv":          randomBytes(6000),
		"backup.tar.gz":            randomBytes(1500),
		"src/main.go":              []byte("package main\n"),
		"README":                   []byte("read me"),
		".hidden":                  []byte("dot"),
		"ünïcødé résumé.docx":      randomBytes(700),
		"sprint plan.md":           []byte("# sprint"),
		"finance/taxes 2023.xlsx":  randomBytes(900),
		"manual/guide.txt":         []byte("how to"),
		"deep/a/b/c/data.csv":      []byte("a,b\n1,2\n"),
		"empty.txt":                {},
		"dup/name.txt":             []byte("first name.txt"),
		"name.txt":                 []byte("second name.txt"),
		"Images/already-there.png": randomBytes(300),
	}
	return files
}

// organizeRules is the rules methodology of the tests: pictures by year, read-me files
// together, everything else stays.
var organizeRules = []map[string]any{
	{"name": "pictures", "extensions": []string{"jpg", "jpeg", "png"}, "destination": "Pictures/{year}/{name}{ext}"},
	{"name": "readme", "name_regex": "(?i)^readme", "destination": "Docs/"},
	{"name": "big", "min_size": 5000, "destination": "Large/{type}/"},
}

// organizePlan is a plan as GET /organize/plans/{id} shows it.
type organizePlan struct {
	Plan   store.Plan       `json:"plan"`
	Counts map[string]int64 `json:"counts"`
	Items  []store.PlanItem `json:"items"`
}

func getOrganizePlan(t *testing.T, s *testenv.Stack, id string) organizePlan {
	t.Helper()
	r := s.Do(t, http.MethodGet, "/api/v1/organize/plans/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var p organizePlan
	r.Decode(t, &p)
	return p
}

// runPlanJob posts body to an organize endpoint that starts a job and waits for it.
func runPlanJob(t *testing.T, s *testenv.Stack, endpoint string, body any) filefleet.Job {
	t.Helper()
	r := s.Do(t, http.MethodPost, endpoint, body)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var started struct {
		Job filefleet.Job `json:"job"`
	}
	r.Decode(t, &started)
	j := waitJob(t, s, started.Job.ID, 3*time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, j.Status, j.Error)
	return j
}

// TestOrganizeEveryMethodology organizes the messy tree by every methodology on a local, a
// MinIO and a Samba root: the tree after execute equals the preview plan applied to the tree
// before, with every file's content unchanged; undo restores the tree before exactly.
func TestOrganizeEveryMethodology(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)
	for _, root := range []string{"disk", "s3", "nas"} {
		for _, m := range organize.Methodologies {
			t.Run(root+"/"+string(m), func(t *testing.T) {
				dir := "org-" + string(m)
				before := map[string][]byte{}
				for p, data := range messyTree() {
					before[dir+"/"+p] = data
					d.put(t, root+"/"+dir+"/"+p, data)
				}
				b := d.byName[root]
				require.Equal(t, before, treeUnder(t, b, dir))

				body := map[string]any{"path": "/" + root + "/" + dir, "methodology": m}
				if m == organize.Rules {
					body["rules"] = organizeRules
				}
				r := s.Do(t, http.MethodPost, "/api/v1/organize/scan", body)
				require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
				var scan filefleet.Job
				r.Decode(t, &scan)
				scan = waitJob(t, s, scan.ID, 2*time.Minute)
				require.Equal(t, filefleet.JobStateSucceeded, scan.Status, scan.Error)
				var res organize.ScanResult
				require.NoError(t, json.Unmarshal(scan.Result, &res))
				require.EqualValues(t, 2, res.ImagesRead, "the two JPEGs")
				require.EqualValues(t, 1, res.ImagesDated, "one has an EXIF date")
				require.NotEmpty(t, res.PlanID)

				plan := getOrganizePlan(t, s, res.PlanID)
				require.Equal(t, filefleet.PlanAwaitingApproval, plan.Plan.Status)
				require.Equal(t, res.Summary.Moves, len(plan.Items))
				require.NotZero(t, len(plan.Items), "the messy tree needs organizing")
				want := map[string][]byte{}
				for p, data := range before {
					want[p] = data
				}
				for _, it := range plan.Items {
					require.Equal(t, root, *it.DstRoot)
					require.True(t, strings.HasPrefix(it.DstPath, dir+"/"), "%s stays in the organized directory", it.DstPath)
					_, taken := want[it.DstPath]
					require.False(t, taken, "%s → %s overwrites a file", it.Path, it.DstPath)
					want[it.DstPath] = want[it.Path]
					delete(want, it.Path)
				}
				checkMethodology(t, m, dir, plan.Items)

				exec := runPlanJob(t, s, "/api/v1/organize/execute", map[string]any{"job_id": scan.ID})
				after := treeUnder(t, b, dir)
				require.Equal(t, len(before), len(after), "no file lost or duplicated")
				require.Equal(t, want, after, "the tree is the plan applied")
				status := s.Do(t, http.MethodGet, "/api/v1/organize/status/"+exec.ID, nil)
				require.Equal(t, http.StatusOK, status.Status, "%s", status.Raw)
				var st struct {
					Counts map[string]int64 `json:"counts"`
				}
				status.Decode(t, &st)
				require.Equal(t, map[string]int64{"move/done": int64(len(plan.Items))}, st.Counts)
				cat := catalog(t, s, root, false)
				for _, it := range plan.Items {
					require.Contains(t, cat, it.DstPath, "the catalog follows the move")
					require.NotContains(t, cat, it.Path)
				}
				require.Positive(t, countEvents(t, s, exec.ID, filefleet.EventOrganizeComplete))

				runPlanJob(t, s, "/api/v1/organize/undo", map[string]any{"plan_id": res.PlanID})
				require.Equal(t, before, treeUnder(t, b, dir), "undo restores the tree")
				require.Equal(t, map[string]int64{"move/undone": int64(len(plan.Items))}, getOrganizePlan(t, s, res.PlanID).Counts)
			})
		}
	}
}

// checkMethodology checks a few destinations each methodology must give the messy tree.
func checkMethodology(t *testing.T, m organize.Methodology, dir string, items []store.PlanItem) {
	t.Helper()
	dst := map[string]string{}
	for _, it := range items {
		dst[strings.TrimPrefix(it.Path, dir+"/")] = strings.TrimPrefix(it.DstPath, dir+"/")
	}
	switch m {
	case organize.ByType:
		require.Equal(t, "Images/photo.jpg", dst["photo.jpg"])
		require.Equal(t, "Documents/notes (1).txt", dst["notes.txt"], "Documents/notes.txt is taken: a suffix")
		require.NotContains(t, dst, "Documents/notes.txt", "a file in place stays")
		require.NotContains(t, dst, "Images/already-there.png")
		require.ElementsMatch(t, []string{"Documents/name.txt", "Documents/name (1).txt"},
			[]string{dst["dup/name.txt"], dst["name.txt"]}, "two files for one name: one takes a suffix")
	case organize.ByDate:
		require.Equal(t, "2021/08/photo.jpg", dst["photo.jpg"], "images go by their EXIF date")
	case organize.ByExtension:
		require.Equal(t, "pdf/Report.PDF", dst["Report.PDF"])
		require.Equal(t, "no_extension/README", dst["README"])
	case organize.Para:
		require.Equal(t, "Projects/sprint plan.md", dst["sprint plan.md"])
		require.Equal(t, "Areas/finance/taxes 2023.xlsx", dst["finance/taxes 2023.xlsx"])
		require.Equal(t, "Resources/manual/guide.txt", dst["manual/guide.txt"])
	case organize.Rules:
		require.Equal(t, "Pictures/2021/photo.jpg", dst["photo.jpg"])
		require.Equal(t, "Docs/README", dst["README"])
		require.Equal(t, "Large/Video/movie.mkv", dst["clips/movie.mkv"])
		require.NotContains(t, dst, "notes.txt", "no rule matches: it stays")
	}
}

// TestOrganizeAcrossRoots organizes a local directory into a MinIO bucket: every file arrives
// byte for byte and leaves the source; undo brings them back.
func TestOrganizeAcrossRoots(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)
	before := map[string][]byte{}
	for p, data := range messyTree() {
		before["in/"+p] = data
		d.put(t, "disk/in/"+p, data)
	}
	d.put(t, "s3/sorted/Documents/notes.txt", []byte("a different file at the destination"))
	r := s.Do(t, http.MethodPost, "/api/v1/organize/scan", map[string]any{"root": "disk", "path": "in"})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var scan filefleet.Job
	r.Decode(t, &scan)
	require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, scan.ID, time.Minute).Status)
	scanS3 := submit(t, s, map[string]any{"type": "scan", "root": "s3"})
	require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, scanS3.ID, time.Minute).Status)

	r = s.Do(t, http.MethodPost, "/api/v1/organize/preview", map[string]any{"job_id": scan.ID, "methodology": "by_type",
		"target_root": "s3", "target_path": "sorted"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var preview struct {
		PlanID  string           `json:"plan_id"`
		Summary organize.Summary `json:"summary"`
	}
	r.Decode(t, &preview)
	require.Equal(t, len(before), preview.Summary.Moves, "every file moves to the other root")
	require.Positive(t, preview.Summary.Renamed, "sorted/Documents/notes.txt is taken")

	r = s.Do(t, http.MethodPost, "/api/v1/organize/execute", map[string]any{"plan_id": preview.PlanID, "dry_run": true})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	require.Equal(t, before, treeUnder(t, d.fs, "in"), "a dry run changes nothing")

	runPlanJob(t, s, "/api/v1/organize/execute", map[string]any{"plan_id": preview.PlanID})
	require.Empty(t, treeUnder(t, d.fs, "in"), "every file left the source")
	sorted := treeUnder(t, d.s3, "sorted")
	require.Len(t, sorted, len(before)+1)
	require.Equal(t, []byte("a different file at the destination"), sorted["sorted/Documents/notes.txt"], "never overwritten")
	for _, it := range getOrganizePlan(t, s, preview.PlanID).Items {
		require.True(t, bytes.Equal(before[it.Path], sorted[it.DstPath]), "%s → %s", it.Path, it.DstPath)
	}

	runPlanJob(t, s, "/api/v1/organize/undo", map[string]any{"plan_id": preview.PlanID})
	require.Equal(t, before, treeUnder(t, d.fs, "in"))
	require.Len(t, treeUnder(t, d.s3, "sorted"), 1)
}

// TestOrganizeBadInput: invalid methodologies, rules and plans are refused with a 4xx
// envelope; an organize plan cannot be executed through /dedupe, nor twice.
func TestOrganizeBadInput(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	localRoot(t, s, "media", map[string]int64{"a.txt": 10, "b.jpg": 20})
	cases := []struct {
		endpoint string
		body     any
		status   int
	}{
		{"/api/v1/organize/preview", map[string]any{"root": "media", "methodology": "alphabetical"}, 400},
		{"/api/v1/organize/preview", map[string]any{"root": "media"}, 400},
		{"/api/v1/organize/preview", map[string]any{"root": "media", "methodology": "rules"}, 400},
		{"/api/v1/organize/preview", map[string]any{"root": "media", "methodology": "rules",
			"rules": []map[string]any{{"name_regex": "([", "destination": "x/"}}}, 400},
		{"/api/v1/organize/preview", map[string]any{"root": "media", "methodology": "rules",
			"rules": []map[string]any{{"extensions": []string{"txt"}, "destination": "../escape/{name}{ext}"}}}, 400},
		{"/api/v1/organize/preview", map[string]any{"root": "media", "methodology": "rules",
			"rules": []map[string]any{{"extensions": []string{"txt"}, "destination": "/abs/{name}"}}}, 400},
		{"/api/v1/organize/preview", map[string]any{"root": "media", "methodology": "rules",
			"rules": []map[string]any{{"extensions": []string{"txt"}, "destination": "{nope}/x"}}}, 400},
		{"/api/v1/organize/preview", map[string]any{"root": "media", "path": "../etc", "methodology": "by_type"}, 400},
		{"/api/v1/organize/preview", map[string]any{"root": "nope", "methodology": "by_type"}, 422},
		{"/api/v1/organize/preview", map[string]any{"root": "media", "methodology": "by_type", "target_root": "nope"}, 422},
		{"/api/v1/organize/preview", map[string]any{"root": "media", "methodology": "by_type", "surprise": 1}, 400},
		{"/api/v1/organize/preview", map[string]any{"job_id": "not-a-uuid", "methodology": "by_type"}, 400},
		{"/api/v1/organize/scan", map[string]any{"root": "media", "methodology": "rules", "rules": []map[string]any{{"destination": ""}}}, 400},
		{"/api/v1/organize/scan", map[string]any{"path": "/nope/x", "methodology": "by_type"}, 422},
		{"/api/v1/organize/execute", map[string]any{}, 400},
		{"/api/v1/organize/execute", map[string]any{"plan_id": "00000000-0000-0000-0000-000000000000"}, 404},
		{"/api/v1/organize/undo", map[string]any{"plan_id": "x"}, 400},
	}
	for _, tc := range cases {
		r := s.Do(t, http.MethodPost, tc.endpoint, tc.body)
		require.Equal(t, tc.status, r.Status, "%s %v: %s", tc.endpoint, tc.body, r.Raw)
		require.NotNil(t, r.Error, "%s", r.Raw)
		require.NotEmpty(t, r.Error.Code)
	}
	r := s.Do(t, http.MethodGet, "/api/v1/organize/status/not-a-uuid", nil)
	require.Equal(t, http.StatusBadRequest, r.Status)

	scan := submit(t, s, map[string]any{"type": "scan", "root": "media"})
	require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, scan.ID, time.Minute).Status)
	r = s.Do(t, http.MethodPost, "/api/v1/organize/preview", map[string]any{"root": "media", "methodology": "by_type"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var preview struct {
		PlanID string `json:"plan_id"`
	}
	r.Decode(t, &preview)
	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/execute", map[string]any{"plan_id": preview.PlanID})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "an organize plan is not a dedupe plan: %s", r.Raw)
	r = s.Do(t, http.MethodPost, "/api/v1/organize/undo", map[string]any{"plan_id": preview.PlanID})
	require.Equal(t, http.StatusConflict, r.Status, "a plan not executed cannot be undone: %s", r.Raw)
	runPlanJob(t, s, "/api/v1/organize/execute", map[string]any{"plan_id": preview.PlanID})
	r = s.Do(t, http.MethodPost, "/api/v1/organize/execute", map[string]any{"plan_id": preview.PlanID})
	require.Equal(t, http.StatusConflict, r.Status, "a plan runs once: %s", r.Raw)
}

// TestOrganizeExecuteSurvivesSIGKILL kills the only worker while it executes a plan within a
// MinIO root (copy, then delete) and another from a local root into MinIO (streamed copy,
// verify, delete); a new worker finishes both jobs with the planned tree: every file once,
// byte for byte.
func TestOrganizeExecuteSurvivesSIGKILL(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	d := newDedupeRoots(t, s)
	env := []string{"FILEFLEET_LOG_LEVEL=debug", "FILEFLEET_WORKER_CONCURRENCY=2"}
	w1 := s.StartWorker(t, env...)
	waitReady(t, w1)

	const files = 300
	exts := []string{"txt", "jpg", "pdf", "csv", "mp3"}
	before := map[string][]byte{}
	for i := range files {
		data := randomBytes(16<<10 + i)
		name := fmt.Sprintf("f%03d.%s", i, exts[i%len(exts)])
		before["within/"+name] = data
		d.put(t, "s3/within/"+name, data)
		d.put(t, "disk/out/"+name, data)
	}
	var plans []string
	for _, body := range []map[string]any{
		{"root": "s3", "path": "within", "methodology": "by_extension"},
		{"root": "disk", "path": "out", "methodology": "by_extension", "target_root": "s3", "target_path": "across"},
	} {
		r := s.Do(t, http.MethodPost, "/api/v1/organize/scan", body)
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
		var scan filefleet.Job
		r.Decode(t, &scan)
		scan = waitJob(t, s, scan.ID, 2*time.Minute)
		require.Equal(t, filefleet.JobStateSucceeded, scan.Status, scan.Error)
		var res organize.ScanResult
		require.NoError(t, json.Unmarshal(scan.Result, &res))
		require.Equal(t, files, res.Summary.Moves)
		plans = append(plans, res.PlanID)
	}
	var execs []string
	for _, id := range plans {
		r := s.Do(t, http.MethodPost, "/api/v1/organize/execute", map[string]any{"plan_id": id})
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
		var started struct {
			Job filefleet.Job `json:"job"`
		}
		r.Decode(t, &started)
		execs = append(execs, started.Job.ID)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		done := int64(0)
		for _, id := range plans {
			done += getOrganizePlan(t, s, id).Counts["move/done"]
		}
		if done >= 60 {
			require.Less(t, done, int64(2*files), "both plans finished before the worker could be killed")
			break
		}
		require.True(t, time.Now().Before(deadline), "execute made no progress: %s", w1.Output())
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, w1.Cmd.Process.Signal(syscall.SIGKILL))
	w1.Cmd.Wait()

	w2 := s.StartWorker(t, env...)
	waitReady(t, w2)
	for _, id := range execs {
		j := waitJob(t, s, id, 4*time.Minute)
		require.Equal(t, filefleet.JobStateSucceeded, j.Status, j.Error)
	}
	within, across := treeUnder(t, d.s3, "within"), treeUnder(t, d.s3, "across")
	require.Len(t, within, files, "nothing lost or duplicated within the bucket")
	require.Len(t, across, files, "nothing lost or duplicated across roots")
	require.Empty(t, treeUnder(t, d.fs, "out"), "every file left the local root")
	for p, data := range before {
		name := path.Base(p)
		ext := strings.TrimPrefix(path.Ext(name), ".")
		require.True(t, bytes.Equal(data, within["within/"+ext+"/"+name]), "within: %s", name)
		require.True(t, bytes.Equal(data, across["across/"+ext+"/"+name]), "across: %s", name)
	}
	for _, id := range plans {
		require.Equal(t, map[string]int64{"move/done": files}, getOrganizePlan(t, s, id).Counts)
	}
}

// TestOrganizeRuleSets stores rules under a name, organizes with them and manages them.
func TestOrganizeRuleSets(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	localRoot(t, s, "media", map[string]int64{"in/a.txt": 10, "in/b.jpg": 20, "in/c.mp3": 30})
	set := map[string]any{"name": "mine", "description": "pictures apart", "rules": []map[string]any{
		{"extensions": []string{"jpg"}, "destination": "Pictures/{name}{ext}"}}}
	r := s.Do(t, http.MethodPost, "/api/v1/organize/rules", set)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	r = s.Do(t, http.MethodPost, "/api/v1/organize/rules", set)
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	for _, bad := range []map[string]any{
		{"name": "x", "rules": []map[string]any{}},
		{"name": "x", "rules": []map[string]any{{"name_regex": "(", "destination": "a/"}}},
		{"name": "x", "rules": []map[string]any{{"extensions": []string{"a"}, "destination": "../{name}"}}},
		{"name": "bad name!", "rules": set["rules"]},
	} {
		r = s.Do(t, http.MethodPost, "/api/v1/organize/rules", bad)
		require.Equal(t, http.StatusBadRequest, r.Status, "%v: %s", bad, r.Raw)
	}
	r = s.Do(t, http.MethodPut, "/api/v1/organize/rules/mine", map[string]any{"rules": []map[string]any{
		{"extensions": []string{"jpg"}, "destination": "Photos/{name}{ext}"},
		{"extensions": []string{"mp3"}, "destination": "Music/"}}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r = s.Do(t, http.MethodGet, "/api/v1/organize/rules", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var sets []store.RuleSet
	r.Decode(t, &sets)
	require.Len(t, sets, 1)
	require.Contains(t, string(sets[0].Rules), "Photos/")

	r = s.Do(t, http.MethodPost, "/api/v1/organize/scan", map[string]any{"root": "media", "path": "in", "rule_set": "mine"})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var scan filefleet.Job
	r.Decode(t, &scan)
	scan = waitJob(t, s, scan.ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, scan.Status, scan.Error)
	var res organize.ScanResult
	require.NoError(t, json.Unmarshal(scan.Result, &res))
	moves := map[string]string{}
	for _, it := range getOrganizePlan(t, s, res.PlanID).Items {
		moves[it.Path] = it.DstPath
	}
	require.Equal(t, map[string]string{"in/b.jpg": "in/Photos/b.jpg", "in/c.mp3": "in/Music/c.mp3"}, moves,
		"the stored rules, as replaced; a.txt matches none and stays")

	r = s.Do(t, http.MethodPost, "/api/v1/organize/preview", map[string]any{"root": "media", "rule_set": "mine",
		"rules": []map[string]any{{"extensions": []string{"txt"}, "destination": "T/"}}})
	require.Equal(t, http.StatusBadRequest, r.Status, "rules and rule_set: %s", r.Raw)
	r = s.Do(t, http.MethodDelete, "/api/v1/organize/rules/mine", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r = s.Do(t, http.MethodGet, "/api/v1/organize/rules/mine", nil)
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Raw)
	r = s.Do(t, http.MethodPost, "/api/v1/organize/preview", map[string]any{"root": "media", "rule_set": "mine"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Raw)
}
