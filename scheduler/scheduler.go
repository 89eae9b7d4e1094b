// Package scheduler runs filefleet's periodic work: the schedules stored in PostgreSQL, and
// the sweep that re-enqueues jobs left pending (their first enqueue lost). Several schedulers
// may run: each tick of a schedule becomes a job with an ID derived from the schedule and the
// tick, so only the first scheduler to submit it creates it.
package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/robfig/cron/v3"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/jobs"
	"github.com/filefleet/filefleet/store"
)

// Defaults of Config.
const (
	SweepEveryDefault   = 30 * time.Second
	PendingAfterDefault = 60 * time.Second
	ReloadEveryDefault  = 5 * time.Second
	// LateLimitDefault: a tick missed by more than this (the scheduler was down) is skipped.
	LateLimitDefault  = time.Minute
	RetryEveryDefault = 5 * time.Second
)

// Config configures a Scheduler.
type Config struct {
	SweepEvery time.Duration // how often to look for stuck jobs
	// PendingAfter is how long a job may stay pending, or running without finishing a task,
	// before its tasks are queued again (those still in Redis are left as they are).
	PendingAfter time.Duration
	ReloadEvery  time.Duration // how often schedules are read again from PostgreSQL
	LateLimit    time.Duration
	// RetryEvery is how often a tick that failed for a passing reason (Redis or PostgreSQL
	// unavailable) is tried again while within LateLimit. Defaults to 5 seconds.
	RetryEvery time.Duration
	// JobRetention is how long finished jobs are kept (with their units and events); the
	// sweep deletes older ones, except those a plan refers to. 0 keeps them forever.
	JobRetention time.Duration
}

// Scheduler runs periodic work until Stop.
type Scheduler struct {
	cfg    Config
	db     *sqlx.DB
	jobs   *jobs.Service
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	entries map[string]*entry // schedule id → its state
}

// entry is a loaded schedule and its next tick.
type entry struct {
	s       *filefleet.Schedule
	sched   cron.Schedule
	loc     *time.Location
	params  jobs.SubmitParams
	next    time.Time
	retryAt time.Time // when next, which failed for a passing reason, is tried again
}

// due reports whether e's next tick is to be submitted at now.
func (e *entry) due(now time.Time) bool {
	return !e.next.IsZero() && !e.next.After(now) && !e.retryAt.After(now)
}

// tickNamespace derives job IDs from schedule IDs and ticks.
var tickNamespace = uuid.MustParse("3f1d6c2e-9a47-4c1b-8d0e-5b7a2f6e1c90")

// New returns a scheduler.
func New(db *sqlx.DB, js *jobs.Service, log *slog.Logger, cfg Config) *Scheduler {
	cfg.PendingAfter = cmp.Or(cfg.PendingAfter, PendingAfterDefault)
	cfg.SweepEvery = cmp.Or(cfg.SweepEvery, min(SweepEveryDefault, max(time.Second, cfg.PendingAfter/2)))
	cfg.ReloadEvery = cmp.Or(cfg.ReloadEvery, ReloadEveryDefault)
	cfg.LateLimit = cmp.Or(cfg.LateLimit, LateLimitDefault)
	if cfg.RetryEvery <= 0 { // a tick retried at once would keep fire busy
		cfg.RetryEvery = RetryEveryDefault
	}
	return &Scheduler{cfg: cfg, db: db, jobs: js, log: log, entries: map[string]*entry{}}
}

// Start begins the loops.
func (s *Scheduler) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.every(ctx, s.cfg.SweepEvery, func() {
		if err := s.jobs.RegisterQueues(ctx); err != nil {
			s.log.Warn("register queues", "err", err)
		}
		if n, err := s.jobs.RequeuePending(ctx, s.cfg.PendingAfter); err != nil {
			s.log.Warn("requeue pending jobs", "err", err)
		} else if n > 0 {
			s.log.Info("re-enqueued pending jobs", "count", n)
		}
		if n, err := s.jobs.RequeueStalled(ctx, s.cfg.PendingAfter); err != nil {
			s.log.Warn("requeue tasks of stalled jobs", "err", err)
		} else if n > 0 {
			s.log.Warn("re-enqueued lost tasks of stalled jobs", "tasks", n)
		}
		s.pruneJobs(ctx)
	})
	s.reload(ctx, time.Now())
	s.log.Info("scheduler started", "schedules", len(s.entries))
	lastReload := time.Now()
	s.every(ctx, 200*time.Millisecond, func() {
		now := time.Now()
		if now.Sub(lastReload) >= s.cfg.ReloadEvery {
			s.reload(ctx, now)
			lastReload = now
		}
		s.fire(ctx, now)
	})
	return nil
}

// Bounds of one retention sweep: jobs deleted per statement, statements per sweep.
const (
	pruneBatch   = 1000
	pruneBatches = 20
)

// pruneJobs deletes finished jobs older than the retention, a batch at a time so that no
// statement holds many locks for long.
func (s *Scheduler) pruneJobs(ctx context.Context) {
	if s.cfg.JobRetention <= 0 {
		return
	}
	var total int64
	for range pruneBatches {
		n, err := store.PruneJobs(ctx, s.db, s.cfg.JobRetention, pruneBatch)
		total += n
		if err != nil {
			s.log.Warn("delete old jobs", "err", err)
			break
		}
		if n < pruneBatch {
			break
		}
	}
	if total > 0 {
		s.log.Info("deleted finished jobs past their retention", "count", total, "retention", s.cfg.JobRetention)
	}
}

// every runs fn every d until ctx ends.
func (s *Scheduler) every(ctx context.Context, d time.Duration, fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// reload reads the enabled schedules; a schedule that did not change keeps its next tick.
func (s *Scheduler) reload(ctx context.Context, now time.Time) {
	list, err := store.ListSchedules(ctx, s.db, true)
	if err != nil {
		s.log.Warn("load schedules", "err", err)
		return
	}
	entries := make(map[string]*entry, len(list))
	for _, sc := range list {
		if old, ok := s.entries[sc.ID]; ok && old.s.UpdatedAt.Equal(sc.UpdatedAt) {
			entries[sc.ID] = old
			continue
		}
		sched, loc, err := Parse(sc.Cron, sc.Timezone)
		var p jobs.SubmitParams
		if err == nil {
			err = json.Unmarshal(sc.Job, &p)
		}
		if err != nil {
			s.log.Warn("schedule skipped", "schedule", sc.Name, "err", err)
			continue
		}
		e := &entry{s: sc, sched: sched, loc: loc, params: p}
		s.advance(e, firstFrom(sc, now, s.cfg.LateLimit).In(loc))
		e.next = afterLastRun(sched, e.next, sc.LastRunAt)
		entries[sc.ID] = e
	}
	s.entries = entries
}

// firstFrom returns the time after which a schedule just loaded fires: LateLimit ago, so that
// the ticks no scheduler ran during a restart or a reload still run (a tick another scheduler
// ran is refused as a duplicate), but not before the schedule's last change (a schedule
// created or edited at 12:00:30 does not fire the tick of 12:00) nor before its last run.
func firstFrom(sc *filefleet.Schedule, now time.Time, lateLimit time.Duration) time.Time {
	from := now.Add(-lateLimit)
	for _, t := range []*time.Time{&sc.UpdatedAt, sc.LastRunAt} {
		if t != nil && t.After(from) {
			from = *t
		}
	}
	return from
}

// advance sets e's next tick to the first after t; a schedule that never fires again gets a
// zero next tick, which fire skips, and one warning.
func (s *Scheduler) advance(e *entry, t time.Time) {
	e.next, e.retryAt = e.sched.Next(t), time.Time{}
	if e.next.IsZero() {
		s.log.Warn("schedule skipped: its cron spec never fires", "schedule", e.s.Name, "cron", e.s.Cron)
	}
}

// fire submits the job of every tick that is due.
func (s *Scheduler) fire(ctx context.Context, now time.Time) {
	for _, e := range s.entries {
		for e.due(now) {
			s.fireNext(ctx, e, now)
		}
	}
}

// fireNext submits e's next tick and moves on to the following one. A tick that fails for a
// passing reason stays, not due until RetryEvery has passed, if that is within LateLimit.
func (s *Scheduler) fireNext(ctx context.Context, e *entry, now time.Time) {
	tick := e.next
	log := s.log.With("schedule", e.s.Name, "tick", tick.UTC())
	if now.Sub(tick) > s.cfg.LateLimit {
		log.Warn("schedule tick missed")
		s.advance(e, tick)
		return
	}
	err := s.submit(ctx, e, tick)
	if err != nil && passing(err) && now.Add(s.cfg.RetryEvery).Sub(tick) <= s.cfg.LateLimit {
		log.Warn("scheduled job not submitted; retrying", "err", err, "retry_in", s.cfg.RetryEvery)
		e.retryAt = now.Add(s.cfg.RetryEvery)
		return
	}
	if err != nil {
		log.Warn("scheduled job not submitted", "err", err)
		s.recordFailure(ctx, e, tick, err)
	}
	s.advance(e, tick)
}

// recordFailure stores the user-safe message of err as e's last error.
func (s *Scheduler) recordFailure(ctx context.Context, e *entry, tick time.Time, err error) {
	msg := fmt.Sprintf("tick %s: %s", tick.UTC().Format(time.RFC3339), filefleet.ErrorMessage(err))
	if err := store.MarkScheduleFailed(ctx, s.db, e.s.ID, msg); err != nil {
		s.log.Warn("record schedule error", "schedule", e.s.Name, "err", err)
	}
}

// passing reports whether err may go away by itself (Redis or PostgreSQL unavailable, an
// internal error), so that submitting again may succeed. Errors of the job itself (invalid,
// unprocessable, not found, forbidden, a conflict) stay.
func passing(err error) bool {
	switch filefleet.ErrorCode(err) {
	case filefleet.EUNAVAILABLE, filefleet.EINTERNAL, filefleet.ERATELIMITED:
		return true
	}
	return false
}

// submit creates the job of one tick, once across all schedulers, and records the run. It
// returns why the job could not be submitted.
func (s *Scheduler) submit(ctx context.Context, e *entry, tick time.Time) error {
	p := e.params
	p.ID = uuid.NewSHA1(tickNamespace, []byte(e.s.ID+"@"+tick.UTC().Format(time.RFC3339Nano))).String()
	p.ScheduleID = e.s.ID
	log := s.log.With("schedule", e.s.Name, "tick", tick.UTC(), "job_id", p.ID)
	_, err := s.jobs.Submit(ctx, p)
	if filefleet.ErrorCode(err) == filefleet.ECONFLICT {
		if err = s.submittedBefore(ctx, p.ID, err); err == nil {
			log.Debug("tick submitted by another scheduler")
		}
	} else if err == nil {
		log.Info("scheduled job submitted")
	}
	if err != nil {
		return err
	}
	if err := store.MarkScheduleRun(ctx, s.db, e.s.ID, tick, p.ID); err != nil {
		log.Warn("record schedule run", "err", err)
	}
	return nil
}

// submittedBefore tells a conflict on a tick's job that exists already (another scheduler,
// or this one before a restart, submitted the tick: nil) from a conflict of the job itself,
// such as an archive whose target exists (conflict, returned as is).
func (s *Scheduler) submittedBefore(ctx context.Context, jobID string, conflict error) error {
	_, err := store.GetJob(ctx, s.db, jobID)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		return conflict
	}
	return err
}

// Stop ends the loops; safe to call twice.
func (s *Scheduler) Stop(ctx context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}
