// Package api serves filefleet's REST API, SSE event streams and health checks with gin.
package api

import (
	"cmp"
	"context"
	"errors"
	"github.com/hibiken/asynqmon"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/r3labs/sse/v2"
	"github.com/redis/go-redis/v9"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/dashboard"
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
	// StreamWriteTimeoutDefault: twice the keep-alive interval, so a live client's TCP window
	// has long reopened.
	StreamWriteTimeoutDefault = 30 * time.Second
)

// Config configures the API server.
type Config struct {
	Addr           string        // listen address; defaults to AddrDefault
	RequestTimeout time.Duration // per request, except streams; defaults to RequestTimeoutDefault
	KeepAlive      time.Duration // SSE comment interval; defaults to KeepAliveDefault
	// StreamWriteTimeout is how long one write to an SSE client may block before the stream
	// ends (a client that stopped reading); defaults to StreamWriteTimeoutDefault.
	StreamWriteTimeout time.Duration
	AdminToken         string        // opens /monitoring to whoever has it, beside admins' credentials
	AccessTTL          time.Duration // lifetime of access tokens; defaults to auth.AccessTTLDefault
	// RateLimits are requests per minute by group (LimitAuth, LimitSubmit, LimitAPI); a
	// missing group takes RateLimitsDefault, 0 or less turns its limit off.
	RateLimits map[string]int
	// CORSOrigins are the origins browsers may call the API from ("*" for any); none: CORS off.
	CORSOrigins []string
	// DownloadMaxBytes is the most a directory or archive download may hold; defaults to
	// DownloadMaxBytesDefault.
	DownloadMaxBytes int64
	// Redis lets the monitoring dashboard open Redis clients of its own (it closes them when
	// it stops); nil: no dashboard.
	Redis asynq.RedisConnOpt
	// StreamRecheck is how often open event streams (SSE, WebSocket) check their credential
	// again; defaults to StreamRecheckDefault.
	StreamRecheck time.Duration
	// LocalDirs are the directories local roots must lie in (symlinks resolved); none: any
	// directory the server can read, which lets whoever may manage roots read it all.
	LocalDirs []string
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies whose
	// X-Forwarded-For and X-Real-IP name the client; none: the client is the peer address,
	// whatever the headers say.
	TrustedProxies []string
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
	mon     *asynqmon.HTTPHandler // the full dashboard
	monRO   *asynqmon.HTTPHandler // the read-only one
	issuer  *auth.Issuer
	limiter *redis_rate.Limiter
}

// New returns an API; Start serves it.
func New(db *sqlx.DB, rdb redis.UniversalClient, js *jobs.Service, box *secret.Box, log *slog.Logger, cfg Config) *API {
	cfg.Addr = cmp.Or(cfg.Addr, AddrDefault)
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, RequestTimeoutDefault)
	cfg.KeepAlive = cmp.Or(cfg.KeepAlive, KeepAliveDefault)
	cfg.StreamWriteTimeout = cmp.Or(cfg.StreamWriteTimeout, StreamWriteTimeoutDefault)
	cfg.StreamRecheck = cmp.Or(cfg.StreamRecheck, StreamRecheckDefault)
	cfg.DownloadMaxBytes = cmp.Or(cfg.DownloadMaxBytes, DownloadMaxBytesDefault)
	limits := maps.Clone(RateLimitsDefault)
	maps.Copy(limits, cfg.RateLimits)
	cfg.RateLimits = limits
	a := &API{cfg: cfg, db: db, rdb: rdb, jobs: js, box: box, log: log, hub: events.NewHub(rdb, log),
		issuer: auth.NewIssuer(box.DeriveKey("access tokens"), cfg.AccessTTL), limiter: redis_rate.NewLimiter(rdb)}
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
	// Checked by Start; on an error gin trusts no proxy.
	_ = r.SetTrustedProxies(a.cfg.TrustedProxies)
	r.Use(requestID, a.recovery, a.accessLog)
	if m := corsMiddleware(a.cfg.CORSOrigins); m != nil {
		r.Use(m)
	}
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
	a.serveDocs(r) // /openapi.json, /docs, /redoc
	// The web UI: index.html at /, its assets under /ui/.
	ui := gin.WrapH(dashboard.Handler())
	r.GET("/", ui)
	r.GET("/ui/*file", ui)
	a.serveMonitoring(r)
	a.routes(r)
	return r
}

// routes registers the /api/v1 routes, each with the permission it needs.
func (a *API) routes(r *gin.Engine) {
	open := r.Group("/api/v1/auth", a.timeout, a.limit(LimitAuth))
	open.POST("/login", a.login)
	open.POST("/refresh", a.refresh)
	v1 := r.Group("/api/v1", a.authenticate, a.limit(LimitAPI))
	timed := v1.Group("", a.timeout)
	timed.POST("/auth/logout", a.logout)
	timed.GET("/auth/me", a.me)
	timed.POST("/keys", a.createKey)
	timed.GET("/keys", a.listKeys)
	timed.DELETE("/keys/:id", a.deleteKey)
	timed.POST("/users", a.need(auth.PermUsersManage), a.createUser)
	timed.GET("/users", a.need(auth.PermUsersManage), a.listUsers)
	timed.GET("/users/:id", a.getUser) // themselves, or anyone with users.manage
	timed.PATCH("/users/:id", a.patchUser)
	timed.DELETE("/users/:id", a.need(auth.PermUsersManage), a.deleteUser)
	timed.GET("/roles/permissions", a.need(auth.PermRolesManage), a.permissionCatalog)
	timed.POST("/roles", a.need(auth.PermRolesManage), a.putRole)
	timed.GET("/roles", a.need(auth.PermRolesManage), a.listRoles)
	timed.GET("/roles/:id", a.need(auth.PermRolesManage), a.getRole)
	timed.PUT("/roles/:id", a.need(auth.PermRolesManage), a.putRole)
	timed.DELETE("/roles/:id", a.need(auth.PermRolesManage), a.deleteRole)
	timed.POST("/roots", a.need(auth.PermRootsManage), a.createRoot)
	timed.GET("/roots", a.need(auth.PermRootsView), a.listRoots)
	timed.GET("/roots/:name", a.need(auth.PermRootsView), a.getRoot)
	timed.DELETE("/roots/:name", a.need(auth.PermRootsManage), a.deleteRoot)
	timed.GET("/roots/:name/status", a.need(auth.PermRootsView), a.rootStatus)
	timed.GET("/roots/:name/browse", a.need(auth.PermRootsView), a.browseRoot)
	timed.POST("/smb/discover", a.need(auth.PermRootsManage), a.smbDiscover)
	timed.POST("/smb/test", a.need(auth.PermRootsManage), a.smbTest)
	timed.POST("/smb/browse", a.need(auth.PermRootsManage), a.smbBrowse)
	timed.POST("/jobs", a.need(auth.PermJobsSubmit), a.limit(LimitSubmit), a.submitJob)
	timed.POST("/jobs/batch", a.need(auth.PermJobsSubmit), a.limit(LimitSubmit), a.submitBatch)
	timed.GET("/jobs", a.need(auth.PermJobsView), a.listJobs)
	timed.GET("/jobs/:id", a.need(auth.PermJobsView), a.getJob)
	timed.POST("/jobs/:id/cancel", a.need(auth.PermJobsCancel), a.cancelJob)
	timed.GET("/files", a.need(auth.PermFilesView), a.listFiles)
	timed.GET("/files/:id", a.need(auth.PermFilesView), a.getFile)
	timed.DELETE("/files/:id", a.need(auth.PermFilesDelete), a.deleteFile)
	timed.POST("/schedules", a.need(auth.PermSchedulesManage), a.createSchedule)
	timed.GET("/schedules", a.need(auth.PermSchedulesView), a.listSchedules)
	timed.GET("/schedules/:id", a.need(auth.PermSchedulesView), a.getSchedule)
	timed.PATCH("/schedules/:id", a.need(auth.PermSchedulesManage), a.patchSchedule)
	timed.DELETE("/schedules/:id", a.need(auth.PermSchedulesManage), a.deleteSchedule)
	timed.POST("/dedupe/scan", a.need(auth.PermJobsSubmit), a.limit(LimitSubmit), a.dedupeScan)
	timed.POST("/dedupe/preview", a.need(auth.PermJobsSubmit), a.dedupePreview)
	timed.POST("/dedupe/execute", a.need(auth.PermPlansExecute), a.limit(LimitSubmit), a.dedupeExecute)
	timed.POST("/dedupe/undo", a.need(auth.PermPlansExecute), a.limit(LimitSubmit), a.dedupeUndo)
	timed.GET("/dedupe/plans/:id", a.need(auth.PermJobsView), a.getPlan)
	timed.GET("/dedupe/groups", a.need(auth.PermJobsView), a.dedupeGroups)
	timed.POST("/organize/scan", a.need(auth.PermJobsSubmit), a.limit(LimitSubmit), a.organizeScan)
	timed.POST("/organize/preview", a.need(auth.PermJobsSubmit), a.organizePreview)
	timed.POST("/organize/execute", a.need(auth.PermPlansExecute), a.limit(LimitSubmit), a.organizeExecute)
	timed.POST("/organize/undo", a.need(auth.PermPlansExecute), a.limit(LimitSubmit), a.organizeUndo)
	timed.GET("/organize/status/:job_id", a.need(auth.PermJobsView), a.organizeStatus)
	timed.GET("/organize/plans/:id", a.need(auth.PermJobsView), a.getPlan)
	timed.POST("/organize/rules", a.need(auth.PermJobsSubmit), a.putRuleSet)
	timed.GET("/organize/rules", a.need(auth.PermJobsView), a.listRuleSets)
	timed.GET("/organize/rules/:name", a.need(auth.PermJobsView), a.getRuleSet)
	timed.PUT("/organize/rules/:name", a.need(auth.PermJobsSubmit), a.putRuleSet)
	timed.DELETE("/organize/rules/:name", a.need(auth.PermJobsSubmit), a.deleteRuleSet)
	timed.GET("/stats/duplicates", a.need(auth.PermFilesView), a.duplicateStats)
	timed.GET("/stats/duplicates/count", a.need(auth.PermFilesView), a.duplicateStats)
	timed.GET("/stats/duplicates/groups", a.need(auth.PermFilesView), a.duplicateGroupStats)
	timed.GET("/search", a.need(auth.PermFilesView), a.search)
	timed.GET("/stats/overall", a.need(auth.PermFilesView), a.overallStats)
	timed.GET("/stats/roots/:name", a.need(auth.PermFilesView), a.rootStats)
	timed.GET("/stats/smb/:smb_root", a.need(auth.PermFilesView), a.rootStats)
	timed.GET("/stats/filetypes", a.need(auth.PermFilesView), a.fileTypeStats)
	timed.GET("/stats/sizes", a.need(auth.PermFilesView), a.sizeStats)
	timed.GET("/stats/directories/by-size", a.need(auth.PermFilesView), a.directoryStats)
	timed.GET("/stats/growth", a.need(auth.PermFilesView), a.growthStats)
	timed.GET("/stats/scans", a.need(auth.PermJobsView), a.scanStats)
	timed.POST("/archive", a.need(auth.PermJobsSubmit), a.limit(LimitSubmit), a.submitArchive)
	timed.POST("/conversions", a.need(auth.PermJobsSubmit), a.limit(LimitSubmit), a.createConversion)
	timed.GET("/conversions", a.need(auth.PermJobsView), a.listConversions)
	timed.GET("/conversions/formats", a.need(auth.PermJobsView), a.conversionFormats)
	timed.GET("/conversions/:id", a.need(auth.PermJobsView), a.getConversion)
	timed.POST("/conversions/:id/cancel", a.need(auth.PermJobsCancel), a.cancelConversion)
	// Transfers stream for as long as they take: no request timeout.
	v1.GET("/download/file/:id", a.need(auth.PermFilesView), a.downloadFile)
	v1.GET("/download/directory/:root/*path", a.need(auth.PermFilesView), a.downloadDirectory)
	v1.POST("/download/archive", a.need(auth.PermFilesView), a.downloadArchive)
	v1.POST("/files/upload", a.need(auth.PermFilesUpload), a.uploadFile)
	v1.GET("/jobs/:id/events", a.need(auth.PermJobsView), a.jobEvents)
	v1.GET("/events", a.need(auth.PermJobsView), a.allEvents)
	v1.GET("/ws/:client_id", a.need(auth.PermJobsView), a.websocket)
}

// Routes lists the routes Handler serves.
func (a *API) Routes() gin.RoutesInfo {
	r := gin.New()
	a.routes(r)
	return r.Routes()
}

// Start listens on Addr and serves until Stop.
func (a *API) Start(ctx context.Context) error {
	if err := gin.New().SetTrustedProxies(a.cfg.TrustedProxies); err != nil {
		return filefleet.Errorf(filefleet.EINVALID, "trusted proxies: %v; give IP addresses or CIDRs", err)
	}
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
		a.monRO.Close()
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
	a.log.DebugContext(c.Request.Context(), "http", "method", c.Request.Method, "path", c.Request.URL.Path,
		"status", c.Writer.Status(), "duration_ms", took.Milliseconds())
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
