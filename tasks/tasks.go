// Package tasks names the asynq task types of filefleet and builds their payloads.
package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/store"
)

// Task types, noun:verb.
const (
	TypeScanDir = "scan:dir" // list one page of one directory into the catalog
	TypeNoop    = "noop:run" // does nothing but complete its job
	// TypeStage plans a stage of a multi-stage job (hash, dedupe): it registers the stage's
	// units, or moves on to the next stage when there is nothing to do.
	TypeStage     = "job:stage"
	TypeHashFiles = "hash:files"    // hash a batch of catalog files
	TypePlanApply = "plan:apply"    // carry out (or undo) a batch of a plan's groups
	TypeExifFiles = "exif:files"    // read the EXIF dates of a batch of images
	TypeArchive   = "archive:write" // write an archive job's archive (one task per job)
	TypeConvert   = "convert:run"   // run a convert job's conversion (one task per job)
)

// Queues with their priority weights.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
	// QueueConvert holds conversions; only workers that have ffmpeg serve it.
	QueueConvert = "convert"
)

// QueueConvertWeight is the convert queue's priority weight on workers that serve it.
const QueueConvertWeight = 2

// LongTimeout bounds a task that runs a whole job alone (archive, convert): asynq's default
// of 30 minutes would kill a large archive midway.
const LongTimeout = 12 * time.Hour

// QueuesDefault is the queues a worker serves and their weights, unless configured.
var QueuesDefault = map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}

// Retention keeps a completed task's ID reserved, so that a retried parent cannot enqueue a
// finished child a second time.
const Retention = 2 * time.Hour

// MaxRetryDefault is how often a failing task is retried before its job fails.
const MaxRetryDefault = 10

// Header is what every payload starts with.
type Header struct {
	JobID string `json:"job_id"`
	Unit  string `json:"unit"`
}

// ScanDirPayload is the payload of TypeScanDir: one page of directory Dir of root RootID,
// starting after Cursor, for scan generation Gen that covers Prefix.
type ScanDirPayload struct {
	Header
	UnitPrefix string `json:"unit_prefix,omitempty"` // of child units, when a job scans several scopes
	RootID     int64  `json:"root_id"`
	Prefix     string `json:"prefix"`
	Dir        string `json:"dir"`
	Cursor     string `json:"cursor,omitempty"`
	Gen        int64  `json:"gen"`
}

// StagedParams are the params of a hash or dedupe job as stored on its row.
type StagedParams struct {
	Scopes     []store.Scope        `json:"scopes"`
	Generation int64                `json:"generation"`            // of the scan that refreshes the catalog first
	AllowEmpty bool                 `json:"allow_empty,omitempty"` // see jobs.SubmitParams
	Algos      []filefleet.HashAlgo `json:"algos,omitempty"`
	PlanID     string               `json:"plan_id,omitempty"` // dedupe_execute, dedupe_undo
	// Organize is the preview request an organize job plans with once its catalog is fresh
	// (organize.Request as JSON); none: the job only refreshes the catalog.
	Organize json.RawMessage `json:"organize,omitempty"`
}

// Stages lists the stages of a multi-stage job type, in order.
var Stages = map[filefleet.JobType][]string{
	filefleet.JobTypeHash:            {StageScan, store.StageAll},
	filefleet.JobTypeDedupe:          {StageScan, store.StagePartial, store.StageFull},
	filefleet.JobTypeDedupeExecute:   {StageApply},
	filefleet.JobTypeDedupeUndo:      {StageApply},
	filefleet.JobTypeOrganize:        {StageScan, StageExif},
	filefleet.JobTypeOrganizeExecute: {StageApply},
	filefleet.JobTypeOrganizeUndo:    {StageApply},
}

// StageExif reads the EXIF dates of images (organize jobs), for by_date and date rules.
const StageExif = "exif"

// StageApply carries out (or undoes) a plan, group by group.
const StageApply = "apply"

// StageScan is the first stage of hash and dedupe jobs: a scan of their scopes.
const StageScan = "scan"

// StageUnit is the name of the unit that plans stage.
func StageUnit(stage string) string { return "stage:" + stage }

// StageOf returns the stage a unit belongs to: units are named stage:<stage> (planning) or
// <stage>:<n>; the units of a plain scan job belong to StageScan.
func StageOf(unit string) string {
	if s, ok := strings.CutPrefix(unit, "stage:"); ok {
		return s
	}
	if s, _, ok := strings.Cut(unit, ":"); ok {
		return s
	}
	return StageScan
}

// StagePayload is the payload of TypeStage.
type StagePayload struct {
	Header
	Stage string `json:"stage"`
}

// HashFilesPayload is the payload of TypeHashFiles: the catalog files FileIDs to hash for Stage
// (store.StageAll, StagePartial or StageFull), with Algos beside BLAKE3. TypeExifFiles takes it
// too (Stage StageExif: the files are images). The task reads the files' catalog rows when it
// runs, so a payload holds ids only (about 8 bytes a file instead of ~130, in Redis and in
// job_units). Files is how tasks queued before file_ids carry their files; they still run.
type HashFilesPayload struct {
	Header
	Stage   string               `json:"stage"`
	Algos   []filefleet.HashAlgo `json:"algos,omitempty"`
	FileIDs []int64              `json:"file_ids,omitempty"`
	Files   []store.HashTarget   `json:"files,omitempty"`
}

// PlanApplyPayload is the payload of TypePlanApply: the groups of plan PlanID to carry out, or
// to undo.
type PlanApplyPayload struct {
	Header
	PlanID string  `json:"plan_id"`
	Groups []int64 `json:"groups"`
	Undo   bool    `json:"undo,omitempty"`
}

// NoopPayload is the payload of TypeNoop, TypeArchive and TypeConvert: their job row holds
// all they need.
type NoopPayload struct {
	Header
}

// UnitRoot is the name of a job's first unit.
const UnitRoot = "root"

// ScanUnit names the unit that lists directory dir from cursor: a hash, so it is the same for
// every retry.
func ScanUnit(dir, cursor string) string {
	if dir == "" && cursor == "" {
		return UnitRoot
	}
	sum := sha256.Sum256([]byte(dir + "\x00" + cursor))
	return "d" + hex.EncodeToString(sum[:12])
}

// TaskID is the asynq task ID of a job's unit: deterministic, so enqueueing twice is rejected.
func TaskID(jobID, unit string) string { return jobID + ":" + unit }

// NewScanDirTask returns the task for p.
func NewScanDirTask(p ScanDirPayload, opts ...asynq.Option) (*asynq.Task, error) {
	return newTask(TypeScanDir, p.Header, p, opts)
}

// NewTask returns the task of type typ for payload p, whose header is h.
func NewTask(typ string, h Header, p any, opts ...asynq.Option) (*asynq.Task, error) {
	return newTask(typ, h, p, opts)
}

// NewNoopTask returns the task for p.
func NewNoopTask(p NoopPayload, opts ...asynq.Option) (*asynq.Task, error) {
	return newTask(TypeNoop, p.Header, p, opts)
}

func newTask(typ string, h Header, payload any, opts []asynq.Option) (*asynq.Task, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("marshal %s payload: %w", typ, err)
	}
	base := []asynq.Option{asynq.TaskID(TaskID(h.JobID, h.Unit)), asynq.Retention(Retention),
		asynq.MaxRetry(MaxRetryDefault)}
	return asynq.NewTask(typ, b, append(base, opts...)...), nil
}

// UnitTaskOf builds the task of a stored unit of job jobID, in queue.
func UnitTaskOf(jobID string, u store.UnitTask, queue string) *asynq.Task {
	return asynq.NewTask(u.Type, u.Payload, asynq.TaskID(TaskID(jobID, u.Unit)), asynq.Retention(Retention),
		asynq.MaxRetry(MaxRetryDefault), asynq.Queue(queue))
}

// Head returns the header; every payload embeds Header, so every payload has Head.
func (h Header) Head() Header { return h }

// ParseHeader reads the header of any filefleet payload.
func ParseHeader(payload []byte) (Header, error) {
	var h Header
	err := json.Unmarshal(payload, &h)
	return h, err
}
