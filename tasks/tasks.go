// Package tasks names the asynq task types of filefleet and builds their payloads.
package tasks

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Task types, noun:verb.
const (
	TypeScanDir = "scan:dir" // list one page of one directory into the catalog
	TypeNoop    = "noop:run" // does nothing but complete its job
)

// Queues with their priority weights.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

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
	RootID int64  `json:"root_id"`
	Prefix string `json:"prefix"`
	Dir    string `json:"dir"`
	Cursor string `json:"cursor,omitempty"`
	Gen    int64  `json:"gen"`
}

// NoopPayload is the payload of TypeNoop.
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

// ParseHeader reads the header of any filefleet payload.
func ParseHeader(payload []byte) (Header, error) {
	var h Header
	err := json.Unmarshal(payload, &h)
	return h, err
}
