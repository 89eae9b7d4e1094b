// Package testenv gives tests their own PostgreSQL database, Redis DB index, MinIO bucket and a
// running filefleet stack, on the real servers that `make services` starts.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/api"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/internal/logctx"
	"github.com/filefleet/filefleet/internal/redisconn"
	"github.com/filefleet/filefleet/jobs"
	"github.com/filefleet/filefleet/secret"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/worker"
)

// SecretKey is the server secret tests use.
const SecretKey = "filefleet-test-secret-key-0123456789"

const servicesHint = "; start the test servers with `make services`"

// Env returns the environment variable name or def.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// DatabaseURL is the URL of the PostgreSQL database tests derive theirs from.
func DatabaseURL() string {
	return Env("FILEFLEET_DATABASE_URL", "postgres://filefleet:filefleet@127.0.0.1:5432/filefleet?sslmode=disable")
}

// RandomName returns prefix followed by 8 random hex digits.
func RandomName(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// DB creates a fresh, migrated database for the test and drops it afterwards. It returns the
// handle and the database's URL (for processes the test starts).
func DB(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	ctx := context.Background()
	admin, err := sqlx.Open("postgres", DatabaseURL())
	require.NoError(t, err)
	defer admin.Close()
	name := RandomName("fftest_")
	_, err = admin.ExecContext(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err, "create test database"+servicesHint)
	u, err := url.Parse(DatabaseURL())
	require.NoError(t, err)
	u.Path = "/" + name
	db, err := store.Open(ctx, u.String())
	require.NoError(t, err)
	t.Cleanup(func() {
		db.Close()
		a, err := sqlx.Open("postgres", DatabaseURL())
		if err == nil {
			a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			a.Close()
		}
	})
	return db, u.String()
}

// RedisURL returns the URL of the Redis server tests use (DB index 0 is never used by tests).
func redisBase() *redis.Options {
	o, err := redis.ParseURL(Env("FILEFLEET_REDIS_URL", "redis://127.0.0.1:6379/0"))
	if err != nil {
		panic(err)
	}
	return o
}

// Redis claims a free Redis DB index (1-15) for the test, flushes it, and releases and flushes
// it afterwards. It returns a client and the DB's URL.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	ctx := context.Background()
	base := redisBase()
	lock := redis.NewClient(base)
	t.Cleanup(func() { lock.Close() })
	owner := RandomName("owner-")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for i := 1; i <= 15; i++ {
			key := fmt.Sprintf("filefleet:test:db:%d", i)
			got, err := lock.SetNX(ctx, key, owner, 30*time.Minute).Result()
			require.NoError(t, err, "redis"+servicesHint)
			if !got {
				continue
			}
			o := *base
			o.DB = i
			rdb := redis.NewClient(&o)
			require.NoError(t, rdb.FlushDB(ctx).Err())
			t.Cleanup(func() {
				rdb.FlushDB(context.Background())
				rdb.Close()
				if v, _ := lock.Get(context.Background(), key).Result(); v == owner {
					lock.Del(context.Background(), key)
				}
			})
			return rdb, fmt.Sprintf("redis://%s/%d", o.Addr, i)
		}
		if time.Now().After(deadline) {
			t.Fatal("no free Redis DB index for the test")
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// S3Config is where the test MinIO server is.
type S3Config struct{ Endpoint, AccessKey, SecretKey string }

// S3 returns the test MinIO settings and a client.
func S3(t testing.TB) (S3Config, *minio.Client) {
	t.Helper()
	cfg := S3Config{
		Endpoint:  Env("FILEFLEET_TEST_S3_ENDPOINT", "127.0.0.1:9000"),
		AccessKey: Env("FILEFLEET_TEST_S3_ACCESS_KEY", "filefleet"),
		SecretKey: Env("FILEFLEET_TEST_S3_SECRET_KEY", "filefleet-secret"),
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")})
	require.NoError(t, err)
	return cfg, c
}

// Bucket creates a bucket for the test and empties and removes it afterwards.
func Bucket(t testing.TB, c *minio.Client) string {
	t.Helper()
	ctx := context.Background()
	name := RandomName("fftest-")
	require.NoError(t, c.MakeBucket(ctx, name, minio.MakeBucketOptions{}), "make bucket"+servicesHint)
	t.Cleanup(func() {
		objs := c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true})
		for e := range c.RemoveObjects(ctx, name, objs, minio.RemoveObjectsOptions{}) {
			t.Logf("remove %s: %v", e.ObjectName, e.Err)
		}
		c.RemoveBucket(ctx, name)
	})
	return name
}

// Stack is a filefleet API (and optionally a worker) running in the test process.
type Stack struct {
	URL      string // http://host:port
	DB       *sqlx.DB
	DBURL    string
	Redis    *redis.Client
	RedisURL string
	Box      *secret.Box
	API      *api.API
	Worker   *worker.Worker
	Jobs     *jobs.Service
	AdminKey string // an API key of an admin user, which Do sends
}

// AdminToken is the admin token of test stacks (it opens /monitoring).
const AdminToken = "test-admin-token"

// StackOpts configures NewStack.
type StackOpts struct {
	NoWorker     bool           // run only the API (workers are started as processes by the test)
	ScanPageSize int            // entries per scan task
	RateLimits   map[string]int // api.Config.RateLimits
	Log          io.Writer      // also receives the API's and worker's logs, at debug level
	CORSOrigins  []string       // api.Config.CORSOrigins
	DBURL        string         // use this database instead of a new one
	RedisURL     string         // use this Redis instead of a claimed DB index
	// DownloadMaxBytes is api.Config.DownloadMaxBytes.
	DownloadMaxBytes   int64
	LocalDirs          []string      // api.Config.LocalDirs
	StreamRecheck      time.Duration // api.Config.StreamRecheck
	StreamWriteTimeout time.Duration // api.Config.StreamWriteTimeout
	RootRecheck        time.Duration // worker.Config.RootRecheck
}

// NewStack starts an API on a free port and, unless NoWorker, a worker, on their own database
// and Redis DB index. Everything stops when the test ends.
func NewStack(t testing.TB, o StackOpts) *Stack {
	t.Helper()
	ctx := context.Background()
	s := &Stack{}
	if o.DBURL == "" {
		s.DB, s.DBURL = DB(t)
	} else {
		var err error
		s.DB, err = store.Open(ctx, o.DBURL)
		require.NoError(t, err)
		s.DBURL = o.DBURL
		t.Cleanup(func() { s.DB.Close() })
	}
	if o.RedisURL == "" {
		s.Redis, s.RedisURL = Redis(t)
	} else {
		ro, err := redis.ParseURL(o.RedisURL)
		require.NoError(t, err)
		ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = time.Second, 2*time.Second, 2*time.Second
		ro.MaxRetries = 1
		s.Redis, s.RedisURL = redis.NewClient(ro), o.RedisURL
		t.Cleanup(func() { s.Redis.Close() })
	}
	var err error
	s.Box, err = secret.NewBox(SecretKey)
	require.NoError(t, err)
	log := Logger(t)
	if o.Log != nil {
		log = slog.New(logctx.Handler(slog.NewJSONHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	}
	s.Jobs = &jobs.Service{DB: s.DB, Redis: s.Redis, Queue: asynq.NewClientFromRedisClient(s.Redis),
		Inspector: asynq.NewInspectorFromRedisClient(s.Redis), Box: s.Box, Log: log}
	dashboardRedis, err := redisconn.Parse(redisconn.ModeSingle, s.RedisURL)
	require.NoError(t, err)
	s.API = api.New(s.DB, s.Redis, s.Jobs, s.Box, log, api.Config{Addr: "127.0.0.1:0", KeepAlive: time.Second,
		Redis: dashboardRedis, AdminToken: AdminToken, RateLimits: o.RateLimits, CORSOrigins: o.CORSOrigins, DownloadMaxBytes: o.DownloadMaxBytes,
		LocalDirs: o.LocalDirs, StreamRecheck: o.StreamRecheck, StreamWriteTimeout: o.StreamWriteTimeout})
	require.NoError(t, s.API.Start(ctx))
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.API.Stop(c)
	})
	s.URL = "http://" + s.API.Addr()
	s.AdminKey = s.NewUser(t, "admin", auth.RoleAdmin)
	if !o.NoWorker {
		s.Worker = worker.New(s.DB, s.Redis, s.Box, log, worker.Config{ScanPageSize: o.ScanPageSize,
			ShutdownTimeout: 2 * time.Second, RootRecheck: o.RootRecheck})
		require.NoError(t, s.Worker.Start(ctx))
		t.Cleanup(func() { s.Worker.Stop(context.Background()) })
	}
	return s
}

// Logger returns a logger writing to the test log at warn level and above.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Response is a decoded API envelope.
type Response struct {
	Status  int
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Meta    map[string]any  `json:"meta"`
	Error   *api.ErrorBody  `json:"error"`
	Raw     []byte
	Header  http.Header
}

// NewUser creates a user with role (password unknown) and returns an API key of theirs.
func (s *Stack) NewUser(t testing.TB, username, role string) string {
	t.Helper()
	ctx := context.Background()
	hash, err := auth.HashPassword(RandomName("password-"))
	require.NoError(t, err)
	u, err := store.CreateUser(ctx, s.DB, username, "", hash, role)
	require.NoError(t, err)
	id, secret, key := auth.NewKey()
	require.NoError(t, store.CreateKey(ctx, s.DB, &store.APIKey{ID: id, UserID: u.ID, Name: "test", SecretHash: auth.HashSecret(secret)}))
	return key
}

// Header sets the admin's credentials on a request.
func (s *Stack) Header(req *http.Request) { req.Header.Set("X-API-Key", s.AdminKey) }

// Do sends a request as the admin with an optional JSON body (a string is sent as is) and
// decodes the envelope; it fails the test if the response is not one.
func (s *Stack) Do(t testing.TB, method, path string, body any) Response {
	t.Helper()
	return s.DoAs(t, s.AdminKey, method, path, body)
}

// DoAs is Do with credentials cred: an API key, an access token, or "" for none.
func (s *Stack) DoAs(t testing.TB, cred, method, path string, body any) Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(t, err)
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(cred, auth.KeyPrefix):
		req.Header.Set("X-API-Key", cred)
	case cred != "":
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	out := Response{Status: resp.StatusCode, Raw: raw}
	require.NoError(t, json.Unmarshal(raw, &out), "response is not JSON: %s", raw)
	out.Status, out.Raw, out.Header = resp.StatusCode, raw, resp.Header
	return out
}

// Decode unmarshals the envelope's data into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Data, v), "data: %s", r.Data)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds cmd/filefleet once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "filefleet-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "filefleet")
		_, file, _, _ := runtime.Caller(0)
		rootDir := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/filefleet")
		cmd.Dir = rootDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return buildPath
}

// Process is a filefleet process started by a test.
type Process struct {
	Cmd *exec.Cmd
	mu  sync.Mutex
	out bytes.Buffer
}

// Output returns what the process wrote so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// StartWorker starts `filefleet worker` against the stack's database and Redis, with extra
// environment variables; it is killed when the test ends.
func (s *Stack) StartWorker(t testing.TB, extraEnv ...string) *Process {
	t.Helper()
	return s.start(t, "worker", extraEnv)
}

// StartScheduler starts `filefleet scheduler` against the stack's database and Redis; it is
// killed when the test ends.
func (s *Stack) StartScheduler(t testing.TB, extraEnv ...string) *Process {
	t.Helper()
	return s.start(t, "scheduler", extraEnv)
}

// StartAPI starts `filefleet api` against the stack's database and Redis on a free port, with
// extra environment variables, and returns it with its base URL once it answers /health.
func (s *Stack) StartAPI(t testing.TB, extraEnv ...string) (*Process, string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	p := s.start(t, "api", append([]string{"FILEFLEET_HTTP_ADDR=" + addr}, extraEnv...))
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			return p, url
		}
		require.True(t, time.Now().Before(deadline), "api process did not start: %s", p.Output())
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Stack) start(t testing.TB, cmd string, extraEnv []string) *Process {
	p := &Process{}
	p.Cmd = exec.Command(Binary(t), cmd)
	p.Cmd.Env = append(os.Environ(), "FILEFLEET_DATABASE_URL="+s.DBURL, "FILEFLEET_REDIS_URL="+s.RedisURL,
		"FILEFLEET_SECRET_KEY="+SecretKey)
	p.Cmd.Env = append(p.Cmd.Env, extraEnv...)
	p.Cmd.Stdout, p.Cmd.Stderr = p, p
	require.NoError(t, p.Cmd.Start())
	t.Cleanup(func() {
		if p.Cmd.ProcessState == nil {
			p.Cmd.Process.Kill()
			p.Cmd.Wait()
		}
	})
	return p
}
