package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/backends"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// dedupeRoots are the three roots of the dedupe tests, with a backend on each to set up and
// check files: "disk" (local), "s3" (MinIO) and "nas" (Samba).
type dedupeRoots struct {
	disk        string // directory of the local root
	nasDir      string // directory Samba serves as the "nas" root
	s3, nas, fs storage.Backend
	byName      map[string]storage.Backend
}

func newDedupeRoots(t *testing.T, s *testenv.Stack) *dedupeRoots {
	t.Helper()
	d := &dedupeRoots{disk: t.TempDir()}
	cfg, mc := testenv.S3(t)
	bucket := testenv.Bucket(t, mc)
	e := smbEnv()
	name := testenv.RandomName("dedupe-")
	d.nasDir = filepath.Join(e.Dir, name)
	t.Cleanup(func() { os.RemoveAll(filepath.Join(e.Dir, name)) })
	host, port, _ := strings.Cut(e.Addr, ":")
	roots := []map[string]any{
		{"name": "disk", "kind": "local", "path": d.disk},
		{"name": "s3", "kind": "s3", "endpoint": cfg.Endpoint, "bucket": bucket, "access_key": cfg.AccessKey, "secret_key": cfg.SecretKey},
		e.body(map[string]any{"name": "nas", "kind": "smb", "path": name, "verify": false}),
	}
	// The SMB directory is made through Samba, so that the share's user owns it.
	top, err := backends.Open(filefleet.Root{Kind: filefleet.RootKindSMB, Host: host, Port: atoi(port), Share: e.Share,
		Username: e.User, Secret: e.Password})
	require.NoError(t, err)
	t.Cleanup(func() { top.Close() })
	_, err = top.Put(context.Background(), name+"/.keep", strings.NewReader(""))
	require.NoError(t, err)
	require.NoError(t, top.Remove(context.Background(), name+"/.keep"))
	delete(roots[2], "verify")
	for _, r := range roots {
		resp := s.Do(t, http.MethodPost, "/api/v1/roots", r)
		require.Equal(t, http.StatusCreated, resp.Status, "%s", resp.Raw)
	}
	open := func(r filefleet.Root) storage.Backend {
		b, err := backends.Open(r)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		return b
	}
	d.fs = open(filefleet.Root{Kind: filefleet.RootKindLocal, Path: d.disk})
	d.s3 = open(filefleet.Root{Kind: filefleet.RootKindS3, Endpoint: cfg.Endpoint, Bucket: bucket, AccessKey: cfg.AccessKey, Secret: cfg.SecretKey})
	d.nas = open(filefleet.Root{Kind: filefleet.RootKindSMB, Host: host, Port: atoi(port), Share: e.Share, Path: name,
		Username: e.User, Secret: e.Password})
	d.byName = map[string]storage.Backend{"disk": d.fs, "s3": d.s3, "nas": d.nas}
	return d
}

// put writes data to root/path.
func (d *dedupeRoots) put(t *testing.T, rootPath string, data []byte) {
	t.Helper()
	root, p, _ := strings.Cut(rootPath, "/")
	_, err := d.byName[root].Put(context.Background(), p, bytes.NewReader(data))
	require.NoError(t, err, rootPath)
}

// read returns the content of root/path, or nil if it does not exist.
func (d *dedupeRoots) read(t *testing.T, rootPath string) []byte {
	t.Helper()
	root, p, _ := strings.Cut(rootPath, "/")
	r, err := d.byName[root].Open(context.Background(), p, 0, -1)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		return nil
	}
	require.NoError(t, err, rootPath)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func flipped(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}

type dedupeResponse struct {
	PlanID  string `json:"plan_id"`
	Summary struct {
		Groups int   `json:"groups"`
		Files  int   `json:"files"`
		Bytes  int64 `json:"bytes"`
	} `json:"summary"`
	Groups []struct {
		GroupID int64                     `json:"group_id"`
		Keep    filefleet.DuplicateFile   `json:"keep"`
		Others  []filefleet.DuplicateFile `json:"others"`
	} `json:"groups"`
}

// groupSets turns groups into sorted lists of "root/path", sorted.
func groupSets(groups []filefleet.DuplicateGroup) [][]string {
	var out [][]string
	for _, g := range groups {
		var set []string
		for _, f := range g.Files {
			set = append(set, f.Root+"/"+f.Path)
		}
		sort.Strings(set)
		out = append(out, set)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// TestDedupeAcrossBackends finds known duplicate groups spread over a local directory, a
// MinIO bucket and a Samba share, checks what each stage read, previews a plan, changes a
// file between preview and execute, executes and undoes.
func TestDedupeAcrossBackends(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)

	a := randomBytes(100 << 10) // > two partial blocks
	b := randomBytes(40 << 10)
	c := []byte("a small duplicate\n") // read whole in the partial stage
	files := map[string][]byte{
		"disk/a/one.bin":         a,
		"s3/x/one copy.bin":      a,
		"nas/deep/ünïcode a.bin": a,
		"s3/x/last-byte.bin":     flipped(a, len(a)-1), // same size, differs in the last byte
		"nas/middle.bin":         flipped(a, len(a)/2), // same size, head and tail: read in full, not grouped
		"disk/b1.bin":            b,
		"disk/b2 with space.bin": b,
		"disk/b-decoy.bin":       randomBytes(len(b)), // same size, other content
		"nas/c1.txt":             c,
		"s3/c2.txt":              c,
		"disk/empty":             {},
		"s3/empty":               {},
		"nas/empty":              {},
		"disk/unique.bin":        randomBytes(1234),
		"s3/unique-too.bin":      randomBytes(4321),
	}
	// Only S3 objects of this size: their ETags (MD5s) group them without reading them.
	m := randomBytes(5000)
	files["s3/m/1.bin"], files["s3/m/2.bin"], files["s3/m/3.bin"] = m, m, randomBytes(len(m))
	for p, data := range files {
		d.put(t, p, data)
	}
	// A hard link is the same file, not a duplicate.
	require.NoError(t, os.Link(filepath.Join(d.disk, "a", "one.bin"), filepath.Join(d.disk, "a", "one-link.bin")))
	old := time.Now().Add(-48 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(d.disk, "b1.bin"), old, old))

	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/scan", map[string]any{"roots": []string{"disk", "s3"}, "paths": []string{"nas"}})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var job filefleet.Job
	r.Decode(t, &job)
	evs := readEvents(t, s, job.ID, 0, 2*time.Minute)
	require.Equal(t, filefleet.EventJobCompleted, evs[len(evs)-1].Event.Type, "%+v", evs[len(evs)-1].Event)
	stages := map[string]bool{}
	var detected bool
	for _, ev := range evs {
		stages[ev.Event.Stage] = true
		detected = detected || ev.Event.Type == filefleet.EventDuplicateDetected
	}
	require.True(t, detected, "a duplicate_detected event")
	require.True(t, stages["scan"] && stages["group"], "events name their stages: %v", stages)

	job = getJob(t, s, job.ID)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	var res filefleet.DedupeResult
	require.NoError(t, json.Unmarshal(job.Result, &res))
	require.EqualValues(t, 4, res.Groups)
	require.EqualValues(t, 5, res.DuplicateFiles, "%s", job.Result)
	require.EqualValues(t, 2*len(a)+len(b)+len(c)+len(m), res.WastedBytes)
	// Candidates: the five files of a's size, the three of b's, the two of c's, the three of m's;
	// m's are never read.
	require.EqualValues(t, 13, res.Candidates)
	require.EqualValues(t, 10, res.FilesRead["partial"], "the partial stage reads candidates only")
	require.EqualValues(t, 5*2*16<<10+3*2*16<<10+2*len(c), res.BytesRead["partial"], "head and tail blocks only")
	// Full hashes: a's four files with equal head and tail, and b1, b2; c was read whole already.
	require.EqualValues(t, 6, res.FilesRead["full"], "the full stage reads files still grouped only")
	require.EqualValues(t, 4*len(a)+2*len(b), res.BytesRead["full"])

	r = s.Do(t, http.MethodGet, "/api/v1/dedupe/groups?job_id="+job.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var groups []filefleet.DuplicateGroup
	r.Decode(t, &groups)
	got := groupSets(groups)
	// The hard link pair counts once: either path may stand for it.
	for _, set := range got {
		for i, p := range set {
			if p == "disk/a/one-link.bin" {
				set[i] = "disk/a/one.bin"
			}
		}
		sort.Strings(set)
	}
	require.Equal(t, [][]string{
		{"disk/a/one.bin", "nas/deep/ünïcode a.bin", "s3/x/one copy.bin"},
		{"disk/b1.bin", "disk/b2 with space.bin"},
		{"nas/c1.txt", "s3/c2.txt"},
		{"s3/m/1.bin", "s3/m/2.bin"},
	}, got)
	for _, g := range groups {
		want := filefleet.HashBLAKE3
		if g.Files[0].Path == "m/1.bin" {
			want = filefleet.HashMD5
		}
		require.Equal(t, want, g.Algorithm, "group of %s", g.Files[0].Path)
	}

	r = s.Do(t, http.MethodGet, "/api/v1/stats/duplicates", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var st store.DuplicateStats
	r.Decode(t, &st)
	require.EqualValues(t, 4, st.Groups)
	require.EqualValues(t, 3, st.LargestGroup)
	r = s.Do(t, http.MethodGet, "/api/v1/stats/duplicates/groups?sort_by=size&limit=1", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r.Decode(t, &groups)
	require.Len(t, groups, 1)
	require.EqualValues(t, len(a), groups[0].Size, "the group wasting most comes first")

	// Preview: keep what is on the local disk.
	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/preview", map[string]any{"job_id": job.ID, "keep": "preferred_root",
		"preferred_root": "disk", "action": "trash"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var plan dedupeResponse
	r.Decode(t, &plan)
	require.Equal(t, 4, plan.Summary.Groups)
	require.Equal(t, 5, plan.Summary.Files)
	keeps := map[string]bool{}
	for _, g := range plan.Groups {
		keeps[g.Keep.Root+"/"+g.Keep.Path] = true
	}
	require.True(t, keeps["disk/b1.bin"], "the oldest of the local copies is kept: %v", keeps)

	before := map[string][]byte{}
	for p := range files {
		before[p] = d.read(t, p)
	}
	// Changed between preview and execute: must be skipped, not removed.
	changed := flipped(a, 10)
	d.put(t, "nas/deep/ünïcode a.bin", changed)

	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan.PlanID})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var exec struct {
		Job filefleet.Job `json:"job"`
	}
	r.Decode(t, &exec)
	done := waitJob(t, s, exec.Job.ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)
	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan.PlanID})
	require.Equal(t, http.StatusConflict, r.Status, "a plan runs once: %s", r.Raw)

	var items struct {
		Items []store.PlanItem `json:"items"`
	}
	r = s.Do(t, http.MethodGet, "/api/v1/dedupe/plans/"+plan.PlanID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	r.Decode(t, &items)
	states := map[string]string{}
	for _, it := range items.Items {
		states[it.Root+"/"+it.Path] = string(it.Action) + "/" + string(it.State)
		if it.State == filefleet.ItemSkipped {
			require.Contains(t, it.Message, "changed", "the report says why")
		}
	}
	require.Equal(t, "trash/skipped", states["nas/deep/ünïcode a.bin"], "%v", states)
	require.Equal(t, "trash/done", states["s3/x/one copy.bin"], "%v", states)
	require.Equal(t, "trash/done", states["disk/b2 with space.bin"], "%v", states)

	require.Nil(t, d.read(t, "s3/x/one copy.bin"), "trashed")
	require.Nil(t, d.read(t, "disk/b2 with space.bin"), "trashed")
	require.Equal(t, a, d.read(t, "disk/a/one.bin"), "kept")
	require.Equal(t, changed, d.read(t, "nas/deep/ünïcode a.bin"), "the changed file is untouched")
	require.Equal(t, 1, countPresent(t, d, "nas/c1.txt", "s3/c2.txt"), "exactly one copy of c stays")
	require.Equal(t, 1, countPresent(t, d, "s3/m/1.bin", "s3/m/2.bin"), "exactly one copy of m stays (read to confirm)")
	require.Equal(t, len(m), len(d.read(t, "s3/m/3.bin")))
	require.Equal(t, a, d.read(t, "s3/"+filefleet.TrashDir+"/"+exec.Job.ID+"/x/one copy.bin"), "in the trash of its root")

	// Undo restores every trashed file byte for byte.
	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/undo", map[string]any{"job_id": exec.Job.ID})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var undo struct {
		Job filefleet.Job `json:"job"`
	}
	r.Decode(t, &undo)
	done = waitJob(t, s, undo.Job.ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)
	for p, want := range before {
		if p == "nas/deep/ünïcode a.bin" {
			want = changed
		}
		require.Equal(t, want, d.read(t, p), "%s is back as it was", p)
	}
	require.Nil(t, d.read(t, "s3/"+filefleet.TrashDir+"/"+exec.Job.ID+"/x/one copy.bin"), "the trash is empty again")
}

func countPresent(t *testing.T, d *dedupeRoots, paths ...string) int {
	n := 0
	for _, p := range paths {
		if d.read(t, p) != nil {
			n++
		}
	}
	return n
}

// TestDedupeBadInput checks the dedupe endpoints' errors.
func TestDedupeBadInput(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	scan := submit(t, s, map[string]any{"type": "noop"})
	addLocalRoot(t, s, "disk", t.TempDir())
	cases := []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/api/v1/dedupe/scan", `{}`, 400},
		{"POST", "/api/v1/dedupe/scan", `{"roots":["nope"]}`, 422},
		{"POST", "/api/v1/dedupe/scan", `{"paths":["disk/../x"]}`, 400},
		{"POST", "/api/v1/dedupe/scan", `{"roots":[""]}`, 400},
		{"POST", "/api/v1/dedupe/preview", `{"job_id":"x"}`, 400},
		{"POST", "/api/v1/dedupe/preview", `{"job_id":"` + scan.ID + `"}`, 422},
		{"POST", "/api/v1/dedupe/preview", `{"job_id":"` + scan.ID + `","keep":"largest"}`, 400},
		{"POST", "/api/v1/dedupe/preview", `{"job_id":"7b0c8f2e-4a1d-4c7e-9a55-0b8e2d1f3c4a"}`, 404},
		{"POST", "/api/v1/dedupe/preview", `{"job_id":"` + scan.ID + `","preferred_prefix":"../../etc"}`, 400},
		{"POST", "/api/v1/dedupe/execute", `{}`, 400},
		{"POST", "/api/v1/dedupe/execute", `{"plan_id":"7b0c8f2e-4a1d-4c7e-9a55-0b8e2d1f3c4a"}`, 404},
		{"POST", "/api/v1/dedupe/undo", `{"job_id":"` + scan.ID + `"}`, 404},
		{"GET", "/api/v1/dedupe/groups?job_id=zz", nil, 400},
		{"GET", "/api/v1/stats/duplicates/groups?sort_by=name", nil, 400},
		{"GET", "/api/v1/stats/duplicates/groups?limit=1000", nil, 400},
		{"POST", "/api/v1/jobs", `{"type":"hash","root":"nope"}`, 422},
		{"POST", "/api/v1/jobs", `{"type":"dedupe","roots":["disk"],"algorithms":["sha256"]}`, 400},
		{"POST", "/api/v1/jobs", `{"type":"hash","root":"disk","algorithms":["crc"]}`, 400},
	}
	for _, tc := range cases {
		r := s.Do(t, tc.method, tc.path, tc.body)
		require.Equal(t, tc.status, r.Status, "%s %s %v: %s", tc.method, tc.path, tc.body, r.Raw)
		require.NotNil(t, r.Error, "%s", r.Raw)
		require.NotEmpty(t, r.Error.Code)
		require.NotEmpty(t, r.Error.Message)
	}
	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/preview", map[string]any{"job_id": scan.ID, "keep": "preferred_root",
		"preferred_root": "no-such-root"})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Raw)
	require.Contains(t, r.Error.Message, `"no-such-root" does not exist`)
}

// tree returns the content of every file of a backend by path.
func tree(t *testing.T, b storage.Backend) map[string][]byte { return treeUnder(t, b, "") }

// treeUnder returns the content of every file below dir of a backend by path.
func treeUnder(t *testing.T, b storage.Backend, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	require.NoError(t, storage.Walk(context.Background(), b, dir, 1000, func(e storage.Entry) error {
		if e.IsDir {
			return nil
		}
		r, err := b.Open(context.Background(), e.Path, 0, -1)
		if err != nil {
			return err
		}
		defer r.Close()
		out[e.Path], err = io.ReadAll(r)
		return err
	}))
	return out
}

// TestDedupeExecuteSurvivesSIGKILL kills the only worker while it executes a plan over a
// local and a MinIO root; a new worker finishes the job. Every group keeps exactly one copy,
// every trashed file is in the trash byte for byte, and nothing else changed.
func TestDedupeExecuteSurvivesSIGKILL(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	d := newDedupeRoots(t, s)
	env := []string{"FILEFLEET_LOG_LEVEL=debug", "FILEFLEET_WORKER_CONCURRENCY=1"}
	w1 := s.StartWorker(t, env...)
	waitReady(t, w1)

	const groups = 300
	contents := map[string][]byte{}
	for i := range groups {
		data := randomBytes(40<<10 + i)
		contents[fmt.Sprintf("g/%03d.bin", i)] = data
		d.put(t, fmt.Sprintf("disk/g/%03d.bin", i), data)
		d.put(t, fmt.Sprintf("s3/copies/%03d.bin", i), data)
	}
	for i := range 20 {
		d.put(t, fmt.Sprintf("s3/unique/%02d.bin", i), randomBytes(1000+i))
	}
	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/scan", map[string]any{"roots": []string{"disk", "s3"}})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var scan filefleet.Job
	r.Decode(t, &scan)
	scan = waitJob(t, s, scan.ID, 2*time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, scan.Status, scan.Error)
	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/preview", map[string]any{"job_id": scan.ID, "keep": "preferred_root",
		"preferred_root": "disk"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var plan dedupeResponse
	r.Decode(t, &plan)
	require.Equal(t, groups, plan.Summary.Groups)
	diskBefore, s3Before := tree(t, d.fs), tree(t, d.s3)

	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/execute", map[string]any{"job_id": scan.ID})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var exec struct {
		Job filefleet.Job `json:"job"`
	}
	r.Decode(t, &exec)
	deadline := time.Now().Add(time.Minute)
	for {
		j := getJob(t, s, exec.Job.ID)
		require.False(t, j.Status.Terminal(), "the execute job finished before the worker could be killed")
		if j.Progress.Files >= 40 {
			break
		}
		require.True(t, time.Now().Before(deadline), "execute made no progress: %s", w1.Output())
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, w1.Cmd.Process.Signal(syscall.SIGKILL))
	w1.Cmd.Wait()
	mid := getJob(t, s, exec.Job.ID)
	t.Logf("killed the worker after %d of %d files", mid.Progress.Files, groups)

	w2 := s.StartWorker(t, env...)
	waitReady(t, w2)
	done := waitJob(t, s, exec.Job.ID, 4*time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)

	diskAfter, s3After := tree(t, d.fs), tree(t, d.s3)
	require.Equal(t, diskBefore, diskAfter, "the kept copies are untouched")
	want := map[string][]byte{}
	for p, data := range s3Before {
		if strings.HasPrefix(p, "copies/") {
			p = filefleet.TrashDir + "/" + exec.Job.ID + "/" + p
		}
		want[p] = data
	}
	require.Equal(t, len(want), len(s3After), "no file lost or duplicated")
	for p, data := range want {
		require.True(t, bytes.Equal(data, s3After[p]), "%s", p)
	}
	var items struct {
		Counts map[string]int64 `json:"counts"`
	}
	r = s.Do(t, http.MethodGet, "/api/v1/dedupe/plans/"+plan.PlanID, nil)
	r.Decode(t, &items)
	require.Equal(t, map[string]int64{"keep/planned": groups, "trash/done": groups}, items.Counts)
}

// TestDedupeRecoversHalfDoneMoves sets up what attempts killed mid-step leave behind on
// MinIO, where a rename is a copy and then a delete: items journaled in progress whose trash
// copy is whole while the original is still there, whose original is gone already, or which
// never started. Execute finishes each with one copy in the trash; undo, met with a file
// copied back whose trash copy was not deleted yet, ends with one copy at its place.
func TestDedupeRecoversHalfDoneMoves(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	d := newDedupeRoots(t, s)
	data := map[string][]byte{}
	for i := range 4 {
		data[fmt.Sprintf("g%d", i)] = randomBytes(20<<10 + i)
		d.put(t, fmt.Sprintf("s3/keep/g%d.bin", i), data[fmt.Sprintf("g%d", i)])
		d.put(t, fmt.Sprintf("s3/other/copy-g%d.bin", i), data[fmt.Sprintf("g%d", i)])
	}
	w := s.StartWorker(t)
	waitReady(t, w)
	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/scan", map[string]any{"roots": []string{"s3"}})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var scan filefleet.Job
	r.Decode(t, &scan)
	scan = waitJob(t, s, scan.ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, scan.Status, scan.Error)
	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/preview", map[string]any{"job_id": scan.ID, "keep": "shortest_path"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var plan dedupeResponse
	r.Decode(t, &plan)
	require.Equal(t, 4, plan.Summary.Groups)

	// The worker is down while the plan's items are put in the states crashes leave.
	require.NoError(t, w.Cmd.Process.Kill())
	w.Cmd.Wait()
	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/execute", map[string]any{"plan_id": plan.PlanID})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var exec struct {
		Job filefleet.Job `json:"job"`
	}
	r.Decode(t, &exec)
	trash := func(p string) string { return path.Join(filefleet.TrashDir, exec.Job.ID, p) }
	ctx := context.Background()
	for _, it := range getOrganizePlan(t, s, plan.PlanID).Items {
		if it.Action != filefleet.ActionTrash {
			continue
		}
		require.Equal(t, "s3", it.Root)
		require.NoError(t, store.JournalItem(ctx, s.DB, plan.PlanID, it.Seq, filefleet.ItemInProgress, trash(it.Path), ""))
		switch path.Base(it.Path) {
		case "copy-g0.bin": // copied into the trash; the original not deleted yet
			require.NoError(t, d.s3.Copy(ctx, it.Path, trash(it.Path)))
		case "copy-g1.bin": // moved; the journal not updated yet
			require.NoError(t, d.s3.Rename(ctx, it.Path, trash(it.Path)))
		case "copy-g3.bin": // another file took the trash path since
			_, err := d.s3.Put(ctx, trash(it.Path), strings.NewReader("someone else's"))
			require.NoError(t, err)
		}
	}
	w = s.StartWorker(t)
	waitReady(t, w)
	done := waitJob(t, s, exec.Job.ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status, done.Error)
	for i := range 3 {
		name := fmt.Sprintf("g%d", i)
		require.Equal(t, data[name], d.read(t, "s3/keep/"+name+".bin"), "kept")
		require.Nil(t, d.read(t, "s3/other/copy-"+name+".bin"), "trashed")
		require.Equal(t, data[name], d.read(t, "s3/"+trash("other/copy-"+name+".bin")), "in the trash once")
	}
	require.Equal(t, data["g3"], d.read(t, "s3/other/copy-g3.bin"), "left alone")
	require.Equal(t, []byte("someone else's"), d.read(t, "s3/"+trash("other/copy-g3.bin")), "not overwritten")
	executed := getOrganizePlan(t, s, plan.PlanID)
	require.Equal(t, map[string]int64{"keep/planned": 4, "trash/done": 3, "trash/skipped": 1}, executed.Counts)
	for _, it := range executed.Items {
		if it.State == filefleet.ItemSkipped {
			require.Contains(t, it.Message, "another file is at its trash path")
		}
	}

	// An undo attempt copied g0 back and died before deleting its trash copy.
	require.NoError(t, d.s3.Copy(ctx, trash("other/copy-g0.bin"), "other/copy-g0.bin"))
	runPlanJob(t, s, "/api/v1/dedupe/undo", map[string]any{"job_id": exec.Job.ID})
	for i := range 3 {
		name := fmt.Sprintf("g%d", i)
		require.Equal(t, data[name], d.read(t, "s3/other/copy-"+name+".bin"), "back at its place")
		require.Nil(t, d.read(t, "s3/"+trash("other/copy-"+name+".bin")), "no longer in the trash")
	}
	require.Equal(t, map[string]int64{"keep/planned": 4, "trash/undone": 3, "trash/skipped": 1}, getOrganizePlan(t, s, plan.PlanID).Counts)
}

// TestHashJob hashes a local root with BLAKE3, SHA-256 and MD5, then again: unchanged files are
// not read twice; a changed file is.
func TestHashJob(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir := t.TempDir()
	addLocalRoot(t, s, "disk", dir)
	data := map[string][]byte{"abc.txt": []byte("abc"), "sub/big.bin": randomBytes(3 << 20), "sub/ü b.txt": []byte("x")}
	for p, b := range data {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), b, 0o644))
	}
	hash := func(algos ...string) filefleet.HashResult {
		job := submit(t, s, map[string]any{"type": "hash", "root": "disk", "algorithms": algos})
		job = waitJob(t, s, job.ID, time.Minute)
		require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
		var res filefleet.HashResult
		require.NoError(t, json.Unmarshal(job.Result, &res))
		return res
	}
	res := hash()
	require.Equal(t, filefleet.HashResult{Files: 3, Hashed: 3, BytesRead: 3<<20 + 4}, res)
	abc := catalog(t, s, "disk", false)["abc.txt"]
	require.NotNil(t, abc.BLAKE3)
	require.Nil(t, abc.SHA256, "only on request")
	res = hash("sha256", "md5")
	require.Equal(t, filefleet.HashResult{Files: 3, Hashed: 3, BytesRead: 3<<20 + 4}, res, "read again for the new algorithms")
	abc = catalog(t, s, "disk", false)["abc.txt"]
	require.Equal(t, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85", *abc.BLAKE3)
	require.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", *abc.SHA256)
	require.Equal(t, "900150983cd24fb0d6963f7d28e17f72", *abc.MD5)

	res = hash("sha256")
	require.Equal(t, filefleet.HashResult{Files: 3, Unchanged: 3}, res, "nothing read again")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "abc.txt"), []byte("abcd"), 0o644))
	res = hash()
	require.Equal(t, filefleet.HashResult{Files: 3, Hashed: 1, Unchanged: 2, BytesRead: 4}, res, "only the changed file")
	require.NotEqual(t, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85", *catalog(t, s, "disk", false)["abc.txt"].BLAKE3)
}

// TestHashTaskPayloads checks what hash tasks carry: a payload of catalog ids only, cleared
// once its unit is done, and a task queued by a version that sent whole catalog rows (as
// during a rolling upgrade) still hashes its files and finishes its job.
func TestHashTaskPayloads(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	ctx := t.Context()
	dir := t.TempDir()
	addLocalRoot(t, s, "disk", dir)
	for i := range 30 {
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d.bin", i)), randomBytes(1000+i), 0o644))
	}
	job := waitJob(t, s, submit(t, s, map[string]any{"type": "hash", "root": "disk"}).ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	var kept int
	require.NoError(t, s.DB.GetContext(ctx, &kept, `SELECT count(*) FROM job_units WHERE payload IS NOT NULL`))
	require.Zero(t, kept, "done units keep no payload")

	// A task as an older version queued it: the files' rows in "files", no "file_ids".
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f00.bin"), []byte("changed"), 0o644))
	job = waitJob(t, s, submit(t, s, map[string]any{"type": "scan", "root": "disk"}).ID, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	require.Nil(t, catalog(t, s, "disk", false)["f00.bin"].BLAKE3, "the rescan dropped the old hash")
	root, err := store.GetRoot(ctx, s.DB, s.Box, "disk")
	require.NoError(t, err)
	scopes := []store.Scope{{RootID: root.ID, Root: "disk"}}
	targets, err := store.HashTargets(ctx, s.DB, scopes, store.StageAll, nil)
	require.NoError(t, err)
	require.Len(t, targets, 1)
	id, unit := uuid.NewString(), store.StageAll+":0"
	params, _ := json.Marshal(tasks.StagedParams{Scopes: scopes})
	require.NoError(t, store.CreateJobs(ctx, s.DB, []store.NewJob{{ID: id, Type: filefleet.JobTypeHash, RootID: &root.ID,
		Root: "disk", Params: params, Unit: unit}}))
	h := tasks.Header{JobID: id, Unit: unit}
	old, _ := json.Marshal(struct {
		tasks.Header
		Stage string             `json:"stage"`
		Files []store.HashTarget `json:"files"`
	}{h, store.StageAll, targets})
	_, err = s.Jobs.Queue.EnqueueContext(ctx, tasks.UnitTaskOf(id, store.UnitTask{Unit: unit, Type: tasks.TypeHashFiles, Payload: old}, tasks.QueueDefault))
	require.NoError(t, err)
	job = waitJob(t, s, id, time.Minute)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	var res filefleet.HashResult
	require.NoError(t, json.Unmarshal(job.Result, &res))
	require.Equal(t, filefleet.HashResult{Files: 30, Hashed: 1, Unchanged: 29, BytesRead: 7}, res)
	require.NotNil(t, catalog(t, s, "disk", false)["f00.bin"].BLAKE3)
}
