// Package jobs creates, enqueues and cancels jobs: the one code path the API and the scheduler
// share.
package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/events"
	"github.com/filefleet/filefleet/secret"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/store"
	"github.com/filefleet/filefleet/tasks"
)

// MaxBatch is the most jobs one SubmitBatch takes.
const MaxBatch = 10000

// Service submits and cancels jobs.
type Service struct {
	DB        *sqlx.DB
	Redis     redis.UniversalClient
	Queue     *asynq.Client
	Inspector *asynq.Inspector
	Box       *secret.Box
	Log       *slog.Logger
}

// SubmitParams describe a job to run.
type SubmitParams struct {
	Type   filefleet.JobType `json:"type"`
	Root   string            `json:"root"`
	Prefix string            `json:"prefix"`
	// Hash and dedupe jobs may cover several roots (whole) and paths ("<root>/<dir>").
	Roots []string `json:"roots,omitempty"`
	Paths []string `json:"paths,omitempty"`
	// AllowEmpty lets a scan that finds no file at all in a root or directory the catalog
	// holds files of mark them all deleted; without it such a scan fails instead (an
	// unmounted disk or share shows as an empty directory).
	AllowEmpty bool                 `json:"allow_empty,omitempty"`
	Algos      []filefleet.HashAlgo `json:"algorithms,omitempty"` // hash jobs: beside blake3
	// Organize jobs: the plan to make once the catalog is fresh (organize.Request as JSON:
	// methodology, target_root...); none: the job only refreshes the catalog.
	Organize json.RawMessage          `json:"organize,omitempty"`
	Archive  *filefleet.ArchiveParams `json:"archive,omitempty"` // archive jobs
	Convert  *filefleet.ConvertParams `json:"convert,omitempty"` // convert jobs

	// Set by the scheduler: the job's ID (deterministic per schedule and tick, so a tick
	// submitted twice is refused) and its schedule.
	ID         string `json:"-"`
	ScheduleID string `json:"-"`
}

// Submit validates p, records the job and enqueues its first task.
func (s *Service) Submit(ctx context.Context, p SubmitParams) (*filefleet.Job, error) {
	jobs, err := s.SubmitBatch(ctx, []SubmitParams{p})
	if err != nil {
		return nil, err
	}
	return jobs[0], nil
}

// SubmitBatch is Submit for many jobs at once: one insert, parallel enqueues. Either all jobs
// are accepted or none: when a task cannot be queued, the batch's jobs are taken back (see
// withdraw).
func (s *Service) SubmitBatch(ctx context.Context, ps []SubmitParams) ([]*filefleet.Job, error) {
	if len(ps) == 0 || len(ps) > MaxBatch {
		return nil, filefleet.Errorf(filefleet.EINVALID, "a batch holds 1 to %d jobs, not %d", MaxBatch, len(ps))
	}
	news := make([]store.NewJob, len(ps))
	roots := map[string]*filefleet.Root{}
	for i, p := range ps {
		nj, err := s.prepare(ctx, p, roots)
		if err != nil {
			if len(ps) > 1 {
				return nil, wrapIndex(err, i)
			}
			return nil, err
		}
		news[i] = nj
	}
	if err := store.CreateJobs(ctx, s.DB, news); err != nil {
		return nil, err
	}
	if err := s.enqueueFirst(ctx, news); err != nil {
		s.withdraw(context.WithoutCancel(ctx), news)
		return nil, err
	}
	out := make([]*filefleet.Job, len(news))
	now := time.Now().UTC()
	for i, n := range news {
		out[i] = &filefleet.Job{ID: n.ID, Type: n.Type, Status: filefleet.JobStatePending, RootName: n.Root,
			Params: n.Params, Progress: filefleet.Progress{UnitsTotal: 1}, CreatedAt: now}
	}
	return out, nil
}

// withdraw takes back the jobs of a batch that could not be queued whole. Jobs no worker has
// started are deleted (a task of theirs that reached Redis finds no job and does nothing).
// Jobs a worker started already are canceled, not deleted, so that what they did stays on
// record; jobs that finished stay as they are.
func (s *Service) withdraw(ctx context.Context, news []store.NewJob) {
	ids := make([]string, len(news))
	for i, n := range news {
		ids[i] = n.ID
	}
	started, err := store.DeletePendingJobs(ctx, s.DB, ids)
	if err != nil {
		s.Log.Error("cannot remove jobs that were not queued", "err", err)
		return
	}
	for _, id := range started {
		if _, err := s.cancel(ctx, id, unqueuedBatch, unqueuedBatch); err != nil &&
			filefleet.ErrorCode(err) != filefleet.ECONFLICT {
			s.Log.Error("cannot cancel a started job of a batch that was not queued", "job_id", id, "err", err)
		}
	}
}

// unqueuedBatch is the error of a job canceled by withdraw.
const unqueuedBatch = "canceled: the batch it was submitted in could not be queued whole; submit it again"

func wrapIndex(err error, i int) error {
	var fe *filefleet.Error
	if errors.As(err, &fe) {
		return filefleet.Errorf(fe.Code, "jobs[%d]: %s", i, fe.Message)
	}
	return err
}

// prepare validates p and turns it into a job row.
func (s *Service) prepare(ctx context.Context, p SubmitParams, roots map[string]*filefleet.Root) (store.NewJob, error) {
	nj := store.NewJob{ID: cmp.Or(p.ID, uuid.NewString()), Type: p.Type, Unit: tasks.UnitRoot, ScheduleID: p.ScheduleID}
	switch p.Type {
	case filefleet.JobTypeNoop:
		nj.Params = json.RawMessage(`{}`)
		return nj, nil
	case filefleet.JobTypeScan:
	case filefleet.JobTypeHash, filefleet.JobTypeDedupe:
		return s.prepareStaged(ctx, nj, p, roots)
	case filefleet.JobTypeOrganize:
		return s.prepareOrganize(ctx, nj, p, roots)
	case filefleet.JobTypeArchive:
		return s.prepareArchive(ctx, nj, p, roots)
	case filefleet.JobTypeConvert:
		return s.prepareConvert(ctx, nj, p, roots)
	case "":
		return nj, filefleet.Errorf(filefleet.EINVALID, "job type is required (one of %v)", filefleet.JobTypes)
	default:
		return nj, filefleet.Errorf(filefleet.EINVALID, "unknown job type %q (one of %v)", p.Type, filefleet.JobTypes)
	}
	if p.Root == "" {
		return nj, filefleet.Errorf(filefleet.EINVALID, "root is required: name a storage root (GET /api/v1/roots lists them)")
	}
	scope, err := s.scope(ctx, p.Root, p.Prefix, roots)
	if err != nil {
		return nj, err
	}
	gen, err := store.NextScanGeneration(ctx, s.DB)
	if err != nil {
		return nj, err
	}
	nj.RootID, nj.Root = &scope.RootID, scope.Root
	nj.Params, _ = json.Marshal(scanParams{Prefix: scope.Prefix, Generation: gen, AllowEmpty: p.AllowEmpty})
	return nj, nil
}

// scope resolves a root name and a directory of it; roots caches roots by name.
func (s *Service) scope(ctx context.Context, name, prefix string, roots map[string]*filefleet.Root) (store.Scope, error) {
	prefix, err := storage.CleanPath(prefix)
	if err != nil {
		return store.Scope{}, err
	}
	root, ok := roots[name]
	if !ok {
		if root, err = store.GetRoot(ctx, s.DB, nil, name); err != nil {
			if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
				return store.Scope{}, filefleet.Errorf(filefleet.EUNPROCESSABLE,
					"storage root %q does not exist; create it with POST /api/v1/roots", name)
			}
			return store.Scope{}, err
		}
		roots[name] = root
	}
	return store.Scope{RootID: root.ID, Root: root.Name, Prefix: prefix}, nil
}

// scanParams is how a scan job's params are stored.
type scanParams struct {
	Prefix     string `json:"prefix"`
	Generation int64  `json:"generation"`
	AllowEmpty bool   `json:"allow_empty,omitempty"`
}

// FirstTask returns the task that starts job j: a pure function of the job row, so a job left
// pending can be enqueued again (the task ID makes a second enqueue a no-op).
func FirstTask(id string, typ filefleet.JobType, rootID int64, params json.RawMessage) (*asynq.Task, error) {
	h := tasks.Header{JobID: id, Unit: tasks.UnitRoot}
	switch typ {
	case filefleet.JobTypeScan:
		var sp scanParams
		if err := json.Unmarshal(params, &sp); err != nil {
			return nil, fmt.Errorf("scan params: %w", err)
		}
		return tasks.NewScanDirTask(tasks.ScanDirPayload{Header: h, RootID: rootID, Prefix: sp.Prefix,
			Dir: sp.Prefix, Gen: sp.Generation}, asynq.Queue(tasks.QueueDefault))
	case filefleet.JobTypeNoop:
		return tasks.NewNoopTask(tasks.NoopPayload{Header: h}, asynq.Queue(tasks.QueueDefault))
	case filefleet.JobTypeArchive:
		return tasks.NewTask(tasks.TypeArchive, h, tasks.NoopPayload{Header: h}, asynq.Queue(tasks.QueueDefault),
			asynq.Timeout(tasks.LongTimeout))
	case filefleet.JobTypeConvert:
		var cp filefleet.ConvertParams
		if err := json.Unmarshal(params, &cp); err != nil {
			return nil, fmt.Errorf("convert params: %w", err)
		}
		opts := []asynq.Option{asynq.Queue(tasks.QueueConvert), asynq.Timeout(tasks.LongTimeout)}
		if cp.ScheduledFor != nil {
			opts = append(opts, asynq.ProcessAt(*cp.ScheduledFor))
		}
		return tasks.NewTask(tasks.TypeConvert, h, tasks.NoopPayload{Header: h}, opts...)
	}
	if stages, ok := tasks.Stages[typ]; ok {
		h.Unit = tasks.StageUnit(stages[0])
		return tasks.NewTask(tasks.TypeStage, h, tasks.StagePayload{Header: h, Stage: stages[0]},
			asynq.Queue(tasks.QueueDefault))
	}
	return nil, fmt.Errorf("job type %q has no task", typ)
}

// enqueueConcurrency is how many enqueues run at once in a batch.
const enqueueConcurrency = 32

func (s *Service) enqueueFirst(ctx context.Context, news []store.NewJob) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(enqueueConcurrency)
	for _, n := range news {
		var rootID int64
		if n.RootID != nil {
			rootID = *n.RootID
		}
		task, err := FirstTask(n.ID, n.Type, rootID, n.Params)
		if err != nil {
			return err
		}
		g.Go(func() error {
			if _, err := s.Queue.EnqueueContext(gctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
				return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "cannot queue the job: Redis is unavailable; retry later")
			}
			return nil
		})
	}
	return g.Wait()
}

// Cancel marks job id canceled, tells its subscribers and deletes its queued tasks; running
// tasks see the state and stop. ECONFLICT if the job has finished already.
func (s *Service) Cancel(ctx context.Context, id string) (*filefleet.Job, error) {
	return s.cancel(ctx, id, "canceled", "canceled by request")
}

// cancel is Cancel with the job's error and its event's message.
func (s *Service) cancel(ctx context.Context, id, errMsg, reason string) (*filefleet.Job, error) {
	job, err := store.GetJob(ctx, s.DB, id)
	if err != nil {
		return nil, err
	}
	if job.Status.Terminal() {
		return nil, filefleet.Errorf(filefleet.ECONFLICT, "job %s has already %s", id, job.Status)
	}
	changed, err := s.finish(ctx, id, filefleet.JobStateCanceled, filefleet.EventJobCanceled, errMsg, reason)
	if err != nil {
		return nil, err
	}
	if !changed {
		return nil, filefleet.Errorf(filefleet.ECONFLICT, "job %s finished while being canceled", id)
	}
	if units, err := store.OpenUnits(ctx, s.DB, id); err == nil {
		for _, u := range units {
			for _, q := range []string{tasks.QueueCritical, tasks.QueueDefault, tasks.QueueLow, tasks.QueueConvert} {
				if s.Inspector.DeleteTask(q, tasks.TaskID(id, u)) == nil {
					break
				}
			}
		}
	}
	return store.GetJob(ctx, s.DB, id)
}

// RequeuePending enqueues again the first task of jobs still pending after olderThan: a job
// whose enqueue was lost (the API died between insert and enqueue) still runs.
func (s *Service) RequeuePending(ctx context.Context, olderThan time.Duration) (int, error) {
	pending, err := store.PendingJobs(ctx, s.DB, olderThan, requeueJobsMax)
	if err != nil {
		return 0, err
	}
	var queue []*asynq.Task
	for _, j := range pending {
		task, err := firstTaskOf(j)
		if err != nil {
			s.Log.Warn("cannot rebuild the first task of a pending job", "job_id", j.ID, "err", err)
			continue
		}
		queue = append(queue, task)
	}
	budget := requeueTasksMax
	n, _, err := s.requeue(ctx, queue, &budget)
	return n, err
}

// Bounds of one sweep: jobs looked at, and tasks offered to Redis (most are still there and
// refused by task ID).
const (
	requeueJobsMax  = 100
	requeueTasksMax = 5000
)

// RequeueStalled queues again the open units of running jobs that finished no unit for idle
// (up to requeueJobsMax jobs in random order and requeueTasksMax tasks a call). A unit whose
// task is still queued, running or retrying keeps it (same task ID); one whose task was lost
// from Redis gets it back. It returns how many tasks were queued again.
func (s *Service) RequeueStalled(ctx context.Context, idle time.Duration) (int, error) {
	stalled, err := store.StalledJobs(ctx, s.DB, idle, requeueJobsMax)
	if err != nil {
		return 0, err
	}
	n, budget := 0, requeueTasksMax
	for _, j := range stalled {
		if budget == 0 {
			break
		}
		queue, err := s.openTasks(ctx, j)
		if err != nil {
			s.Log.Warn("cannot list the open tasks of a stalled job", "job_id", j.ID, "err", err)
			continue
		}
		queued, refused, err := s.requeue(ctx, queue, &budget)
		n += queued
		if err != nil {
			return n, err
		}
		if reason := s.gaveUp(j, refused); reason != "" {
			s.fail(ctx, j.ID, reason)
		}
	}
	return n, nil
}

// openTasks returns the tasks of a job's open units: its first task if that unit is open,
// then the stored tasks of the others.
func (s *Service) openTasks(ctx context.Context, j store.QueuedJob) ([]*asynq.Task, error) {
	var out []*asynq.Task
	if first, err := firstTaskOf(j); err == nil {
		h, _ := tasks.ParseHeader(first.Payload())
		done, err := store.UnitDone(ctx, s.DB, j.ID, h.Unit)
		if err != nil {
			return nil, err
		}
		if !done {
			out = append(out, first)
		}
	}
	units, err := store.OpenUnitTasks(ctx, s.DB, j.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		out = append(out, tasks.UnitTaskOf(j.ID, u, tasks.QueueDefault))
	}
	return out, nil
}

// asynqQueuesKey is the Redis set of queue names asynq's dashboard and inspector list (asynq's
// base.AllQueues). An asynq client adds a queue to it once per process, so after Redis lost
// its data the set stays empty until RegisterQueues.
const asynqQueuesKey = "asynq:queues"

// RegisterQueues makes sure every filefleet queue is in asynq's list of queues, so that the
// dashboard shows them and tasks can be deleted from them (cancel) after Redis lost its data.
func (s *Service) RegisterQueues(ctx context.Context) error {
	names := []any{tasks.QueueConvert}
	for q := range tasks.QueuesDefault {
		names = append(names, q)
	}
	return s.Redis.SAdd(ctx, asynqQueuesKey, names...).Err()
}

// requeue offers tasks to Redis, at most *budget of them (counted off), and returns how many
// were queued again: a task whose ID is still in Redis is refused and left as it is. An error
// means Redis is unavailable; the next sweep tries again.
func (s *Service) requeue(ctx context.Context, queue []*asynq.Task, budget *int) (n int, refused []*asynq.Task, err error) {
	for _, task := range queue {
		if *budget == 0 {
			break
		}
		*budget--
		_, err := s.Queue.EnqueueContext(ctx, task)
		switch {
		case err == nil:
			n++
		case errors.Is(err, asynq.ErrTaskIDConflict):
			refused = append(refused, task)
		default:
			return n, refused, err
		}
	}
	return n, refused, nil
}

// gaveUpChecks bounds how many of a stalled job's tasks still in Redis gaveUp looks at.
const gaveUpChecks = 50

// gaveUp looks at tasks of stalled job j that Redis still holds (refused by task ID) and
// returns why the job cannot go on when one of them is archived: asynq archives a task
// whose last attempt's worker died (the lease ran out) without calling the error handler
// that fails its job, so the job would stay running forever.
func (s *Service) gaveUp(j store.QueuedJob, refused []*asynq.Task) string {
	queue := tasks.QueueDefault
	if j.Type == filefleet.JobTypeConvert {
		queue = tasks.QueueConvert
	}
	for _, task := range refused[:min(len(refused), gaveUpChecks)] {
		h, err := tasks.ParseHeader(task.Payload())
		if err != nil {
			continue
		}
		info, err := s.Inspector.GetTaskInfo(queue, tasks.TaskID(h.JobID, h.Unit))
		if err != nil || info.State != asynq.TaskStateArchived {
			continue
		}
		last := info.LastErr
		if last == "" {
			last = "its worker stopped each time (killed, or out of memory?)"
		}
		return fmt.Sprintf("%s failed for good after %d attempts: %s", info.Type, info.Retried+1, last)
	}
	return ""
}

// fail moves running job id to failed with msg and tells its subscribers.
func (s *Service) fail(ctx context.Context, id, msg string) {
	changed, err := s.finish(ctx, id, filefleet.JobStateFailed, filefleet.EventJobFailed, msg, msg)
	if err != nil {
		s.Log.Error("cannot fail a job whose task gave up", "job_id", id, "err", err)
	} else if changed {
		s.Log.Warn("failed a stalled job: a task of it gave up", "job_id", id, "reason", msg)
	}
}

// finish moves job id, unless it has finished already, to state with error errMsg, records
// an event of type typ with message and publishes it. It reports whether it moved the job.
func (s *Service) finish(ctx context.Context, id string, state filefleet.JobState, typ filefleet.EventType,
	errMsg, message string) (bool, error) {
	ev := filefleet.Event{JobID: id, Type: typ, Status: state, Message: message}
	changed := false
	err := store.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var err error
		if changed, err = store.FinishJob(ctx, tx, id, state, nil, errMsg); err != nil || !changed {
			return err
		}
		return store.AddEvent(ctx, tx, &ev)
	})
	if err != nil || !changed {
		return false, err
	}
	if err := events.Publish(ctx, s.Redis, ev); err != nil {
		s.Log.Warn("publish job event", "job_id", id, "type", typ, "err", err)
	}
	return true, nil
}

// firstTaskOf builds a stored job's first task.
func firstTaskOf(j store.QueuedJob) (*asynq.Task, error) {
	var rootID int64
	if j.RootID != nil {
		rootID = *j.RootID
	}
	return FirstTask(j.ID, j.Type, rootID, j.Params)
}

// Validate checks p as Submit would, without recording anything (a job template).
func (s *Service) Validate(ctx context.Context, p SubmitParams) error {
	_, err := s.prepare(ctx, p, map[string]*filefleet.Root{})
	return err
}
