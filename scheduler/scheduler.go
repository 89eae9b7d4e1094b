// Package scheduler runs filefleet's periodic work. For now that is the sweep that re-enqueues
// jobs left pending (their first enqueue lost); schedules from PostgreSQL come later.
package scheduler

import (
	"cmp"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/filefleet/filefleet/jobs"
)

// Defaults of Config.
const (
	SweepEveryDefault   = 30 * time.Second
	PendingAfterDefault = 60 * time.Second
)

// Config configures a Scheduler.
type Config struct {
	SweepEvery   time.Duration // how often to look for stuck pending jobs
	PendingAfter time.Duration // how old a pending job must be to be re-enqueued
}

// Scheduler runs periodic work until Stop.
type Scheduler struct {
	cfg    Config
	jobs   *jobs.Service
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a scheduler.
func New(js *jobs.Service, log *slog.Logger, cfg Config) *Scheduler {
	cfg.SweepEvery = cmp.Or(cfg.SweepEvery, SweepEveryDefault)
	cfg.PendingAfter = cmp.Or(cfg.PendingAfter, PendingAfterDefault)
	return &Scheduler{cfg: cfg, jobs: js, log: log}
}

// Start begins the periodic loop.
func (s *Scheduler) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.cfg.SweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := s.jobs.RequeuePending(ctx, s.cfg.PendingAfter); err != nil {
					s.log.Warn("requeue pending jobs", "err", err)
				} else if n > 0 {
					s.log.Info("re-enqueued pending jobs", "count", n)
				}
			}
		}
	}()
	s.log.Info("scheduler started")
	return nil
}

// Stop ends the loop; safe to call twice.
func (s *Scheduler) Stop(ctx context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return nil
}
