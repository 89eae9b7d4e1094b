package filefleet

import (
	"encoding/json"
	"time"
)

// ResumeAfterHeader names the response header of an event stream (SSE or WebSocket) that
// gives the event id the stream starts after: a client that loses the stream before any
// event reconnects with it as Last-Event-ID.
const ResumeAfterHeader = "X-Resume-After"

// EventType names what happened.
type EventType string

// Event types.
const (
	EventJobProgress  EventType = "job_progress"
	EventJobCompleted EventType = "job_completed"
	EventJobFailed    EventType = "job_failed"
	EventJobCanceled  EventType = "job_canceled"
	EventError        EventType = "error" // a task failed and will be retried
	// EventDuplicateDetected reports the duplicate groups a dedupe scan found.
	EventDuplicateDetected EventType = "duplicate_detected"
	// EventOrganizeProgress and EventOrganizeComplete follow organize jobs (the File Organizer
	// seed's names), beside the generic job events.
	EventOrganizeProgress EventType = "organize_progress"
	EventOrganizeComplete EventType = "organize_complete"
	// EventFileUploaded reports a file written through POST /files/upload; it belongs to no job
	// and appears on the stream of all events.
	EventFileUploaded EventType = "file_uploaded"
)

// Terminal reports whether t is the last event of a job.
func (t EventType) Terminal() bool {
	return t == EventJobCompleted || t == EventJobFailed || t == EventJobCanceled
}

// Event is something that happened to a job, streamed to clients in order of ID.
type Event struct {
	ID       int64           `json:"id"`
	JobID    string          `json:"job_id"`
	Type     EventType       `json:"type"`
	Status   JobState        `json:"status"`
	Stage    string          `json:"stage,omitempty"` // of a multi-stage job: scan, partial, full...
	Progress Progress        `json:"progress"`
	Percent  float64         `json:"percent"`
	Message  string          `json:"message,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	Time     time.Time       `json:"time"`
}
