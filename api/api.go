// Package api serves filefleet's REST API, SSE event streams and health checks with gin.
package api

import (
	"cmp"
	"context"
	"errors"
	"github.com/hibiken/asynqmon"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
	"github.com/r3labs/sse/v2"
	"github.com/redis/go-redis/v9"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/events"
	"github.com/filefleet/filefleet/jobs"
	"github.com/filefleet/filefleet/metrics"
	"github.com/filefleet/filefleet/secret"
	"github.com/filefleet/filefleet/store"
)

// Defaults of Config.
const (
	AddrDefault           = "127.0.0.1:8080"
	RequestTimeoutDefault = 30 * time.Second
	KeepAliveDefault      = 15 * time.Second
)

// Config configures the API server.
type Config struct {
	Addr           string        // listen address; defaults to AddrDefault
	RequestTimeout time.Duration // per request, except streams; defaults to RequestTimeoutDefault
	KeepAlive      time.Duration // SSE comment interval; defaults to KeepAliveDefault
	AdminToken     string        // opens /monitoring; "" keeps it closed
}

// API is the HTTP server.
type API struct {
	cfg     Config
	db      *sqlx.DB
	rdb     redis.UniversalClient
	jobs    *jobs.Service
	hub     *events.Hub
	box     *secret.Box
	log     *slog.Logger
	sse     *sse.Server
	waiters sync.Map // SSE stream id → chan closed when its client subscribed
	srv     *http.Server
	ln      net.Listener
	mon     *asynqmon.HTTPHandler
}

// New returns an API; Start serves it.
func New(db *sqlx.DB, rdb redis.UniversalClient, js *jobs.Service, box *secret.Box, log *slog.Logger, cfg Config) *API {
	cfg.Addr = cmp.Or(cfg.Addr, AddrDefault)
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, RequestTimeoutDefault)
	cfg.KeepAlive = cmp.Or(cfg.KeepAlive, KeepAliveDefault)
	a := &API{cfg: cfg, db: db, rdb: rdb, jobs: js, box: box, log: log, hub: events.NewHub(rdb, log)}
	a.sse = sse.New()
	a.sse.AutoReplay = false // replay comes from PostgreSQL, see relay
	a.sse.AutoStream = false
	a.sse.OnSubscribe = func(id string, _ *sse.Subscriber) {
		if ch, found := a.waiters.LoadAndDelete(id); found {
			close(ch.(chan struct{}))
		}
	}
	a.sse.OnUnsubscribe = func(id string, _ *sse.Subscriber) { a.sse.RemoveStream(id) }
	return a
}

// Handler returns the router.
func (a *API) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(a.recovery, a.accessLog)
	r.NoRoute(func(c *gin.Context) {
		a.fail(c, filefleet.Errorf(filefleet.ENOTFOUND, "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.HandleMethodNotAllowed = true
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, Envelope{Error: &ErrorBody{Code: "METHOD_NOT_ALLOWED",
			Message: c.Request.Method + " is not allowed on " + c.Request.URL.Path}})
	})
	r.GET("/health", a.health)
	r.GET("/ready", a.ready)
	r.GET("/metrics", gin.WrapH(metrics.Handler(a.db, a.jobs.Inspector)))
	a.serveMonitoring(r)

	v1 := r.Group("/api/v1")
	timed := v1.Group("", a.timeout)
	timed.POST("/roots", a.createRoot)
	timed.GET("/roots", a.listRoots)
	timed.GET("/roots/:name", a.getRoot)
	timed.DELETE("/roots/:name", a.deleteRoot)
	timed.GET("/roots/:name/status", a.rootStatus)
	timed.GET("/roots/:name/browse", a.browseRoot)
	timed.POST("/smb/discover", a.smbDiscover)
	timed.POST("/smb/test", a.smbTest)
	timed.POST("/smb/browse", a.smbBrowse)
	timed.POST("/jobs", a.submitJob)
	timed.POST("/jobs/batch", a.submitBatch)
	timed.GET("/jobs", a.listJobs)
	timed.GET("/jobs/:id", a.getJob)
	timed.POST("/jobs/:id/cancel", a.cancelJob)
	timed.GET("/files", a.listFiles)
	timed.GET("/files/:id", a.getFile)
	timed.POST("/schedules", a.createSchedule)
	timed.GET("/schedules", a.listSchedules)
	timed.GET("/schedules/:id", a.getSchedule)
	timed.PATCH("/schedules/:id", a.patchSchedule)
	timed.DELETE("/schedules/:id", a.deleteSchedule)
	timed.POST("/dedupe/scan", a.dedupeScan)
	timed.POST("/dedupe/preview", a.dedupePreview)
	timed.POST("/dedupe/execute", a.dedupeExecute)
	timed.POST("/dedupe/undo", a.dedupeUndo)
	timed.GET("/dedupe/plans/:id", a.getPlan)
	timed.GET("/dedupe/groups", a.dedupeGroups)
	timed.POST("/organize/scan", a.organizeScan)
	timed.POST("/organize/preview", a.organizePreview)
	timed.POST("/organize/execute", a.organizeExecute)
	timed.POST("/organize/undo", a.organizeUndo)
	timed.GET("/organize/status/:job_id", a.organizeStatus)
	timed.GET("/organize/plans/:id", a.getPlan)
	timed.POST("/organize/rules", a.putRuleSet)
	timed.GET("/organize/rules", a.listRuleSets)
	timed.GET("/organize/rules/:name", a.getRuleSet)
	timed.PUT("/organize/rules/:name", a.putRuleSet)
	timed.DELETE("/organize/rules/:name", a.deleteRuleSet)
	timed.GET("/stats/duplicates", a.duplicateStats)
	timed.GET("/stats/duplicates/count", a.duplicateStats)
	timed.GET("/stats/duplicates/groups", a.duplicateGroupStats)
	v1.GET("/jobs/:id/events", a.jobEvents)
	v1.GET("/events", a.allEvents)
	v1.GET("/ws/:client_id", a.websocket)
	return r
}

// Start listens on Addr and serves until Stop.
func (a *API) Start(ctx context.Context) error {
	if err := a.hub.Start(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "cannot listen on %s", a.cfg.Addr)
	}
	a.ln = ln
	a.srv = &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()
	a.log.Info("api listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the address the server listens on (useful with port 0).
func (a *API) Addr() string { return a.ln.Addr().String() }

// Stop closes event streams, then waits for requests in flight until ctx ends.
func (a *API) Stop(ctx context.Context) error {
	a.hub.Stop() // ends every stream's relay, which ends its response
	a.sse.Close()
	if a.mon != nil {
		a.mon.Close()
	}
	if a.srv == nil {
		return nil
	}
	return a.srv.Shutdown(ctx)
}

func (a *API) timeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), a.cfg.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

func (a *API) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			a.log.Error("panic in handler", "route", c.FullPath(), "panic", r)
			a.fail(c, filefleet.Errorf(filefleet.EINTERNAL, "internal error"))
		}
	}()
	c.Next()
}

// accessLog logs each request without its query string (which may hold tokens).
func (a *API) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	took := time.Since(start)
	a.log.Debug("http", "method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(),
		"duration_ms", took.Milliseconds())
	route := c.FullPath() // the pattern, so that ids do not make new series
	if route == "" {
		route = "unmatched"
	}
	metrics.HTTPRequests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	metrics.HTTPDuration.WithLabelValues(route, c.Request.Method).Observe(took.Seconds())
}

func (a *API) health(c *gin.Context) {
	ok(c, http.StatusOK, gin.H{"status": "ok"}, nil)
}

// ready answers 200 when PostgreSQL and Redis both answer within 2 s, else 503 with which is down.
func (a *API) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]any{"postgres": "ok", "redis": "ok"}
	down := false
	if err := store.Ping(ctx, a.db); err != nil {
		checks["postgres"], down = "unavailable", true
	}
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		checks["redis"], down = "unavailable", true
	}
	if down {
		a.fail(c, filefleet.Errorf(filefleet.EUNAVAILABLE, "not ready: a dependency is unreachable").WithDetails(checks))
		return
	}
	ok(c, http.StatusOK, gin.H{"status": "ready", "checks": checks}, nil)
}
