package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/client"
	"github.com/filefleet/filefleet/internal/testenv"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// localRoot writes files (path → content) under a temporary directory and adds it as root
// name.
func localRoot(t *testing.T, c *client.Client, name string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(body), 0o644))
	}
	r, err := c.Roots.Create(ctxT(t, 30*time.Second), client.RootSpec{Name: name, Kind: filefleet.RootKindLocal, Path: dir})
	require.NoError(t, err)
	require.Equal(t, name, r.Name)
	require.Equal(t, dir, r.Path)
	return dir
}

var tree = map[string]string{"a.txt": "alpha", "docs/b.md": "bravo bravo", "docs/deep/c.bin": "charlie!!"}

// TestScanWatchWaitList scans a local root, follows it with Watch to job_completed, and
// finds the tree in the catalog.
func TestScanWatchWaitList(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	c := client.New(s.URL, client.WithAPIKey(s.AdminKey))
	ctx := ctxT(t, 60*time.Second)
	localRoot(t, c, "disk", tree)

	roots, err := c.Roots.List(ctx)
	require.NoError(t, err)
	require.Len(t, roots, 1)
	require.Equal(t, filefleet.RootKindLocal, roots[0].Kind)

	job, err := c.Jobs.Submit(ctx, client.SubmitRequest{Type: filefleet.JobTypeScan, Root: "disk"})
	require.NoError(t, err)
	require.Equal(t, filefleet.JobTypeScan, job.Type)

	var evs []filefleet.Event
	err = c.Jobs.Watch(ctx, job.ID, 0, func(ev filefleet.Event) error {
		evs = append(evs, ev)
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, evs)
	for i := 1; i < len(evs); i++ {
		require.Greater(t, evs[i].ID, evs[i-1].ID, "event ids increase")
	}
	last := evs[len(evs)-1]
	require.Equal(t, filefleet.EventJobCompleted, last.Type)
	require.Equal(t, job.ID, last.JobID)

	done, err := c.Jobs.Wait(ctx, job.ID, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, filefleet.JobStateSucceeded, done.Status)
	var res filefleet.ScanResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.EqualValues(t, len(tree), res.Files)

	// Watching again from the terminal event returns at once, with nothing new.
	n := 0
	require.NoError(t, c.Jobs.Watch(ctxT(t, 10*time.Second), job.ID, last.ID, func(filefleet.Event) error { n++; return nil }))
	require.Zero(t, n)
	// fn's error stops the watch and comes back as is.
	stop := errors.New("stop")
	require.ErrorIs(t, c.Jobs.Watch(ctx, job.ID, 0, func(filefleet.Event) error { return stop }), stop)

	files, err := c.Files.List(ctx, client.ListFilesOptions{Root: "disk"})
	require.NoError(t, err)
	require.EqualValues(t, len(tree), files.Total)
	got := map[string]string{}
	for _, f := range files.Files {
		got[f.Path] = strconv.FormatInt(f.Size, 10)
	}
	want := map[string]string{}
	for p, body := range tree {
		want[p] = strconv.Itoa(len(body))
	}
	require.Equal(t, want, got)

	page, err := c.Files.List(ctx, client.ListFilesOptions{Root: "disk", Path: "docs", SortBy: "size", SortOrder: "desc", Limit: 1})
	require.NoError(t, err)
	require.EqualValues(t, 2, page.Total)
	require.Len(t, page.Files, 1)
	require.Equal(t, "docs/b.md", page.Files[0].Path)

	f, err := c.Files.Get(ctx, page.Files[0].ID)
	require.NoError(t, err)
	require.Equal(t, "b.md", f.Name)

	found, err := c.Search(ctx, client.SearchOptions{Query: "C", Extensions: []string{"bin"}, Roots: []string{"disk"}})
	require.NoError(t, err)
	require.EqualValues(t, 1, found.Total)
	require.Equal(t, "docs/deep/c.bin", found.Files[0].Path)

	jobs, err := c.Jobs.List(ctx, client.ListJobsOptions{Status: filefleet.JobStateSucceeded, Type: filefleet.JobTypeScan})
	require.NoError(t, err)
	require.EqualValues(t, 1, jobs.Total)
	require.Equal(t, job.ID, jobs.Jobs[0].ID)
}

// TestWatchResumes cuts the event stream after its first event: Watch reconnects with
// Last-Event-ID and hands every event over once.
func TestWatchResumes(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	admin := client.New(s.URL, client.WithAPIKey(s.AdminKey))
	ctx := ctxT(t, 60*time.Second)
	localRoot(t, admin, "disk", tree)
	job, err := admin.Jobs.Submit(ctx, client.SubmitRequest{Type: filefleet.JobTypeScan, Root: "disk"})
	require.NoError(t, err)
	_, err = admin.Jobs.Wait(ctx, job.ID, 100*time.Millisecond)
	require.NoError(t, err)
	var all []filefleet.Event
	require.NoError(t, admin.Jobs.Watch(ctx, job.ID, 0, func(ev filefleet.Event) error { all = append(all, ev); return nil }))
	require.GreaterOrEqual(t, len(all), 2, "a scan has progress events and job_completed")

	var mu sync.Mutex
	var lastIDs []string
	target, _ := url.Parse(s.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		mu.Lock()
		first := len(lastIDs) == 0
		lastIDs = append(lastIDs, resp.Request.Header.Get("Last-Event-ID"))
		mu.Unlock()
		if first && strings.HasSuffix(resp.Request.URL.Path, "/events") {
			resp.Body = &cutAfterEvent{r: resp.Body}
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)

	c := client.New(srv.URL, client.WithAPIKey(s.AdminKey))
	var got []filefleet.Event
	require.NoError(t, c.Jobs.Watch(ctx, job.ID, 0, func(ev filefleet.Event) error { got = append(got, ev); return nil }))
	require.Equal(t, all, got)
	require.GreaterOrEqual(t, len(lastIDs), 2)
	require.Equal(t, []string{"", strconv.FormatInt(all[0].ID, 10)}, lastIDs[:2])
}

// cutAfterEvent ends a stream after its first event (the first blank line).
type cutAfterEvent struct {
	r    io.ReadCloser
	seen []byte
	done bool
}

func (c *cutAfterEvent) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	n, err := c.r.Read(p[:1]) // a byte at a time: stop right after "\n\n"
	c.seen = append(c.seen, p[:n]...)
	if bytes.HasSuffix(c.seen, []byte("\n\n")) && bytes.Contains(c.seen, []byte("data:")) {
		c.done = true
	}
	return n, err
}

func (c *cutAfterEvent) Close() error { return c.r.Close() }

// onlyReader hides bytes.Reader's other methods, so the upload cannot learn the size.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// TestUploadDownload uploads a file and reads it back whole and in ranges.
func TestUploadDownload(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	c := client.New(s.URL, client.WithAPIKey(s.AdminKey))
	ctx := ctxT(t, 60*time.Second)
	dir := localRoot(t, c, "disk", nil)

	data := make([]byte, 300<<10)
	rand.Read(data)
	up, err := c.Files.Upload(ctx, "disk:in/", "blob.bin", onlyReader{bytes.NewReader(data)}, false)
	require.NoError(t, err)
	require.Equal(t, "in/blob.bin", up.Path)
	require.EqualValues(t, len(data), up.Size)
	require.NotZero(t, up.FileID)
	onDisk, err := os.ReadFile(filepath.Join(dir, "in", "blob.bin"))
	require.NoError(t, err)
	require.Equal(t, data, onDisk)

	var buf bytes.Buffer
	n, err := c.Files.Download(ctx, up.FileID, &buf)
	require.NoError(t, err)
	require.EqualValues(t, len(data), n)
	require.Equal(t, data, buf.Bytes())

	buf.Reset()
	n, err = c.Files.DownloadRange(ctx, up.FileID, 1000, 5000, &buf)
	require.NoError(t, err)
	require.EqualValues(t, 5000, n)
	require.Equal(t, data[1000:6000], buf.Bytes())

	buf.Reset()
	_, err = c.Files.DownloadRange(ctx, up.FileID, int64(len(data))-10, -1, &buf)
	require.NoError(t, err)
	require.Equal(t, data[len(data)-10:], buf.Bytes())

	_, err = c.Files.Upload(ctx, "disk:in/", "blob.bin", strings.NewReader("new"), false)
	require.True(t, client.IsConflict(err), "%v", err)
	up2, err := c.Files.Upload(ctx, "disk:in/blob.bin", "whatever.bin", strings.NewReader("new"), true)
	require.NoError(t, err)
	require.EqualValues(t, 3, up2.Size)
	onDisk, err = os.ReadFile(filepath.Join(dir, "in", "blob.bin"))
	require.NoError(t, err)
	require.Equal(t, "new", string(onDisk))

	_, err = c.Files.Upload(ctx, "nosuchroot:x/", "a.txt", strings.NewReader("x"), false)
	require.True(t, client.IsNotFound(err), "%v", err)

	del, err := c.Files.Delete(ctx, up2.FileID, true)
	require.NoError(t, err)
	require.Equal(t, "in/blob.bin", del.Path)
	require.NoFileExists(t, filepath.Join(dir, "in", "blob.bin"))
	_, err = c.Files.Download(ctx, up2.FileID, io.Discard)
	require.True(t, client.IsNotFound(err), "%v", err)
}

// TestErrors checks the errors of a missing job, a viewer submitting and no credentials.
func TestErrors(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	ctx := ctxT(t, 30*time.Second)
	c := client.New(s.URL+"/api/v1/", client.WithAPIKey(s.AdminKey))

	_, err := c.Jobs.Get(ctx, "00000000-0000-4000-8000-000000000000")
	var ae *client.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusNotFound, ae.Status)
	require.Equal(t, client.CodeNotFound, ae.Code)
	require.NotEmpty(t, ae.Message)
	require.NotEmpty(t, ae.RequestID)
	require.True(t, client.IsNotFound(err))
	require.False(t, client.IsConflict(err))
	require.Contains(t, err.Error(), "NOT_FOUND")

	_, err = c.Roots.Get(ctx, "nope")
	require.True(t, client.IsNotFound(err), "%v", err)
	require.True(t, client.IsNotFound(c.Jobs.Watch(ctx, "00000000-0000-4000-8000-000000000000", 0, func(filefleet.Event) error { return nil })))

	viewer := client.New(s.URL, client.WithAPIKey(s.NewUser(t, "vera", auth.RoleViewer)))
	_, err = viewer.Jobs.Submit(ctx, client.SubmitRequest{Type: filefleet.JobTypeNoop})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusForbidden, ae.Status)
	require.Equal(t, client.CodeForbidden, ae.Code)
	_, err = viewer.Jobs.List(ctx, client.ListJobsOptions{})
	require.NoError(t, err, "viewers read")

	_, err = client.New(s.URL).Auth.Me(ctx)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusUnauthorized, ae.Status)
	require.Equal(t, client.CodeUnauthorized, ae.Code)

	_, err = c.Jobs.Submit(ctx, client.SubmitRequest{Type: "bogus"})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, client.CodeInvalidRequest, ae.Code)
}

// TestRateLimit runs out of a tiny limit: a *RateLimitError with RetryAfter, and a retry
// that would outlast the context is not waited for.
func TestRateLimit(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true, RateLimits: map[string]int{"api": 3}})
	ctx := ctxT(t, 30*time.Second)
	c := client.New(s.URL, client.WithAPIKey(s.AdminKey), client.WithRetries(0))
	var err error
	for i := 0; i < 3; i++ {
		_, err = c.Roots.List(ctx)
		require.NoError(t, err, "request %d", i)
	}
	_, err = c.Roots.List(ctx)
	var rl *client.RateLimitError
	require.ErrorAs(t, err, &rl)
	require.Greater(t, rl.RetryAfter, time.Duration(0))
	require.Equal(t, http.StatusTooManyRequests, rl.Status)
	require.Equal(t, client.CodeRateLimited, rl.Code)
	require.True(t, client.IsRateLimited(err))
	var ae *client.APIError
	require.ErrorAs(t, err, &ae, "a RateLimitError is an APIError")

	retrying := client.New(s.URL, client.WithAPIKey(s.AdminKey), client.WithRetries(1))
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start := time.Now()
	_, err = retrying.Roots.List(short)
	require.ErrorAs(t, err, &rl, "the wait (%s) outlasts the context", rl.RetryAfter)
	require.Less(t, time.Since(start), 900*time.Millisecond)
}

// faultProxy forwards to the stack after failing the first fail requests (all when fail < 0)
// with status (0: the connection is dropped); it counts requests.
type faultProxy struct {
	fail, status int
	header       http.Header
	count        atomic.Int32
	next         http.Handler
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(p.count.Add(1))
	if p.fail < 0 || n <= p.fail {
		if p.status == 0 {
			panic(http.ErrAbortHandler)
		}
		for k, v := range p.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(p.status)
		w.Write([]byte(`{"success":false,"error":{"code":"SERVICE_UNAVAILABLE","message":"injected"}}`))
		return
	}
	p.next.ServeHTTP(w, r)
}

func proxied(t *testing.T, s *testenv.Stack, p *faultProxy, opts ...client.Option) *client.Client {
	target, _ := url.Parse(s.URL)
	p.next = httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return client.New(srv.URL, append([]client.Option{client.WithAPIKey(s.AdminKey)}, opts...)...)
}

// TestRetries counts requests through a proxy that fails some: GETs are retried (with
// backoff, at most WithRetries times, after Retry-After on 429), POSTs never.
func TestRetries(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	ctx := ctxT(t, 30*time.Second)

	p := &faultProxy{fail: 2, status: http.StatusServiceUnavailable}
	start := time.Now()
	_, err := proxied(t, s, p).Roots.List(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 3, p.count.Load())
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "backoff 50-100 ms, then 100-200 ms")

	p = &faultProxy{fail: -1, status: http.StatusBadGateway}
	_, err = proxied(t, s, p, client.WithRetries(1)).Jobs.List(ctx, client.ListJobsOptions{})
	var ae *client.APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusBadGateway, ae.Status)
	require.EqualValues(t, 2, p.count.Load(), "one try and one retry")

	p = &faultProxy{fail: -1, status: 0}
	_, err = proxied(t, s, p, client.WithRetries(2)).Roots.List(ctx)
	require.Error(t, err)
	require.Nil(t, client.AsAPIError(err), "a network error")
	require.EqualValues(t, 3, p.count.Load())

	p = &faultProxy{fail: 1, status: http.StatusServiceUnavailable}
	_, err = proxied(t, s, p).Jobs.Submit(ctx, client.SubmitRequest{Type: filefleet.JobTypeNoop})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusServiceUnavailable, ae.Status)
	require.EqualValues(t, 1, p.count.Load(), "a POST is never retried")

	p = &faultProxy{fail: 1, status: http.StatusTooManyRequests, header: http.Header{"Retry-After": {"1"}}}
	start = time.Now()
	_, err = proxied(t, s, p).Roots.List(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, p.count.Load())
	require.GreaterOrEqual(t, time.Since(start), time.Second, "waited Retry-After")

	p = &faultProxy{fail: -1, status: http.StatusServiceUnavailable}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = proxied(t, s, p, client.WithRetries(100)).Roots.List(short)
	require.Error(t, err)
	require.Less(t, time.Since(start), time.Second, "retries stop with the context")
}

// TestKeysAndLogin makes an API key and uses it; logs in with a password and uses the token.
func TestKeysAndLogin(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	ctx := ctxT(t, 30*time.Second)
	c := client.New(s.URL, client.WithAPIKey(s.AdminKey))

	k, err := c.Keys.Create(ctx, "laptop", 30)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(k.Key, "fo_"), k.Key)
	require.Equal(t, "laptop", k.APIKey.Name)
	require.NotNil(t, k.APIKey.ExpiresAt)

	me, err := client.New(s.URL, client.WithAPIKey(k.Key)).Auth.Me(ctx)
	require.NoError(t, err)
	require.Equal(t, k.APIKey.ID, me.KeyID)
	require.Equal(t, "admin", me.User.Username)
	require.NotEmpty(t, me.Permissions)

	keys, err := c.Keys.List(ctx)
	require.NoError(t, err)
	var ids []string
	for _, x := range keys {
		ids = append(ids, x.ID)
	}
	require.Contains(t, ids, k.APIKey.ID)

	// A scoped key reads jobs and may not manage roots.
	scoped, err := c.Keys.CreateKey(ctx, client.KeyRequest{Name: "ci", Scopes: []string{"jobs.view"}})
	require.NoError(t, err)
	require.Equal(t, []string{"jobs.view"}, scoped.APIKey.Scopes)
	sc := client.New(s.URL, client.WithAPIKey(scoped.Key))
	_, err = sc.Jobs.List(ctx, client.ListJobsOptions{})
	require.NoError(t, err)
	_, err = sc.Roots.Create(ctx, client.RootSpec{Name: "x", Kind: filefleet.RootKindLocal, Path: t.TempDir()})
	require.True(t, client.IsForbidden(err), "%v", err)

	require.NoError(t, c.Keys.Delete(ctx, k.APIKey.ID))
	_, err = client.New(s.URL, client.WithAPIKey(k.Key)).Auth.Me(ctx)
	require.Equal(t, http.StatusUnauthorized, client.AsAPIError(err).Status, "%v", err)

	r := s.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"username": "lin", "password": "correct horse battery", "role": "operator"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	lc := client.New(s.URL)
	_, err = lc.Auth.Login(ctx, "lin", "wrong password here")
	require.Equal(t, http.StatusUnauthorized, client.AsAPIError(err).Status, "%v", err)
	sess, err := lc.Auth.Login(ctx, "lin", "correct horse battery")
	require.NoError(t, err)
	require.NotEmpty(t, sess.AccessToken)
	me, err = lc.Auth.Me(ctx)
	require.NoError(t, err, "the client sends the session's token")
	require.Equal(t, "lin", me.User.Username)
	require.Empty(t, me.KeyID)
	me, err = client.New(s.URL, client.WithToken(sess.AccessToken)).Auth.Me(ctx)
	require.NoError(t, err)
	require.Equal(t, "operator", me.User.Role)
}

// TestDedupe finds the one group of two duplicate files and plans to report it.
func TestDedupe(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	ctx := ctxT(t, 60*time.Second)
	c := client.New(s.URL, client.WithAPIKey(s.AdminKey))
	localRoot(t, c, "disk", map[string]string{"a.txt": "same content", "copy/a-copy.txt": "same content",
		"other.txt": "different!!!"})

	job, err := c.Dedupe.Scan(ctx, client.DedupeScanRequest{Roots: []string{"disk"}})
	require.NoError(t, err)
	require.Equal(t, filefleet.JobTypeDedupe, job.Type)
	job, err = c.Jobs.Wait(ctx, job.ID, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	var res filefleet.DedupeResult
	require.NoError(t, json.Unmarshal(job.Result, &res))
	require.EqualValues(t, 1, res.Groups)

	groups, err := c.Dedupe.Groups(ctx, job.ID, "", 0, 0)
	require.NoError(t, err)
	require.EqualValues(t, 1, groups.Total)
	require.Len(t, groups.Groups, 1)
	require.Equal(t, 2, groups.Groups[0].FileCount)
	require.ElementsMatch(t, []string{"a.txt", "copy/a-copy.txt"},
		[]string{groups.Groups[0].Files[0].Path, groups.Groups[0].Files[1].Path})

	plan, err := c.Dedupe.Preview(ctx, client.DedupePreviewRequest{JobID: job.ID, Keep: filefleet.KeepShortestPath,
		Action: filefleet.ActionTrash})
	require.NoError(t, err)
	require.Equal(t, 1, plan.Summary.Groups)
	require.Equal(t, "a.txt", plan.Groups[0].Keep.Path)

	run, err := c.Dedupe.Execute(ctx, client.PlanRef{PlanID: plan.PlanID})
	require.NoError(t, err)
	require.Equal(t, plan.PlanID, run.PlanID)
	require.NotNil(t, run.Job)
	ex, err := c.Jobs.Wait(ctx, run.Job.ID, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, filefleet.JobStateSucceeded, ex.Status, ex.Error)
	_, err = c.Dedupe.Execute(ctx, client.PlanRef{PlanID: plan.PlanID})
	require.True(t, client.IsConflict(err), "a plan runs once: %v", err)

	detail, err := c.Dedupe.Plan(ctx, plan.PlanID)
	require.NoError(t, err)
	require.Equal(t, filefleet.PlanExecuted, detail.Plan.Status)
	require.EqualValues(t, 1, detail.Counts["trash/done"], "%v", detail.Counts)

	undo, err := c.Dedupe.Undo(ctx, client.PlanRef{PlanID: plan.PlanID})
	require.NoError(t, err)
	u, err := c.Jobs.Wait(ctx, undo.Job.ID, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, filefleet.JobStateSucceeded, u.Status, u.Error)
}

// TestOrganizeAndArchive plans an organization by extension, dry-runs and runs it, and
// archives the root.
func TestOrganizeAndArchive(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	ctx := ctxT(t, 60*time.Second)
	c := client.New(s.URL, client.WithAPIKey(s.AdminKey))
	dir := localRoot(t, c, "disk", map[string]string{"in/a.txt": "a", "in/b.md": "bb", "in/c.txt": "ccc"})

	job, err := c.Organize.Scan(ctx, client.OrganizeRequest{Root: "disk", Path: "in", Methodology: "by_extension"})
	require.NoError(t, err)
	job, err = c.Jobs.Wait(ctx, job.ID, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, filefleet.JobStateSucceeded, job.Status, job.Error)
	st, err := c.Organize.Status(ctx, job.ID)
	require.NoError(t, err)
	require.NotNil(t, st.Plan)
	require.Equal(t, filefleet.PlanAwaitingApproval, st.Plan.Status)

	dry, err := c.Organize.Execute(ctx, client.PlanRef{JobID: job.ID}, true)
	require.NoError(t, err)
	require.Nil(t, dry.Job, "a dry run starts no job")
	require.NotNil(t, dry.Plan)
	require.Len(t, dry.Items, 3)
	require.FileExists(t, filepath.Join(dir, "in", "a.txt"), "a dry run moves nothing")

	run, err := c.Organize.Execute(ctx, client.PlanRef{JobID: job.ID}, false)
	require.NoError(t, err)
	require.NotNil(t, run.Job)
	ex, err := c.Jobs.Wait(ctx, run.Job.ID, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, filefleet.JobStateSucceeded, ex.Status, ex.Error)
	require.NoFileExists(t, filepath.Join(dir, "in", "a.txt"))
	detail, err := c.Organize.Plan(ctx, st.Plan.PlanID)
	require.NoError(t, err)
	require.EqualValues(t, 3, detail.Counts["move/done"], "%v", detail.Counts)

	arch, err := c.Archive(ctx, client.ArchiveRequest{Root: "disk", Prefix: "in", Format: "tar.gz", TargetPath: "out/in.tar.gz"})
	require.NoError(t, err)
	arch, err = c.Jobs.Wait(ctx, arch.ID, 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, filefleet.JobStateSucceeded, arch.Status, arch.Error)
	var ar filefleet.ArchiveResult
	require.NoError(t, json.Unmarshal(arch.Result, &ar))
	require.Equal(t, 3, ar.Entries)
	require.FileExists(t, filepath.Join(dir, "out", "in.tar.gz"))
}

// TestCancel cancels a queued job (no worker runs it): Watch ends with job_canceled and a
// second cancel is a conflict.
func TestCancel(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	ctx := ctxT(t, 30*time.Second)
	c := client.New(s.URL, client.WithAPIKey(s.AdminKey))
	localRoot(t, c, "disk", tree)
	ids, err := c.Jobs.SubmitBatch(ctx, []client.SubmitRequest{{Type: filefleet.JobTypeScan, Root: "disk"}, {Type: filefleet.JobTypeNoop}})
	require.NoError(t, err)
	require.Len(t, ids, 2)

	job, err := c.Jobs.Cancel(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, filefleet.JobStateCanceled, job.Status)
	var evs []filefleet.Event
	require.NoError(t, c.Jobs.Watch(ctx, ids[0], 0, func(ev filefleet.Event) error { evs = append(evs, ev); return nil }))
	require.Len(t, evs, 1)
	require.Equal(t, filefleet.EventJobCanceled, evs[0].Type)

	_, err = c.Jobs.Cancel(ctx, ids[0])
	require.True(t, client.IsConflict(err), "%v", err)
	other, err := c.Jobs.Get(ctx, ids[1])
	require.NoError(t, err)
	require.Equal(t, filefleet.JobStatePending, other.Status)

	// A root with jobs can still be looked up; an unknown one cannot be deleted.
	require.True(t, client.IsNotFound(c.Roots.Delete(ctx, "nope")))
}

// streamProxy sits between a client and the API: while down it answers 503 and cuts the
// streams it carries; stall makes the stream it carries next go silent without closing;
// hold, while set, delays every request until it is closed.
type streamProxy struct {
	down, stall atomic.Bool
	hold        atomic.Pointer[chan struct{}]
	streams     atomic.Int32
}

func (p *streamProxy) start(t *testing.T, s *testenv.Stack) string {
	target, _ := url.Parse(s.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Header.Get("Content-Type") == "text/event-stream" {
			p.streams.Add(1)
			resp.Body = &proxiedStream{r: resp.Body, p: p, stall: p.stall.Swap(false), ctx: resp.Request.Context()}
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ch := p.hold.Load(); ch != nil {
			<-*ch
		}
		if p.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// proxiedStream is a stream through streamProxy.
type proxiedStream struct {
	r     io.ReadCloser
	p     *streamProxy
	stall bool
	ctx   context.Context
}

func (s *proxiedStream) Read(b []byte) (int, error) {
	if s.stall {
		<-s.ctx.Done() // silent, open, until the client gives up on it
		return 0, s.ctx.Err()
	}
	n, err := s.r.Read(b)
	if s.p.down.Load() {
		return 0, errors.New("cut")
	}
	return n, err
}

func (s *proxiedStream) Close() error { return s.r.Close() }

// watchInBackground starts c.Jobs.Watch of jobID and returns the channel of its result and
// the events it got so far.
func watchInBackground(ctx context.Context, c *client.Client, jobID string) (<-chan error, func() []filefleet.Event) {
	var mu sync.Mutex
	var got []filefleet.Event
	done := make(chan error, 1)
	go func() {
		done <- c.Jobs.Watch(ctx, jobID, 0, func(ev filefleet.Event) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, ev)
			return nil
		})
	}()
	return done, func() []filefleet.Event { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }
}

// TestWatchOutlastsAPIDowntime: an API away for a few seconds (503, streams cut) does not end
// a watch: it reconnects when the API is back and sees the job's end.
func TestWatchOutlastsAPIDowntime(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	ctx := ctxT(t, 60*time.Second)
	admin := client.New(s.URL, client.WithAPIKey(s.AdminKey))
	job, err := admin.Jobs.Submit(ctx, client.SubmitRequest{Type: filefleet.JobTypeNoop}) // pending: no worker
	require.NoError(t, err)
	p := &streamProxy{}
	done, events := watchInBackground(ctx, client.New(p.start(t, s), client.WithAPIKey(s.AdminKey)), job.ID)
	require.Eventually(t, func() bool { return p.streams.Load() == 1 }, 10*time.Second, 20*time.Millisecond)

	p.down.Store(true)
	time.Sleep(4 * time.Second) // several reconnections meet 503
	require.Empty(t, done, "the watch gave up while the API was away")
	_, err = admin.Jobs.Cancel(ctx, job.ID)
	require.NoError(t, err)
	p.down.Store(false)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("the watch did not end after the API came back")
	}
	evs := events()
	require.NotEmpty(t, evs)
	require.Equal(t, filefleet.EventJobCanceled, evs[len(evs)-1].Type)
}

// TestWatchReconnectsStalledStream: a stream that goes silent without closing (a proxy that
// stopped forwarding) is dropped after the idle time and the watch reconnects.
func TestWatchReconnectsStalledStream(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	ctx := ctxT(t, 30*time.Second)
	admin := client.New(s.URL, client.WithAPIKey(s.AdminKey))
	job, err := admin.Jobs.Submit(ctx, client.SubmitRequest{Type: filefleet.JobTypeNoop})
	require.NoError(t, err)
	p := &streamProxy{}
	p.stall.Store(true)
	c := client.New(p.start(t, s), client.WithAPIKey(s.AdminKey), client.WithStreamIdle(time.Second))
	done, events := watchInBackground(ctx, c, job.ID)
	require.Eventually(t, func() bool { return p.streams.Load() == 1 }, 10*time.Second, 20*time.Millisecond)
	_, err = admin.Jobs.Cancel(ctx, job.ID)
	require.NoError(t, err)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("the watch hung on a silent stream")
	}
	require.GreaterOrEqual(t, p.streams.Load(), int32(2), "it reconnected")
	evs := events()
	require.Equal(t, filefleet.EventJobCanceled, evs[len(evs)-1].Type)
}

// TestWatchAllResumesFromItsStart: WatchAll from now, whose first stream is lost before any
// event, resumes from where that stream started (X-Resume-After), so the events of a job
// that ran while it reconnected still come; also when no event was stored yet (0).
func TestWatchAllResumesFromItsStart(t *testing.T) {
	for _, history := range []bool{true, false} {
		t.Run(fmt.Sprint("history=", history), func(t *testing.T) { watchAllResumes(t, history) })
	}
}

func watchAllResumes(t *testing.T, history bool) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	ctx := ctxT(t, 60*time.Second)
	admin := client.New(s.URL, client.WithAPIKey(s.AdminKey))
	var old *filefleet.Job
	if history {
		var err error
		old, err = admin.Jobs.Submit(ctx, client.SubmitRequest{Type: filefleet.JobTypeNoop})
		require.NoError(t, err)
		_, err = admin.Jobs.Wait(ctx, old.ID, 50*time.Millisecond)
		require.NoError(t, err)
	}

	p := &streamProxy{}
	c := client.New(p.start(t, s), client.WithAPIKey(s.AdminKey))
	var mu sync.Mutex
	var seen []filefleet.Event
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go c.Jobs.WatchAll(wctx, 0, func(ev filefleet.Event) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, ev)
		return nil
	})
	require.Eventually(t, func() bool { return p.streams.Load() == 1 }, 10*time.Second, 20*time.Millisecond)

	hold := make(chan struct{})
	p.hold.Store(&hold)
	p.down.Store(true) // cuts the first stream; the reconnection waits on hold
	time.Sleep(1500 * time.Millisecond)
	p.down.Store(false)
	fresh, err := admin.Jobs.Submit(ctx, client.SubmitRequest{Type: filefleet.JobTypeNoop})
	require.NoError(t, err)
	_, err = admin.Jobs.Wait(ctx, fresh.ID, 50*time.Millisecond)
	require.NoError(t, err)
	p.hold.Store(nil)
	close(hold)

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(seen, func(ev filefleet.Event) bool {
			return ev.JobID == fresh.ID && ev.Type == filefleet.EventJobCompleted
		})
	}, 20*time.Second, 50*time.Millisecond, "the job that ran during the reconnection")
	if old != nil {
		mu.Lock()
		defer mu.Unlock()
		require.False(t, slices.ContainsFunc(seen, func(ev filefleet.Event) bool { return ev.JobID == old.ID }),
			"nothing from before the watch started")
	}
}
