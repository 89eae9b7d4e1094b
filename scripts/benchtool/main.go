// Command benchtool is the helper of scripts/bench.sh: it fills the scan bucket, drives the
// filefleet API for the scan and job-throughput benchmarks, and runs the bare-asynq baseline.
//
//	benchtool fill     -endpoint 127.0.0.1:9000 -access-key K -secret-key S -bucket ffbench-scan
//	benchtool freeport
//	benchtool filltree -dir /tmp/tree -top 10 -sub 10 -per 500
//	benchtool ffscan   -api http://127.0.0.1:PORT/api/v1 -root NAME -endpoint ... -bucket ... -expect 100000
//	benchtool ffscan   -api ... -root NAME -spec '{"kind":"local","path":"/tmp/tree"}' -expect 50000
//	benchtool ffjobs   -api http://127.0.0.1:PORT/api/v1 -n 10000 -batch 1000
//	benchtool asynq    -redis redis://127.0.0.1:6379/10 -n 10000 -concurrency 10
//
// Timed subcommands print one line "key=value ..." on stdout; everything else goes to stderr.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtool fill|filltree|freeport|ffscan|ffjobs|asynq|gentree|fillfromdir|ffdedupe|ffhash|fforganize|ffarchive [flags]")
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{"fill": fill, "filltree": filltree, "freeport": freeport, "ffscan": ffscan,
		"ffjobs": ffjobs, "asynq": bareAsynq, "gentree": gentree, "fillfromdir": fillfromdir, "ffdedupe": ffdedupe,
		"ffhash": ffhash, "fforganize": fforganize, "ffarchive": ffarchive}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "benchtool: unknown subcommand %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// s3Flags are the flags that say where the bucket is.
type s3Flags struct{ endpoint, accessKey, secretKey, bucket *string }

func newS3Flags(fs *flag.FlagSet) s3Flags {
	return s3Flags{
		endpoint:  fs.String("endpoint", "127.0.0.1:9000", "MinIO host:port"),
		accessKey: fs.String("access-key", "filefleet", "access key"),
		secretKey: fs.String("secret-key", "filefleet-secret", "secret key"),
		bucket:    fs.String("bucket", "ffbench-scan", "bucket"),
	}
}

// bucketClient returns a client for conc requests at once, and makes the bucket if it is
// missing.
func (s3 s3Flags) bucketClient(ctx context.Context, conc int) (*minio.Client, error) {
	tr, err := minio.DefaultTransport(false)
	if err != nil {
		return nil, err
	}
	tr.MaxIdleConnsPerHost = conc * 2
	mc, err := minio.New(*s3.endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(*s3.accessKey, *s3.secretKey, ""), Transport: tr})
	if err != nil {
		return nil, err
	}
	exists, err := mc.BucketExists(ctx, *s3.bucket)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", *s3.bucket, err)
	}
	if !exists {
		if err := mc.MakeBucket(ctx, *s3.bucket, minio.MakeBucketOptions{}); err != nil {
			return nil, fmt.Errorf("make bucket %s: %w", *s3.bucket, err)
		}
	}
	return mc, nil
}

// fill makes sure the bucket holds exactly the benchmark's objects: top×sub directories
// (nested two deep) of per objects each. Objects already there are not uploaded again.
func fill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	s3 := newS3Flags(fs)
	top := fs.Int("top", 10, "top-level directories")
	sub := fs.Int("sub", 10, "subdirectories in each top-level directory")
	per := fs.Int("per", 1000, "objects in each subdirectory")
	conc := fs.Int("concurrency", 32, "uploads at once")
	fs.Parse(args)

	ctx := context.Background()
	mc, err := s3.bucketClient(ctx, *conc)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, key := range treeKeys(*top, *sub, *per) {
		want[key] = true
	}
	have, extra := 0, 0
	for obj := range mc.ListObjects(ctx, *s3.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list %s: %w", *s3.bucket, obj.Err)
		}
		if want[obj.Key] {
			delete(want, obj.Key)
			have++
		} else {
			extra++
		}
	}
	if extra > 0 {
		return fmt.Errorf("bucket %s holds %d objects that are not the benchmark's; empty it or pick another bucket", *s3.bucket, extra)
	}
	if len(want) == 0 {
		fmt.Fprintf(os.Stderr, "bench: bucket %s already holds its %d objects\n", *s3.bucket, have)
		return nil
	}
	fmt.Fprintf(os.Stderr, "bench: uploading %d objects to %s (%d there already), %d at once...\n",
		len(want), *s3.bucket, have, *conc)
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(*conc)
	var done atomic.Int64
	for key := range want {
		g.Go(func() error {
			body := []byte("filefleet bench object " + key + "\n")
			_, err := mc.PutObject(gctx, *s3.bucket, key, bytes.NewReader(body), int64(len(body)),
				minio.PutObjectOptions{ContentType: "text/plain"})
			if err != nil {
				return fmt.Errorf("put %s: %w", key, err)
			}
			if n := done.Add(1); n%10000 == 0 {
				fmt.Fprintf(os.Stderr, "bench:   %d uploaded (%.0f/s)\n", n, float64(n)/time.Since(start).Seconds())
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: uploaded %d objects in %.1fs\n", done.Load(), time.Since(start).Seconds())
	return nil
}

// treeKeys returns the paths of the benchmark tree: top×sub directories (nested two deep) of
// per files each.
func treeKeys(top, sub, per int) []string {
	keys := make([]string, 0, top*sub*per)
	for t := 0; t < top; t++ {
		for s := 0; s < sub; s++ {
			for f := 0; f < per; f++ {
				keys = append(keys, fmt.Sprintf("t%02d/s%02d/f%05d.txt", t, s, f))
			}
		}
	}
	return keys
}

// filltree writes the benchmark tree under a local directory (created, or checked to hold
// nothing else); files already there are kept. Files are world-readable so that a Samba
// user can read a tree written into its share.
func filltree(args []string) error {
	fs := flag.NewFlagSet("filltree", flag.ExitOnError)
	dir := fs.String("dir", "", "directory to fill")
	top := fs.Int("top", 10, "top-level directories")
	sub := fs.Int("sub", 10, "subdirectories in each top-level directory")
	per := fs.Int("per", 500, "files in each subdirectory")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("-dir is required")
	}
	keys := treeKeys(*top, *sub, *per)
	var have int
	err := filepath.WalkDir(*dir, func(path string, d iofs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		have++
		return nil
	})
	if err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	if have > len(keys) {
		return fmt.Errorf("%s holds %d files, more than the benchmark's %d; empty it or pick another directory", *dir, have, len(keys))
	}
	if have == len(keys) {
		fmt.Fprintf(os.Stderr, "bench: %s already holds its %d files\n", *dir, have)
		return nil
	}
	start := time.Now()
	for _, key := range keys {
		path := filepath.Join(*dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte("filefleet bench file "+key+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %d files under %s in %.1fs\n", len(keys), *dir, time.Since(start).Seconds())
	return nil
}

// freeport prints a TCP port on 127.0.0.1 that was free a moment ago.
func freeport([]string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

// client calls the filefleet API.
type client struct {
	base string
	http *http.Client
}

// envelope is the API's response wrapper.
type envelope struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Meta    json.RawMessage `json:"meta"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func newClient(base string) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 8
	return &client{base: strings.TrimRight(base, "/"), http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// do sends a request and decodes the envelope; a non-2xx status is an error.
func (c *client) do(ctx context.Context, method, path string, body any) (*envelope, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key := os.Getenv("FILEFLEET_API_KEY"); key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%s %s: %d %.200s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode/100 != 2 || !env.Success {
		if env.Error != nil {
			return nil, fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, env.Error.Code, env.Error.Message)
		}
		return nil, fmt.Errorf("%s %s: %d %.200s", method, path, resp.StatusCode, raw)
	}
	return &env, nil
}

// job is the part of a job the benchmarks read.
type job struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	Error      string          `json:"error"`
	Result     json.RawMessage `json:"result"`
	StartedAt  *time.Time      `json:"started_at"`
	FinishedAt *time.Time      `json:"finished_at"`
	CreatedAt  time.Time       `json:"created_at"`
}

// runJob submits a job (POST path with body; the answer is the job, or holds it as "job") and
// polls it until it succeeds; it returns the job as last seen and the time from submit to that
// poll.
func runJob(ctx context.Context, c *client, path string, body any, poll time.Duration) (job, time.Duration, error) {
	start := time.Now()
	env, err := c.do(ctx, "POST", path, body)
	if err != nil {
		return job{}, 0, err
	}
	var j job
	if err := json.Unmarshal(env.Data, &j); err != nil {
		return j, 0, fmt.Errorf("POST %s: %w", path, err)
	}
	if j.ID == "" { // plan endpoints answer {"plan_id": ..., "job": {...}}
		var started struct {
			Job job `json:"job"`
		}
		if err := json.Unmarshal(env.Data, &started); err == nil {
			j = started.Job
		}
	}
	if j.ID == "" {
		return j, 0, fmt.Errorf("POST %s: no job id in %.200s", path, env.Data)
	}
	for {
		if env, err = c.do(ctx, "GET", "/jobs/"+j.ID, nil); err != nil {
			return j, 0, err
		}
		if err := json.Unmarshal(env.Data, &j); err != nil {
			return j, 0, err
		}
		switch j.Status {
		case "succeeded":
			return j, time.Since(start), nil
		case "failed", "canceled":
			return j, 0, fmt.Errorf("job %s %s: %s", j.ID, j.Status, j.Error)
		}
		select {
		case <-ctx.Done():
			return j, 0, fmt.Errorf("job %s still %s: %w", j.ID, j.Status, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// serverSeconds is started_at → finished_at of a finished job, 0 if it lacks either.
func serverSeconds(j job) float64 {
	if j.StartedAt == nil || j.FinishedAt == nil {
		return 0
	}
	return j.FinishedAt.Sub(*j.StartedAt).Seconds()
}

// ffscan creates a root (an s3 root on the bucket, or the -spec JSON), submits a scan of it
// and polls the job until it succeeds. It prints the time from submit to the poll that saw it succeeded.
func ffscan(args []string) error {
	fs := flag.NewFlagSet("ffscan", flag.ExitOnError)
	s3 := newS3Flags(fs)
	api := fs.String("api", "", "API base URL (http://host:port/api/v1)")
	root := fs.String("root", "bench-scan", "name of the root to create")
	spec := fs.String("spec", "", "root body as JSON (kind and its fields) instead of the s3 flags")
	expect := fs.Int64("expect", 100000, "files the scan must find")
	poll := fs.Duration("poll", 20*time.Millisecond, "poll interval")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after")
	fs.Parse(args)

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := newClient(*api)
	body := map[string]any{"kind": "s3", "endpoint": *s3.endpoint, "bucket": *s3.bucket,
		"access_key": *s3.accessKey, "secret_key": *s3.secretKey}
	if *spec != "" {
		body = map[string]any{}
		if err := json.Unmarshal([]byte(*spec), &body); err != nil {
			return fmt.Errorf("-spec: %w", err)
		}
	}
	body["name"] = *root
	if _, err := c.do(ctx, "POST", "/roots", body); err != nil {
		return err
	}
	j, elapsed, err := runJob(ctx, c, "/jobs", map[string]any{"type": "scan", "root": *root}, *poll)
	if err != nil {
		return err
	}
	var res struct {
		Files int64 `json:"files"`
		Bytes int64 `json:"bytes"`
	}
	if err := json.Unmarshal(j.Result, &res); err != nil {
		return fmt.Errorf("scan job %s result %s: %w", j.ID, j.Result, err)
	}
	if res.Files != *expect {
		return fmt.Errorf("scan job %s found %d files, want %d", j.ID, res.Files, *expect)
	}
	fmt.Printf("seconds=%.3f files=%d server_seconds=%.3f job=%s\n", elapsed.Seconds(), res.Files, serverSeconds(j), j.ID)
	return nil
}

// ffjobs submits n noop jobs in batches and polls the count of succeeded noop jobs until all
// of them have succeeded. Jobs that succeeded before are subtracted.
func ffjobs(args []string) error {
	fs := flag.NewFlagSet("ffjobs", flag.ExitOnError)
	api := fs.String("api", "", "API base URL (http://host:port/api/v1)")
	n := fs.Int("n", 10000, "jobs")
	batch := fs.Int("batch", 1000, "jobs per POST /jobs/batch")
	poll := fs.Duration("poll", 100*time.Millisecond, "poll interval")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after")
	fs.Parse(args)

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := newClient(*api)
	count := func() (int64, error) {
		env, err := c.do(ctx, "GET", "/jobs?type=noop&status=succeeded&limit=1", nil)
		if err != nil {
			return 0, err
		}
		var meta struct {
			Total int64 `json:"total"`
		}
		err = json.Unmarshal(env.Meta, &meta)
		return meta.Total, err
	}
	before, err := count()
	if err != nil {
		return err
	}
	start := time.Now()
	var submitted time.Duration
	// Batches go out one after another from one goroutine, as a client would send them; the
	// poller runs beside them so the clock stops as soon as the last job is done.
	errc := make(chan error, 1)
	go func() {
		for sent := 0; sent < *n; sent += *batch {
			k := min(*batch, *n-sent)
			body := map[string]any{"jobs": make([]map[string]string, k)}
			for i := range k {
				body["jobs"].([]map[string]string)[i] = map[string]string{"type": "noop"}
			}
			if _, err := c.do(ctx, "POST", "/jobs/batch", body); err != nil {
				errc <- err
				return
			}
		}
		submitted = time.Since(start)
		errc <- nil
	}()
	var done int64
	submitDone := false
	for {
		select {
		case err := <-errc:
			if err != nil {
				return err
			}
			submitDone = true
		case <-ctx.Done():
			return fmt.Errorf("%d of %d jobs succeeded after %s", done, *n, *timeout)
		case <-time.After(*poll):
		}
		total, err := count()
		if err != nil {
			return err
		}
		if done = total - before; done >= int64(*n) && submitDone {
			break
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("seconds=%.3f jobs=%d jobs_per_s=%.1f submit_seconds=%.3f\n", elapsed.Seconds(), done,
		float64(done)/elapsed.Seconds(), submitted.Seconds())
	return nil
}

// bareAsynq enqueues n no-op tasks (32 enqueues at once, as filefleet's batch submit does)
// and runs them with an asynq.Server of the given concurrency and TaskCheckInterval; the clock
// runs from the first enqueue until the handler has run n times.
func bareAsynq(args []string) error {
	fs := flag.NewFlagSet("asynq", flag.ExitOnError)
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/10", "Redis URL (its own DB index)")
	n := fs.Int("n", 10000, "tasks")
	conc := fs.Int("concurrency", 10, "asynq.Config.Concurrency")
	interval := fs.Duration("interval", 100*time.Millisecond, "asynq.Config.TaskCheckInterval")
	enqConc := fs.Int("enqueue-concurrency", 32, "enqueues at once")
	queues := fs.String("queues", "default=1", "queue=weight,... the server serves; tasks go to default")
	ffOpts := fs.Bool("filefleet-task-options", false, "give tasks filefleet's options (task ID, 2 h retention, max retry 10)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after")
	fs.Parse(args)

	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		return err
	}
	opt.PoolSize = max(opt.PoolSize, *conc+*enqConc+20)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		return err
	}

	qmap := map[string]int{}
	for _, part := range strings.Split(*queues, ",") {
		var w int
		name, ws, _ := strings.Cut(part, "=")
		if _, err := fmt.Sscan(ws, &w); err != nil || name == "" || w < 1 {
			return fmt.Errorf("-queues: %q is not queue=weight", part)
		}
		qmap[name] = w
	}

	var handled atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:       *conc,
		TaskCheckInterval: *interval,
		Queues:            qmap,
		LogLevel:          asynq.WarnLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("bench:noop", func(context.Context, *asynq.Task) error {
		if handled.Add(1) == int64(*n) {
			once.Do(func() { close(all) })
		}
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return err
	}
	defer srv.Shutdown()
	cl := asynq.NewClientFromRedisClient(rdb)

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(*enqConc)
	for i := range *n {
		g.Go(func() error {
			var opts []asynq.Option
			if *ffOpts {
				opts = []asynq.Option{asynq.TaskID(fmt.Sprintf("bench-%d-%d", start.UnixNano(), i)),
					asynq.Retention(2 * time.Hour), asynq.MaxRetry(10)}
			}
			_, err := cl.EnqueueContext(gctx, asynq.NewTask("bench:noop", []byte(fmt.Sprintf(`{"i":%d}`, i)), opts...))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	submitted := time.Since(start)
	select {
	case <-all:
	case <-ctx.Done():
		return errors.New("timed out: " + fmt.Sprint(handled.Load(), " of ", *n, " tasks handled"))
	}
	elapsed := time.Since(start)
	fmt.Printf("seconds=%.3f jobs=%d jobs_per_s=%.1f submit_seconds=%.3f\n", elapsed.Seconds(), handled.Load(),
		float64(*n)/elapsed.Seconds(), submitted.Seconds())
	return nil
}
