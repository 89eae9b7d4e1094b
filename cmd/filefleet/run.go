package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/api"
	"github.com/filefleet/filefleet/internal/logctx"
	"github.com/filefleet/filefleet/internal/redisconn"
	"github.com/filefleet/filefleet/jobs"
	"github.com/filefleet/filefleet/metrics"
	"github.com/filefleet/filefleet/scheduler"
	"github.com/filefleet/filefleet/secret"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
	"github.com/filefleet/filefleet/worker"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

const usage = `filefleet — distributed file-processing jobs

Usage:
  filefleet api        serve the REST API and event streams
  filefleet worker     run tasks from the queues
  filefleet scheduler  run periodic work
  filefleet all        api + worker + scheduler in one process
  filefleet admin create [-username admin] [-role admin] [-email E]
                       create a user; the password comes from FILEFLEET_ADMIN_PASSWORD or stdin
  filefleet version    print the version
  filefleet submit|jobs|roots|dedupe|organize ...
                       client commands of the REST API (below)

Configuration comes from environment variables, overridden by flags (filefleet <cmd> -h):
  FILEFLEET_DATABASE_URL      PostgreSQL URL (default postgres://filefleet:filefleet@127.0.0.1:5432/filefleet?sslmode=disable)
  FILEFLEET_REDIS_URL         Redis URL (default redis://127.0.0.1:6379/0); in sentinel mode a Sentinel's,
                              with ?master_name=NAME[&addr=sentinel2:26379][&password=P]; in cluster
                              mode a node's, with more as &addr=host:port
  FILEFLEET_REDIS_MODE        single (default), sentinel or cluster
  FILEFLEET_SECRET_KEY        key that encrypts storage credentials and signs access tokens (required;
                              e.g. openssl rand -hex 32; changing it ends every session)
  FILEFLEET_HTTP_ADDR         API listen address (default 127.0.0.1:8080)
  FILEFLEET_WORKER_CONCURRENCY  tasks a worker runs at once (default 10)
  FILEFLEET_QUEUES            queue=weight list a worker serves (default critical=6,default=3,low=1,
                              plus convert=2 when the worker has ffmpeg; never convert without it)
  FILEFLEET_WORK_DIR          where workers keep conversions' local files (default: the temp directory)
  FILEFLEET_DOWNLOAD_MAX_BYTES  largest directory the API streams as an archive (default 10 GiB)
  FILEFLEET_SCAN_PAGE_SIZE    directory entries per scan task (default 1000)
  FILEFLEET_REQUEUE_AFTER     scheduler: a job pending, or running without finishing a task, this long has
                              its tasks queued again, in case Redis lost them (default 1m)
  FILEFLEET_JOB_RETENTION     scheduler: finished jobs this old are deleted with their units and events,
                              except those a dedupe or organize plan refers to (default 720h; 0 keeps all)
  FILEFLEET_LOG_LEVEL         debug, info, warn or error (default info)
  FILEFLEET_LOG_FORMAT        text or json (default text)
  FILEFLEET_ADMIN_PASSWORD    with no users yet, the API creates the first admin with it
  FILEFLEET_ADMIN_USERNAME    that admin's name (default admin)
  FILEFLEET_RATE_LIMIT_API, FILEFLEET_RATE_LIMIT_SUBMIT, FILEFLEET_RATE_LIMIT_AUTH
                              requests a minute per key or user (auth: per address, and failed logins
                              per username); defaults 3000, 600, 10; 0 is off
  FILEFLEET_TRUSTED_PROXIES   comma list of reverse proxies (IPs or CIDRs) whose X-Forwarded-For names
                              the client (default: none, the peer address is the client)
  FILEFLEET_LOCAL_ROOT_DIRS   comma list of directories local roots must lie in (default: any directory)
  FILEFLEET_CORS_ORIGINS      comma list of origins browsers may call the API from ("*": any)
  FILEFLEET_ADMIN_TOKEN       also opens the asynq dashboard at /monitoring/ (bearer token, or as the
                              basic-auth password); default none
  FILEFLEET_METRICS_ADDR      worker and scheduler: serve Prometheus metrics here (the API serves /metrics)
  FILEFLEET_PPROF_ADDR        serve Go's pprof on this address (keep it on loopback)
` + cliUsage

// JobRetentionDefault is how long finished jobs are kept: 30 days.
const JobRetentionDefault = 30 * 24 * time.Hour

// config is every setting of the binary.
type config struct {
	DatabaseURL, RedisURL, RedisMode, SecretKey, HTTPAddr, Queues, LogLevel, LogFormat string
	Concurrency, ScanPageSize                                                          int
	RequeueAfter, JobRetention                                                         time.Duration
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// databaseURL is FILEFLEET_DATABASE_URL or the local default.
func databaseURL() string {
	return env("FILEFLEET_DATABASE_URL", "postgres://filefleet:filefleet@127.0.0.1:5432/filefleet?sslmode=disable")
}

// envDuration is duration variable name, or def when it is unset, not a duration or not
// positive.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d > 0 {
		return d
	}
	return def
}

// envDurationOff is envDuration for a setting that 0 turns off: 0 is taken as given.
func envDurationOff(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil && d == 0 {
		return 0
	}
	return envDuration(name, def)
}

// Main runs the command in args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if moved, ok := commandFirst(args); ok {
		args = moved
	}
	cmd := args[0]
	if cmd == "admin" && len(args) > 1 && args[1] == "create" {
		return adminCreate(ctx, args[2:], os.Stdin, stdout, stderr)
	}
	if cmd == "version" {
		fmt.Fprintln(stdout, "filefleet", Version)
		return 0
	}
	if cliGroups[cmd] {
		return runCLI(ctx, args, stdout, stderr)
	}
	if strings.HasPrefix(cmd, "-") {
		fmt.Fprintf(stderr, "filefleet: %s before the command: only --api-url, --api-key-file, --api-key and --output "+
			"may come before a client command; give other flags after it (filefleet <command> -h lists them)\n", cmd)
		return 2
	}
	if cmd != "api" && cmd != "worker" && cmd != "scheduler" && cmd != "all" {
		fmt.Fprintf(stderr, "filefleet: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	// URLs may hold passwords: their defaults come from the environment after parsing, so
	// that -h and flag errors never print them.
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "PostgreSQL URL (default: FILEFLEET_DATABASE_URL)")
	fs.StringVar(&cfg.RedisURL, "redis-url", "", "Redis URL (default: FILEFLEET_REDIS_URL)")
	fs.StringVar(&cfg.RedisMode, "redis-mode", env("FILEFLEET_REDIS_MODE", redisconn.ModeSingle), "single, sentinel or cluster")
	fs.StringVar(&cfg.HTTPAddr, "addr", env("FILEFLEET_HTTP_ADDR", api.AddrDefault), "API listen address")
	fs.StringVar(&cfg.Queues, "queues", env("FILEFLEET_QUEUES", ""), "queue=weight,... a worker serves")
	fs.IntVar(&cfg.Concurrency, "concurrency", envInt("FILEFLEET_WORKER_CONCURRENCY", worker.ConcurrencyDefault), "tasks at once per worker")
	fs.DurationVar(&cfg.RequeueAfter, "requeue-after", envDuration("FILEFLEET_REQUEUE_AFTER", scheduler.PendingAfterDefault),
		"scheduler: queue again the tasks of jobs pending, or running without progress, this long")
	fs.DurationVar(&cfg.JobRetention, "job-retention", envDurationOff("FILEFLEET_JOB_RETENTION", JobRetentionDefault),
		"scheduler: delete finished jobs this old (0: keep them)")
	fs.IntVar(&cfg.ScanPageSize, "scan-page-size", envInt("FILEFLEET_SCAN_PAGE_SIZE", worker.ScanPageSizeDefault), "entries per scan task")
	fs.StringVar(&cfg.LogLevel, "log-level", env("FILEFLEET_LOG_LEVEL", "info"), "debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", env("FILEFLEET_LOG_FORMAT", "text"), "text or json")
	cfg.SecretKey = os.Getenv("FILEFLEET_SECRET_KEY") // not a flag: flags show in process lists
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg.DatabaseURL = cmp.Or(cfg.DatabaseURL, databaseURL())
	cfg.RedisURL = cmp.Or(cfg.RedisURL, env("FILEFLEET_REDIS_URL", "redis://127.0.0.1:6379/0"))
	if err := checkPlaceholders(); err != nil {
		fmt.Fprintf(stderr, "filefleet %s: %s\n", cmd, err)
		return 2
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if addr := os.Getenv("FILEFLEET_METRICS_ADDR"); addr != "" && cmd != "api" && cmd != "all" {
		// Processes without the API serve their own metrics (the API serves /metrics).
		go func() {
			log.Warn("metrics listener", "err", http.ListenAndServe(addr, metrics.Handler(nil, nil)))
		}()
	}
	if addr := os.Getenv("FILEFLEET_PPROF_ADDR"); addr != "" {
		// Profiling for operators, on its own listener (keep it on loopback).
		go func() { log.Warn("pprof listener", "err", http.ListenAndServe(addr, nil)) }()
	}
	if err := run(ctx, cmd, cfg, log, stdout); err != nil {
		log.Error("filefleet "+cmd+" failed", "err", err)
		fmt.Fprintf(stderr, "filefleet %s: %s\n", cmd, filefleet.ErrorMessage(err))
		return 1
	}
	return 0
}

// placeholderSettings may hold deployments/k8s/secret.example.yaml's CHANGE-ME values.
var placeholderSettings = []string{"FILEFLEET_SECRET_KEY", "FILEFLEET_ADMIN_PASSWORD", "FILEFLEET_ADMIN_TOKEN",
	"FILEFLEET_DATABASE_URL", "FILEFLEET_REDIS_URL"}

// checkPlaceholders refuses to start with a secret still set to the example's placeholder:
// anyone who read the example could forge access tokens or log in.
func checkPlaceholders() error {
	for _, name := range placeholderSettings {
		if strings.Contains(os.Getenv(name), "CHANGE-ME") {
			return fmt.Errorf("%s still holds the example's placeholder (CHANGE-ME): set a value of your own "+
				"(a key or token: openssl rand -hex 32)", name)
		}
	}
	return nil
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(logctx.Handler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(logctx.Handler(slog.NewTextHandler(w, opts)))
}

// rateLimits reads FILEFLEET_RATE_LIMIT_<GROUP>: requests a minute.
func rateLimits() map[string]int {
	limits := map[string]int{}
	for _, g := range []string{api.LimitAPI, api.LimitSubmit, api.LimitAuth} {
		if n, err := strconv.Atoi(os.Getenv("FILEFLEET_RATE_LIMIT_" + strings.ToUpper(g))); err == nil {
			limits[g] = n
		}
	}
	return limits
}

// listEnv reads a comma-separated list from environment variable name.
func listEnv(name string) []string {
	var out []string
	for _, o := range strings.Split(os.Getenv(name), ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// service is a part of the process that starts and stops.
type service interface {
	Start(context.Context) error
	Stop(context.Context) error
}

// run starts the services of cmd, waits for ctx to end, then stops them in reverse order.
func run(ctx context.Context, cmd string, cfg config, log *slog.Logger, stdout io.Writer) error {
	box, err := secret.NewBox(cfg.SecretKey)
	if err != nil {
		return err
	}
	queues, err := parseQueues(cfg.Queues)
	if err != nil {
		return err
	}
	ropt, err := redisconn.Parse(cfg.RedisMode, cfg.RedisURL)
	if err != nil {
		return filefleet.WrapError(filefleet.EINVALID, err, "bad FILEFLEET_REDIS_URL or FILEFLEET_REDIS_MODE")
	}
	ropt.Tune(2*time.Second, 5*time.Second, cfg.Concurrency+20)
	rdb := ropt.NewClient()
	defer rdb.Close()
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()

	js := newJobService(db, rdb, box, log)
	var services []service
	var a *api.API
	if cmd == "api" || cmd == "all" {
		if err := bootstrapAdmin(ctx, db, log); err != nil {
			return err
		}
		a = api.New(db, rdb, js, box, log, api.Config{Addr: cfg.HTTPAddr, Redis: ropt, AdminToken: os.Getenv("FILEFLEET_ADMIN_TOKEN"),
			RateLimits: rateLimits(), CORSOrigins: listEnv("FILEFLEET_CORS_ORIGINS"), LocalDirs: listEnv("FILEFLEET_LOCAL_ROOT_DIRS"),
			TrustedProxies:   listEnv("FILEFLEET_TRUSTED_PROXIES"),
			DownloadMaxBytes: int64(envInt("FILEFLEET_DOWNLOAD_MAX_BYTES", api.DownloadMaxBytesDefault))})
		services = append(services, a)
	}
	if cmd == "worker" || cmd == "all" {
		services = append(services, worker.New(db, rdb, box, log, worker.Config{Concurrency: cfg.Concurrency,
			Queues: queues, ScanPageSize: cfg.ScanPageSize, WorkDir: os.Getenv("FILEFLEET_WORK_DIR")}))
	}
	if cmd == "scheduler" || cmd == "all" {
		services = append(services, scheduler.New(db, js, log, scheduler.Config{PendingAfter: cfg.RequeueAfter,
			JobRetention: cfg.JobRetention}))
	}
	started := 0
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := started - 1; i >= 0; i-- {
			if err := services[i].Stop(stopCtx); err != nil {
				log.Warn("stop", "err", err)
			}
		}
	}()
	for _, s := range services {
		if err := s.Start(ctx); err != nil {
			return err
		}
		started++
	}
	if a != nil {
		fmt.Fprintf(stdout, "filefleet %s ready: API http://%s/api/v1  health http://%s/health\n", cmd, a.Addr(), a.Addr())
	} else {
		fmt.Fprintf(stdout, "filefleet %s ready\n", cmd)
	}
	<-ctx.Done()
	log.Info("shutting down", "cmd", cmd)
	return nil
}

func newJobService(db *sqlx.DB, rdb redis.UniversalClient, box *secret.Box, log *slog.Logger) *jobs.Service {
	return &jobs.Service{DB: db, Redis: rdb, Queue: asynq.NewClientFromRedisClient(rdb),
		Inspector: asynq.NewInspectorFromRedisClient(rdb), Box: box, Log: log}
}

// parseQueues reads "critical=6,default=3"; "" means tasks.QueuesDefault.
func parseQueues(s string) (map[string]int, error) {
	if s == "" {
		return nil, nil
	}
	m := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		name, w, found := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(w)
		if !found || err != nil || n < 1 || name == "" {
			return nil, filefleet.Errorf(filefleet.EINVALID, "queues: %q is not queue=weight (e.g. %s=3)", part, tasks.QueueDefault)
		}
		m[name] = n
	}
	if len(m) == 0 {
		return nil, errors.New("queues: empty")
	}
	return m, nil
}
