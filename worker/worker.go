// Package worker runs filefleet's asynq task handlers: it takes tasks from Redis, does the work
// on storage roots and records results, progress and events.
package worker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/convert"
	"github.com/filefleet/filefleet/events"
	"github.com/filefleet/filefleet/internal/logctx"
	"github.com/filefleet/filefleet/metrics"
	"github.com/filefleet/filefleet/secret"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/backends"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// Defaults of Config.
const (
	ConcurrencyDefault     = 10
	ScanPageSizeDefault    = 1000
	ShutdownTimeoutDefault = 20 * time.Second
	ProgressEveryDefault   = 500 * time.Millisecond
	PollEveryDefault       = 100 * time.Millisecond
	RootRecheckDefault     = time.Minute
)

// Config configures a Worker. Zero values take the defaults.
type Config struct {
	Concurrency     int            // tasks at once; defaults to ConcurrencyDefault
	Queues          map[string]int // queue → weight; defaults to tasks.QueuesDefault
	ScanPageSize    int            // entries per scan task; defaults to ScanPageSizeDefault
	ShutdownTimeout time.Duration  // how long Stop waits for running tasks before handing them back
	ProgressEvery   time.Duration  // least time between two progress events of a job
	Name            string         // worker name in job_units; defaults to host:pid
	// PollEvery is how often an idle worker asks Redis for tasks; asynq's own default of 1 s
	// would add a second to every step of a fanned-out job.
	PollEvery time.Duration
	// WorkDir holds conversions' local work files; defaults to the system's temp directory.
	WorkDir string
	// RootRecheck is how often the worker closes the storage of roots deleted since it opened
	// them; defaults to RootRecheckDefault.
	RootRecheck time.Duration
	// Tools are the conversion programs; defaults to those found on PATH (convert.Detect).
	// A worker without ffmpeg does not serve the convert queue.
	Tools *convert.Tools
}

// Worker is an asynq server with filefleet's handlers.
type Worker struct {
	cfg   Config
	db    *sqlx.DB
	rdb   redis.UniversalClient
	box   *secret.Box
	log   *slog.Logger
	srv   *asynq.Server
	queue *asynq.Client // enqueues child tasks
	roots sync.Map      // root id → storage.Backend
	kinds sync.Map      // root id → filefleet.RootKind, for metrics
	batch chan completeReq
	stop  context.CancelFunc // ends the group committer and the converter advertisement
	tools convert.Tools
}

// New returns a worker; Start runs it.
func New(db *sqlx.DB, rdb redis.UniversalClient, box *secret.Box, log *slog.Logger, cfg Config) *Worker {
	cfg.Concurrency = cmp.Or(cfg.Concurrency, ConcurrencyDefault)
	cfg.ScanPageSize = cmp.Or(cfg.ScanPageSize, ScanPageSizeDefault)
	cfg.ShutdownTimeout = cmp.Or(cfg.ShutdownTimeout, ShutdownTimeoutDefault)
	cfg.ProgressEvery = cmp.Or(cfg.ProgressEvery, ProgressEveryDefault)
	cfg.PollEvery = cmp.Or(cfg.PollEvery, PollEveryDefault)
	cfg.RootRecheck = cmp.Or(cfg.RootRecheck, RootRecheckDefault)
	tools := convert.Detect()
	if cfg.Tools != nil {
		tools = *cfg.Tools
	}
	cfg.Queues = queuesFor(cfg.Queues, tools, log)
	// A dedupe apply task holds a connection for its content lock (store.LockContent) while
	// it journals through another: the pool must have room for every task to do both.
	if n := 2*cfg.Concurrency + 8; n > store.MaxOpenConnsDefault {
		db.SetMaxOpenConns(n)
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	w := &Worker{cfg: cfg, db: db, rdb: rdb, box: box, log: log.With("worker", cfg.Name),
		queue: asynq.NewClientFromRedisClient(rdb), batch: make(chan completeReq), tools: tools}
	w.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:       cfg.Concurrency,
		TaskCheckInterval: cfg.PollEvery,
		Queues:            cfg.Queues,
		ShutdownTimeout:   cfg.ShutdownTimeout,
		RetryDelayFunc:    retryDelay,
		ErrorHandler:      asynq.ErrorHandlerFunc(w.handleError),
		Logger:            asynqLogger{w.log},
		LogLevel:          asynq.WarnLevel,
	})
	return w
}

// queuesFor returns the queues a worker serves: the configured ones (default
// tasks.QueuesDefault) plus the convert queue when the worker has ffmpeg, never without it.
func queuesFor(configured map[string]int, tools convert.Tools, log *slog.Logger) map[string]int {
	queues := maps.Clone(configured)
	if len(queues) == 0 {
		queues = maps.Clone(tasks.QueuesDefault)
		if tools.Can(convert.KindVideo) {
			queues[tasks.QueueConvert] = tasks.QueueConvertWeight
		}
	}
	if _, ok := queues[tasks.QueueConvert]; ok && !tools.Can(convert.KindVideo) {
		log.Warn("not serving the convert queue: this worker has no ffmpeg/ffprobe (apt-get install ffmpeg)")
		delete(queues, tasks.QueueConvert)
	}
	return queues
}

// measure counts tasks and their durations by type and outcome, and gives the task's context
// its job_id and task_id, which every line logged with it carries.
func (w *Worker) measure(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		taskID, _ := asynq.GetTaskID(ctx)
		h, _ := tasks.ParseHeader(t.Payload())
		ctx = logctx.With(ctx, slog.String("job_id", h.JobID), slog.String("task_id", taskID))
		err := next.ProcessTask(ctx, t)
		outcome := "succeeded"
		if err != nil {
			outcome = "failed"
		}
		metrics.Tasks.WithLabelValues(t.Type(), outcome).Inc()
		metrics.TaskDuration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
		w.log.DebugContext(ctx, "task "+outcome, "type", t.Type(), "duration_ms", time.Since(start).Milliseconds())
		return err
	})
}

// retryDelay backs off exponentially from 1 s to at most 30 s.
func retryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	return time.Duration(math.Min(30, math.Pow(2, float64(n)))) * time.Second
}

// Name is the worker's name as recorded on the units it completes.
func (w *Worker) Name() string { return w.cfg.Name }

// Start starts taking tasks.
func (w *Worker) Start(ctx context.Context) error {
	mux := asynq.NewServeMux()
	mux.Use(w.measure)
	mux.HandleFunc(tasks.TypeScanDir, w.handleScanDir)
	mux.HandleFunc(tasks.TypeNoop, w.handleNoop)
	mux.HandleFunc(tasks.TypeStage, w.handleStage)
	mux.HandleFunc(tasks.TypeHashFiles, w.handleHashFiles)
	mux.HandleFunc(tasks.TypePlanApply, w.handlePlanApply)
	mux.HandleFunc(tasks.TypeExifFiles, w.handleExifFiles)
	mux.HandleFunc(tasks.TypeArchive, w.handleArchive)
	mux.HandleFunc(tasks.TypeConvert, w.handleConvert)
	gctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w.stop = stop
	go w.groupCommit(gctx)
	go w.closeDeletedRoots(gctx)
	if _, ok := w.cfg.Queues[tasks.QueueConvert]; ok {
		go w.advertise(gctx)
	}
	if err := w.srv.Start(mux); err != nil {
		stop()
		return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "cannot start worker (is Redis reachable?)")
	}
	w.log.Info("worker started", "concurrency", w.cfg.Concurrency, "queues", w.cfg.Queues)
	return nil
}

// Stop stops taking tasks, waits up to ShutdownTimeout for running ones and hands the rest
// back to Redis.
func (w *Worker) Stop(ctx context.Context) error {
	w.srv.Shutdown()
	if w.stop != nil {
		w.stop()
	}
	w.roots.Range(func(k, v any) bool {
		v.(storage.Backend).Close()
		return true
	})
	w.log.Info("worker stopped")
	return nil
}

// OpenRoots returns the ids of the roots whose storage the worker holds open.
func (w *Worker) OpenRoots() []int64 {
	var ids []int64
	w.roots.Range(func(k, _ any) bool {
		ids = append(ids, k.(int64))
		return true
	})
	slices.Sort(ids)
	return ids
}

// closeDeletedRoots closes, every Config.RootRecheck, the storage of the roots deleted since
// the worker opened them: their connections (SMB sessions, S3 clients) would otherwise stay
// open as long as the worker runs.
func (w *Worker) closeDeletedRoots(ctx context.Context) {
	tick := time.NewTicker(w.cfg.RootRecheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ids := w.OpenRoots()
		if len(ids) == 0 {
			continue
		}
		gone, err := store.MissingRootIDs(ctx, w.db, ids)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("cannot check for deleted roots", "err", err)
			}
			continue
		}
		for _, id := range gone {
			if b, ok := w.roots.LoadAndDelete(id); ok {
				b.(storage.Backend).Close()
				w.kinds.Delete(id)
				w.log.Info("closed the storage of a deleted root", "root_id", id)
			}
		}
	}
}

// backend returns the storage of root id, opened once per worker.
func (w *Worker) backend(ctx context.Context, id int64) (storage.Backend, error) {
	if b, ok := w.roots.Load(id); ok {
		return b.(storage.Backend), nil
	}
	root, err := store.GetRootByID(ctx, w.db, w.box, id)
	if err != nil {
		return nil, err
	}
	b, err := backends.Open(*root)
	if err != nil {
		return nil, err
	}
	w.kinds.Store(id, root.Kind)
	if prev, loaded := w.roots.LoadOrStore(id, b); loaded {
		b.Close()
		return prev.(storage.Backend), nil
	}
	return b, nil
}

// begin decodes a task's payload into p and loads its job. ok is
// false when the task has nothing to do: its job is finished, or an earlier attempt completed
// its unit (then the job's open units are queued again, in case that attempt died before
// queueing what came after it).
func (w *Worker) begin(ctx context.Context, t *asynq.Task, p interface{ Head() tasks.Header }) (job *filefleet.Job, ok bool, err error) {
	if err := json.Unmarshal(t.Payload(), p); err != nil {
		return nil, false, fmt.Errorf("bad payload: %v: %w", err, asynq.SkipRetry)
	}
	h := p.Head()
	if job, ok, err = w.activeJob(ctx, h); err != nil || !ok {
		return nil, false, err
	}
	done, err := store.UnitDone(ctx, w.db, h.JobID, h.Unit)
	if err != nil || done {
		if done {
			err = w.resume(ctx, h.JobID)
		}
		return nil, false, err
	}
	return job, true, nil
}

// activeJob loads the job of a task; ok is false when the task has nothing left to do (the
// job is gone or finished, or the unit was done by an earlier attempt).
func (w *Worker) activeJob(ctx context.Context, h tasks.Header) (job *filefleet.Job, ok bool, err error) {
	job, err = store.GetJob(ctx, w.db, h.JobID)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		return nil, false, fmt.Errorf("job %s does not exist: %w", h.JobID, asynq.SkipRetry)
	} else if err != nil {
		return nil, false, err
	}
	if job.Status.Terminal() {
		return job, false, nil
	}
	if job.Status == filefleet.JobStatePending {
		if err := store.StartJob(ctx, w.db, job.ID); err != nil {
			return nil, false, err
		}
		job.Status = filefleet.JobStateRunning
	}
	return job, true, nil
}

// lastFunc runs in the transaction that completes a job's last open unit: it returns the
// job's result, or adds the units of its next stage to c.enqueue (then the job goes on). It
// may add events to c.events.
type lastFunc func(tx *sqlx.Tx, p filefleet.Progress, c *completion) (result any, err error)

// completion is what a finished unit leaves to do once its transaction has committed.
type completion struct {
	events  []filefleet.Event
	enqueue []store.UnitTask
	jobID   string
	done    bool // this call completed the unit (false: an earlier attempt had)
}

// errUnitDone rolls back a transaction whose unit an earlier attempt completed.
var errUnitDone = errors.New("unit done already")

// finishUnit records a unit's completion inside tx and, when it was the job's last, calls
// onLast: the job finishes with its result or goes on with the next stage's units.
func (w *Worker) finishUnit(ctx context.Context, tx *sqlx.Tx, h tasks.Header, files, bytes int64, onLast lastFunc) (completion, error) {
	c := completion{jobID: h.JobID}
	res, err := store.CompleteUnit(ctx, tx, h.JobID, h.Unit, w.cfg.Name, files, bytes)
	c.done = res.Completed
	if err != nil || !res.Completed || res.Status.Terminal() {
		return c, err
	}
	ev := filefleet.Event{JobID: h.JobID, Type: filefleet.EventJobProgress, Status: filefleet.JobStateRunning,
		Stage: tasks.StageOf(h.Unit), Progress: res.Progress, Percent: res.Progress.Percent()}
	if res.Last {
		var result any
		if onLast != nil {
			if result, err = onLast(tx, res.Progress, &c); err != nil {
				return c, err
			}
		}
		if len(c.enqueue) > 0 {
			if err := store.AddUnitTasks(ctx, tx, h.JobID, c.enqueue); err != nil {
				return c, err
			}
		} else {
			if _, err := store.FinishJob(ctx, tx, h.JobID, filefleet.JobStateSucceeded, result, ""); err != nil {
				return c, err
			}
			ev.Type, ev.Status, ev.Percent = filefleet.EventJobCompleted, filefleet.JobStateSucceeded, 100
			ev.Data, _ = json.Marshal(result)
		}
	} else if !w.progressDue(ctx, h.JobID) {
		return c, nil
	}
	if err := store.AddEvent(ctx, tx, &ev); err != nil {
		return c, err
	}
	c.events = append(c.events, ev)
	return c, nil
}

// after queues the tasks and publishes the events of a committed completion. A task queued
// before is left alone (same task ID).
func (w *Worker) after(ctx context.Context, c completion) error {
	if err := w.enqueue(ctx, c.jobID, c.enqueue); err != nil {
		return err
	}
	w.publish(ctx, c.events)
	return nil
}

// enqueue queues the tasks of units of job jobID in the queue of the running task.
func (w *Worker) enqueue(ctx context.Context, jobID string, units []store.UnitTask) error {
	for _, u := range units {
		if _, err := w.queue.EnqueueContext(ctx, tasks.UnitTaskOf(jobID, u, queueOf(ctx))); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
	}
	return nil
}

// resume queues again the open units of a job: a task whose unit is done already may have
// died between committing its completion and queueing what came after it.
func (w *Worker) resume(ctx context.Context, jobID string) error {
	units, err := store.OpenUnitTasks(ctx, w.db, jobID)
	if err != nil {
		return err
	}
	return w.enqueue(ctx, jobID, units)
}

// unitTask builds the unit of a task payload.
func unitTask(typ string, h tasks.Header, payload any) (store.UnitTask, error) {
	b, err := json.Marshal(payload)
	return store.UnitTask{Unit: h.Unit, Type: typ, Payload: b}, err
}

// progressDue reports whether the job's last progress event is ProgressEvery old, across all
// workers (a Redis key with a TTL).
func (w *Worker) progressDue(ctx context.Context, jobID string) bool {
	ok, err := w.rdb.SetNX(ctx, "filefleet:progress:"+jobID, w.cfg.Name, w.cfg.ProgressEvery).Result()
	return err == nil && ok
}

func (w *Worker) publish(ctx context.Context, evs []filefleet.Event) {
	for _, ev := range evs {
		if err := events.Publish(ctx, w.rdb, ev); err != nil {
			w.log.Warn("publish event", "job_id", ev.JobID, "type", ev.Type, "err", err)
		}
	}
}

// handleError runs after every failed attempt: it reports the error in the job's events and
// fails the job once the task will not be retried.
func (w *Worker) handleError(ctx context.Context, task *asynq.Task, err error) {
	h, perr := tasks.ParseHeader(task.Payload())
	if perr != nil || h.JobID == "" {
		w.log.Error("task failed", "type", task.Type(), "err", err)
		return
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	taskID, _ := asynq.GetTaskID(ctx)
	final := retried >= maxRetry || errors.Is(err, asynq.SkipRetry)
	log := w.log.With("job_id", h.JobID, "task_id", taskID, "attempt", retried+1)
	msg := filefleet.ErrorMessage(err)
	if filefleet.ErrorCode(err) == filefleet.EINTERNAL {
		msg = err.Error()
	}
	ctx = context.WithoutCancel(ctx)
	ev := filefleet.Event{JobID: h.JobID, Type: filefleet.EventError, Status: filefleet.JobStateRunning,
		Message: fmt.Sprintf("%s failed (attempt %d of %d): %s; retrying", task.Type(), retried+1, maxRetry+1, msg)}
	if final {
		log.Error("task failed for good; failing its job", "err", err)
		ev.Type, ev.Status = filefleet.EventJobFailed, filefleet.JobStateFailed
		ev.Message = fmt.Sprintf("%s failed: %s", task.Type(), msg)
	} else {
		log.Warn("task failed; will retry", "err", err)
	}
	recorded := false // not when the job had ended already (canceled while the task ran)
	err = store.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		if final {
			changed, err := store.FinishJob(ctx, tx, h.JobID, filefleet.JobStateFailed, nil, ev.Message)
			if err != nil || !changed {
				return err
			}
		}
		recorded = true
		return store.AddEvent(ctx, tx, &ev)
	})
	if err != nil {
		log.Error("cannot record task failure", "err", err)
		return
	}
	if recorded {
		w.publish(ctx, []filefleet.Event{ev})
	}
}

func (w *Worker) handleNoop(ctx context.Context, t *asynq.Task) error {
	var p tasks.NoopPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("bad payload: %v: %w", err, asynq.SkipRetry)
	}
	c, err := w.completeAlone(ctx, p.Header)
	if err != nil {
		return err
	}
	return w.after(ctx, c)
}

// asynqLogger sends asynq's logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)); os.Exit(1) }

// countRead adds n bytes read from root id to the metrics.
func (w *Worker) countRead(id int64, n int64) {
	if kind, ok := w.kinds.Load(id); ok && n > 0 {
		metrics.BytesRead.WithLabelValues(string(kind.(filefleet.RootKind))).Add(float64(n))
	}
}
