//go:build chaos

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/organize"
	"github.com/filefleet/filefleet/storage"
)

// The chaos drill (`make chaos`): a large dedupe and three organize plans on MinIO and Samba
// run on three worker processes while a random worker is SIGKILLed every few seconds and Redis
// is crashed and restarted once. The jobs must succeed, and the trees after must be the trees
// before with the plans applied: every content as often as before, no file lost or duplicated.
// The drill writes a report to $FILEFLEET_CHAOS_REPORT_DIR (default: the test's log only).
const (
	chaosWorkers     = 3
	chaosKillMin     = 3 * time.Second // pause between kills: uniform in [min, max)
	chaosKillMax     = 7 * time.Second
	chaosKillWindow  = 3 * time.Minute // kills stop after this; the fleet then finishes the jobs
	chaosRedisDown   = 3 * time.Second // how long Redis stays down
	chaosJobDeadline = 12 * time.Minute
)

// chaosTree is the generated tree: root → path → content.
type chaosTree map[string]map[string][]byte

// newChaosTree builds the drill's files from seed. dup/ of both roots holds duplicate groups
// (within and across roots), unique files, same-size-different-content pairs and empty
// files; inbox/ of both roots and outbox/ of nas are organized.
func newChaosTree(seed uint64, groups int) (chaosTree, int) {
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	content := func(n int) []byte {
		b := make([]byte, n+8)
		for i := 0; i < n; i += 8 {
			binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
		}
		return b[:n]
	}
	tree := chaosTree{"s3": {}, "nas": {}}
	names := []string{"photo", "ünïcødé 文件", "with space", "report"}
	for g := range groups {
		data := content(8<<10 + rng.IntN(56<<10))
		name := fmt.Sprintf("%s-%04d.bin", names[g%len(names)], g)
		tree["s3"]["dup/a/"+name] = data
		switch g % 3 {
		case 0: // across roots, three copies
			tree["nas"]["dup/b/"+name] = data
			tree["nas"]["dup/c/copy of "+name] = data
		case 1: // across roots
			tree["nas"]["dup/b/"+name] = data
		case 2: // within MinIO
			tree["s3"]["dup/c/"+name] = data
		}
	}
	for i := range groups / 2 {
		tree["nas"][fmt.Sprintf("dup/unique/u%04d.dat", i)] = content(1 + rng.IntN(32<<10))
		pair := content(4096 + i)
		tree["s3"][fmt.Sprintf("dup/pairs/p%04d.dat", i)] = pair
		tree["nas"][fmt.Sprintf("dup/pairs/p%04d.dat", i)] = flipped(pair, len(pair)-1)
	}
	for i := range 20 {
		tree["s3"][fmt.Sprintf("dup/empty/e%02d", i)] = []byte{}
		tree["nas"][fmt.Sprintf("dup/empty/e%02d", i)] = []byte{}
	}
	exts := []string{".txt", ".jpg", ".pdf", ".csv", ".mp3", ".tar.gz", ""}
	for _, dir := range []string{"s3/inbox", "nas/inbox", "nas/outbox"} {
		root, p, _ := strings.Cut(dir, "/")
		for i := range groups {
			name := fmt.Sprintf("%s/%s %04d%s", p, names[i%len(names)], i, exts[i%len(exts)])
			tree[root][name] = content(1 + rng.IntN(40<<10))
		}
	}
	return tree, groups
}

// write puts every file of the tree, eight at a time.
func (tr chaosTree) write(ctx context.Context, d *dedupeRoots) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for root, files := range tr {
		for p, data := range files {
			g.Go(func() error {
				_, err := d.byName[root].Put(ctx, p, strings.NewReader(string(data)))
				return err
			})
		}
	}
	return g.Wait()
}

// treeSums is root → path → SHA-256 of the content.
type treeSums map[string]map[string]string

// sumTrees reads every file of the roots and hashes it.
func sumTrees(t *testing.T, d *dedupeRoots, roots ...string) treeSums {
	t.Helper()
	out := treeSums{}
	var mu sync.Mutex
	for _, root := range roots {
		out[root] = map[string]string{}
		g, ctx := errgroup.WithContext(context.Background())
		g.SetLimit(8)
		b := d.byName[root]
		require.NoError(t, storage.Walk(ctx, b, "", 1000, func(e storage.Entry) error {
			if e.IsDir {
				return nil
			}
			g.Go(func() error {
				r, err := b.Open(ctx, e.Path, 0, -1)
				if err != nil {
					return err
				}
				defer r.Close()
				h := sha256.New()
				if _, err := io.Copy(h, r); err != nil {
					return err
				}
				mu.Lock()
				out[root][e.Path] = hex.EncodeToString(h.Sum(nil))
				mu.Unlock()
				return nil
			})
			return nil
		}))
		require.NoError(t, g.Wait())
	}
	return out
}

// pathSum is the checksum of the whole tree: every root, path and content hash.
func (s treeSums) pathSum() string {
	var lines []string
	for root, files := range s {
		for p, h := range files {
			lines = append(lines, root+"\x00"+p+"\x00"+h)
		}
	}
	return sumLines(lines)
}

// contentSum is the checksum of the tree's contents as a multiset, wherever they are: moves
// keep it; a lost or duplicated file changes it.
func (s treeSums) contentSum() string {
	var lines []string
	for _, files := range s {
		for _, h := range files {
			lines = append(lines, h)
		}
	}
	return sumLines(lines)
}

func (s treeSums) files() int {
	n := 0
	for _, files := range s {
		n += len(files)
	}
	return n
}

func sumLines(lines []string) string {
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l+"\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// clone copies the sums.
func (s treeSums) clone() treeSums {
	out := treeSums{}
	for root, files := range s {
		out[root] = map[string]string{}
		for p, h := range files {
			out[root][p] = h
		}
	}
	return out
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// chaosEvent is a line of the drill's report.
type chaosEvent struct {
	At   time.Duration
	What string
}

// fleet is the worker processes of the drill. tick, called by every wait loop of the test
// (so that everything runs on the test's goroutine), kills a random worker when one is due.
type fleet struct {
	t         *testing.T
	s         *testenv.Stack
	env       []string
	workers   []*testenv.Process
	start     time.Time
	events    []chaosEvent
	kills     int
	rng       *mrand.Rand
	nextKill  time.Time
	windowEnd time.Time
	jobs      *chaosJobs
}

func (f *fleet) note(format string, args ...any) {
	f.events = append(f.events, chaosEvent{time.Since(f.start).Round(10 * time.Millisecond), fmt.Sprintf(format, args...)})
}

// beginKills starts the kill window.
func (f *fleet) beginKills() {
	f.windowEnd = time.Now().Add(chaosKillWindow)
	f.scheduleKill()
}

func (f *fleet) scheduleKill() {
	f.nextKill = time.Now().Add(chaosKillMin + time.Duration(f.rng.Int64N(int64(chaosKillMax-chaosKillMin))))
}

// tick kills a worker if one is due in the kill window.
func (f *fleet) tick() {
	now := time.Now()
	switch {
	case f.windowEnd.IsZero() || now.Before(f.nextKill):
	case now.After(f.windowEnd):
		f.note("kill window closed")
		f.windowEnd = time.Time{}
	default:
		_, done, states := f.jobs.states()
		f.kill(f.rng.IntN(chaosWorkers), fmt.Sprintf("(jobs %s; plan items done %d)", states, done))
		f.scheduleKill()
	}
}

// kill SIGKILLs worker i and starts another in its place, as an orchestrator would.
func (f *fleet) kill(i int, why string) {
	w := f.workers[i]
	pid := w.Cmd.Process.Pid
	require.NoError(f.t, w.Cmd.Process.Signal(syscall.SIGKILL))
	w.Cmd.Wait()
	f.workers[i] = f.s.StartWorker(f.t, f.env...)
	f.kills++
	f.note("SIGKILL worker %d (pid %d) %s; started pid %d", i+1, pid, why, f.workers[i].Cmd.Process.Pid)
}

// chaosJobs follows the drill's jobs.
type chaosJobs struct {
	s     *testenv.Stack
	ids   []string
	plans []string
}

// states returns every job's state and the number of plan items done. Requests that fail
// (Redis is down) count as not done.
func (c *chaosJobs) states() (terminal bool, done int64, summary string) {
	terminal = true
	var parts []string
	for _, id := range c.ids {
		st := "?"
		if j, ok := tryJob(c.s, id); ok {
			st = string(j.Status)
			if !j.Status.Terminal() {
				st += fmt.Sprintf(" %d/%d", j.Progress.UnitsDone, j.Progress.UnitsTotal)
			}
			terminal = terminal && j.Status.Terminal()
		} else {
			terminal = false
		}
		parts = append(parts, st)
	}
	for _, id := range c.plans {
		if p, ok := tryPlan(c.s, id); ok {
			done += p.Counts["trash/done"] + p.Counts["move/done"]
		}
	}
	return terminal, done, strings.Join(parts, ",")
}

// tryJob gets a job, or false when the API cannot answer now.
func tryJob(s *testenv.Stack, id string) (filefleet.Job, bool) {
	var j filefleet.Job
	return j, tryGet(s, "/api/v1/jobs/"+id, &j)
}

func tryPlan(s *testenv.Stack, id string) (organizePlan, bool) {
	var p organizePlan
	return p, tryGet(s, "/api/v1/organize/plans/"+id, &p)
}

func tryGet(s *testenv.Stack, path string, v any) bool {
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	s.Header(req)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&env) != nil {
		return false
	}
	return json.Unmarshal(env.Data, v) == nil
}

// waitChaosJob waits for a job to end, through API failures, killing workers on the way.
func waitChaosJob(t *testing.T, f *fleet, id string, timeout time.Duration) filefleet.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if j, ok := tryJob(f.s, id); ok && j.Status.Terminal() {
			return j
		}
		require.True(t, time.Now().Before(deadline), "job %s did not end in %s", id, timeout)
		f.tick()
		time.Sleep(100 * time.Millisecond)
	}
}

func TestChaosDrill(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	groups := 3000
	if n := atoi(os.Getenv("FILEFLEET_CHAOS_GROUPS")); n > 0 {
		groups = n
	}
	rdb := testenv.NewDurableRedis(t)
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true, RedisURL: rdb.URL()})
	d := newDedupeRoots(t, s)
	tree, dupGroups := newChaosTree(seed, groups)
	began := time.Now()
	require.NoError(t, tree.write(context.Background(), d))
	before := sumTrees(t, d, "s3", "nas")
	var bytes int64
	for _, files := range tree {
		for _, data := range files {
			bytes += int64(len(data))
		}
	}
	t.Logf("wrote and summed %d files (%d MB) in %s", before.files(), bytes>>20, time.Since(began).Round(time.Second))

	f := &fleet{t: t, s: s, env: []string{"FILEFLEET_WORKER_CONCURRENCY=4"}, start: time.Now()}
	rep := &chaosReport{seed: seed, files: before.files(), bytes: bytes, groups: dupGroups, fleet: f}
	defer rep.write(t)
	for range chaosWorkers {
		f.workers = append(f.workers, s.StartWorker(t, f.env...))
	}
	waitReady(t, f.workers...)
	s.StartScheduler(t)
	jobs := &chaosJobs{s: s}
	f.jobs, f.rng = jobs, mrand.New(mrand.NewPCG(seed, 7))
	f.beginKills() // from the first scan until the jobs end or the window closes

	// Scans: one dedupe over both dup/ directories, three organize scans (two within a root,
	// one from Samba into MinIO).
	r := s.Do(t, http.MethodPost, "/api/v1/dedupe/scan", map[string]any{"paths": []string{"s3/dup", "nas/dup"}})
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var dedupeScan filefleet.Job
	r.Decode(t, &dedupeScan)
	f.note("dedupe scan %s submitted", dedupeScan.ID)
	var organizeScans []string
	for _, body := range []map[string]any{
		{"root": "s3", "path": "inbox", "methodology": "by_type", "target_path": "sorted"},
		{"root": "nas", "path": "inbox", "methodology": "by_extension", "target_path": "sorted"},
		{"root": "nas", "path": "outbox", "methodology": "by_type", "target_root": "s3", "target_path": "from-nas"},
	} {
		r := s.Do(t, http.MethodPost, "/api/v1/organize/scan", body)
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
		var scan filefleet.Job
		r.Decode(t, &scan)
		organizeScans = append(organizeScans, scan.ID)
		f.note("organize scan %s submitted (%s/%s)", scan.ID, body["root"], body["path"])
	}
	jobs.ids = append([]string{dedupeScan.ID}, organizeScans...)

	scan := waitChaosJob(t, f, dedupeScan.ID, chaosJobDeadline)
	require.Equal(t, filefleet.JobStateSucceeded, scan.Status, scan.Error)
	f.note("dedupe scan succeeded")
	r = s.Do(t, http.MethodPost, "/api/v1/dedupe/preview", map[string]any{"job_id": scan.ID, "keep": "shortest_path"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var preview dedupeResponse
	r.Decode(t, &preview)
	require.Equal(t, dupGroups, preview.Summary.Groups, "the groups found are the groups written")
	plans := []string{preview.PlanID}
	for _, id := range organizeScans {
		j := waitChaosJob(t, f, id, chaosJobDeadline)
		require.Equal(t, filefleet.JobStateSucceeded, j.Status, j.Error)
		var res organize.ScanResult
		require.NoError(t, json.Unmarshal(j.Result, &res))
		require.Equal(t, groups, res.Summary.Moves, "every inbox file has a destination")
		plans = append(plans, res.PlanID)
	}
	f.note("organize scans succeeded; plans %s", strings.Join(plans, ", "))

	var execs []string
	for i, id := range plans {
		endpoint := "/api/v1/organize/execute"
		if i == 0 {
			endpoint = "/api/v1/dedupe/execute"
		}
		r := s.Do(t, http.MethodPost, endpoint, map[string]any{"plan_id": id})
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
		var started struct {
			Job filefleet.Job `json:"job"`
		}
		r.Decode(t, &started)
		execs = append(execs, started.Job.ID)
	}
	jobs.ids, jobs.plans = execs, plans
	f.note("executes submitted: %s", strings.Join(execs, ", "))

	// Redis crashes once, when about a fifth of the plans' items are done.
	total := int64(preview.Summary.Files + 3*groups)
	deadline := time.Now().Add(chaosJobDeadline)
	for {
		terminal, done, _ := jobs.states()
		require.False(t, terminal, "the executes ended before Redis could be crashed")
		if done >= total/5 {
			f.note("crash Redis (SIGKILL) with %d of %d plan items done", done, total)
			break
		}
		require.True(t, time.Now().Before(deadline), "the executes made no progress: %d of %d items done", done, total)
		f.tick()
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, rdb.Crash())
	time.Sleep(chaosRedisDown)
	rdb.Start(t)
	f.note("Redis restarted after %s", chaosRedisDown)

	for _, id := range execs {
		j := waitChaosJob(t, f, id, chaosJobDeadline)
		require.Equal(t, filefleet.JobStateSucceeded, j.Status, "execute %s: %s", id, j.Error)
	}
	f.note("every execute succeeded")

	// The trees after are the trees before with the plans applied.
	after := sumTrees(t, d, "s3", "nas")
	want := before.clone()
	var planned int
	for i, id := range plans {
		p, ok := tryPlan(s, id)
		require.True(t, ok, "plan %s", id)
		for _, it := range p.Items {
			switch it.Action {
			case filefleet.ActionKeep:
				continue
			case filefleet.ActionTrash:
				require.Equal(t, filefleet.ItemDone, it.State, "%s/%s: %s", it.Root, it.Path, it.Message)
				require.Equal(t, path.Join(filefleet.TrashDir, execs[i], it.Path), it.TrashPath)
				want[it.Root][it.TrashPath] = want[it.Root][it.Path]
			case filefleet.ActionMove:
				require.Equal(t, filefleet.ItemDone, it.State, "%s/%s: %s", it.Root, it.Path, it.Message)
				dst := it.Root
				if it.DstRoot != nil {
					dst = *it.DstRoot
				}
				want[dst][it.DstPath] = want[it.Root][it.Path]
			default:
				t.Fatalf("unexpected action %s", it.Action)
			}
			planned++
			delete(want[it.Root], it.Path)
		}
	}
	copies := func(s treeSums) map[string]int { // content → copies in dup/, for duplicated non-empty contents
		n := map[string]int{}
		for _, files := range s {
			for p, h := range files {
				if strings.HasPrefix(p, "dup/") {
					n[h]++
				}
			}
		}
		return n
	}
	dups, kept := copies(before), copies(after)
	delete(dups, emptySHA256)

	rep.planned, rep.took = planned, time.Since(f.start)
	rep.before, rep.after, rep.wantPaths, rep.gotPaths = before.contentSum(), after.contentSum(), want.pathSum(), after.pathSum()

	require.Equal(t, before.contentSum(), after.contentSum(), "every content as often as before: nothing lost or duplicated")
	require.Equal(t, want.pathSum(), after.pathSum(), "the trees are the plans applied to the trees before")
	groupsKept := 0
	for h, n := range dups {
		if n > 1 {
			require.Equal(t, 1, kept[h], "content %s keeps exactly one copy in dup/", h[:12])
			groupsKept++
		}
	}
	require.Equal(t, dupGroups, groupsKept)
	require.GreaterOrEqual(t, f.kills, 10, "the drill killed workers")
}

// chaosReport is the drill's report.
type chaosReport struct {
	seed                               uint64
	files, groups, planned             int
	bytes                              int64
	fleet                              *fleet
	took                               time.Duration
	before, after, wantPaths, gotPaths string
}

// write logs the report and saves it in $FILEFLEET_CHAOS_REPORT_DIR when set.
func (r *chaosReport) write(t *testing.T) {
	kills, events := r.fleet.kills, r.fleet.events
	var b strings.Builder
	fmt.Fprintf(&b, "# Chaos drill %s\n\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- seed %d; %d files, %d MB on MinIO and Samba; %d duplicate groups; %d plan items executed\n",
		r.seed, r.files, r.bytes>>20, r.groups, r.planned)
	fmt.Fprintf(&b, "- %d workers (concurrency 4), a SIGKILL every %s–%s for up to %s; Redis (appendfsync always) SIGKILLed once, down %s\n",
		chaosWorkers, chaosKillMin, chaosKillMax, chaosKillWindow, chaosRedisDown)
	fmt.Fprintf(&b, "- %d kills; jobs ended %s after the first scan\n", kills, r.took.Round(time.Second))
	fmt.Fprintf(&b, "- content checksum before %s\n- content checksum after  %s\n", r.before, r.after)
	fmt.Fprintf(&b, "- tree checksum expected  %s (the trees before with the plans applied)\n- tree checksum after     %s\n", r.wantPaths, r.gotPaths)
	verdict := "PASS"
	if t.Failed() || r.before == "" || r.before != r.after || r.wantPaths != r.gotPaths {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "- verdict: %s\n\n| at | event |\n|---|---|\n", verdict)
	for _, e := range events {
		fmt.Fprintf(&b, "| %s | %s |\n", e.At, e.What)
	}
	t.Log("\n" + b.String())
	if dir := os.Getenv("FILEFLEET_CHAOS_REPORT_DIR"); dir != "" {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		name := filepath.Join(dir, "chaos-"+time.Now().UTC().Format("20060102-150405")+".md")
		require.NoError(t, os.WriteFile(name, []byte(b.String()), 0o644))
		t.Logf("report: %s", name)
	}
}
