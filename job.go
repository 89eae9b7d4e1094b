package filefleet

import (
	"encoding/json"
	"time"
)

// JobType names what a job does.
type JobType string

// Job types.
const (
	JobTypeScan JobType = "scan" // list a root (or a prefix of it) into the catalog
	JobTypeNoop JobType = "noop" // does nothing; measures the job pipeline itself
	JobTypeHash JobType = "hash" // content hashes of a root's files (after a scan)
	// JobTypeDedupe finds duplicate groups across roots: scan, same size, partial hash, full hash.
	JobTypeDedupe JobType = "dedupe"
	// JobTypeDedupeExecute carries out an approved dedupe plan; JobTypeDedupeUndo undoes one.
	// They are started through /dedupe/execute and /dedupe/undo, not POST /jobs.
	JobTypeDedupeExecute JobType = "dedupe_execute"
	JobTypeDedupeUndo    JobType = "dedupe_undo"
	// JobTypeOrganize refreshes the catalog of a directory for organizing (scan, then EXIF dates
	// of images) and, given a methodology, stores a plan of moves awaiting approval.
	JobTypeOrganize JobType = "organize"
	// JobTypeOrganizeExecute carries out an approved organize plan; JobTypeOrganizeUndo moves
	// the files back. Started through /organize/execute and /organize/undo.
	JobTypeOrganizeExecute JobType = "organize_execute"
	JobTypeOrganizeUndo    JobType = "organize_undo"
	// JobTypeArchive streams files of one root into a zip or tar archive written to a root.
	JobTypeArchive JobType = "archive"
	// JobTypeConvert converts one media file or document into another format (ffmpeg,
	// pdftotext), on workers that serve the convert queue.
	JobTypeConvert JobType = "convert"
)

// JobTypes lists the job types POST /jobs takes.
var JobTypes = []JobType{JobTypeScan, JobTypeNoop, JobTypeHash, JobTypeDedupe, JobTypeOrganize, JobTypeArchive,
	JobTypeConvert}

// AllJobTypes lists every job type, for filters.
var AllJobTypes = append(JobTypes, JobTypeDedupeExecute, JobTypeDedupeUndo, JobTypeOrganizeExecute, JobTypeOrganizeUndo)

// Valid reports whether t is a known job type.
func (t JobType) Valid() bool {
	for _, k := range JobTypes {
		if t == k {
			return true
		}
	}
	return false
}

// Undoes reports whether t undoes a plan (dedupe_undo, organize_undo).
func (t JobType) Undoes() bool { return t == JobTypeDedupeUndo || t == JobTypeOrganizeUndo }

// JobState is a job's status.
type JobState string

// Job states: pending → running → succeeded | failed | canceled.
const (
	JobStatePending   JobState = "pending"
	JobStateRunning   JobState = "running"
	JobStateSucceeded JobState = "succeeded"
	JobStateFailed    JobState = "failed"
	JobStateCanceled  JobState = "canceled"
)

// JobStates lists every state, for validation of filters.
var JobStates = []JobState{JobStatePending, JobStateRunning, JobStateSucceeded, JobStateFailed, JobStateCanceled}

// Valid reports whether s is a known state.
func (s JobState) Valid() bool {
	for _, k := range JobStates {
		if s == k {
			return true
		}
	}
	return false
}

// Terminal reports whether a job in state s will not change any more.
func (s JobState) Terminal() bool {
	return s == JobStateSucceeded || s == JobStateFailed || s == JobStateCanceled
}

// Progress counts a job's work: units are tasks, files and bytes what they have seen.
type Progress struct {
	UnitsDone  int64 `json:"units_done" db:"units_done"`
	UnitsTotal int64 `json:"units_total" db:"units_total"`
	Files      int64 `json:"files" db:"files"`
	Bytes      int64 `json:"bytes" db:"bytes"`
}

// Percent returns the share of units done, 0 to 100.
func (p Progress) Percent() float64 {
	if p.UnitsTotal == 0 {
		return 0
	}
	return float64(p.UnitsDone) * 100 / float64(p.UnitsTotal)
}

// Job is one unit of user-submitted work, run as one or many tasks.
type Job struct {
	ID         string          `json:"id" db:"id"`
	Type       JobType         `json:"type" db:"type"`
	Status     JobState        `json:"status" db:"status"`
	RootName   string          `json:"root,omitempty" db:"root_name"`
	Params     json.RawMessage `json:"params" db:"params"`
	Progress   Progress        `json:"progress" db:""`
	Result     json.RawMessage `json:"result,omitempty" db:"result"`
	Error      string          `json:"error,omitempty" db:"error"`
	CreatedAt  time.Time       `json:"created_at" db:"created_at"`
	StartedAt  *time.Time      `json:"started_at,omitempty" db:"started_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty" db:"finished_at"`
}

// ScanParams are the parameters of a scan job.
type ScanParams struct {
	Prefix string `json:"prefix,omitempty"` // directory inside the root; "" scans all of it
}

// ScanResult is a finished scan's result.
type ScanResult struct {
	Files      int64 `json:"files"`
	Bytes      int64 `json:"bytes"`
	Deleted    int64 `json:"deleted"`
	Generation int64 `json:"generation"`
}

// ArchiveParams are the parameters of an archive job: Prefix (a directory, "" for all of the
// root) or Paths (files and directories) of Root, written as Format to TargetPath of
// TargetRoot.
type ArchiveParams struct {
	Root       string   `json:"root"`
	Prefix     string   `json:"prefix,omitempty"`
	Paths      []string `json:"paths,omitempty"`
	Format     string   `json:"format"`
	TargetRoot string   `json:"target_root"`
	TargetPath string   `json:"target_path"`
	Overwrite  bool     `json:"overwrite,omitempty"`
	// Resolved when the job is submitted.
	RootID       int64 `json:"root_id"`
	TargetRootID int64 `json:"target_root_id"`
}

// ArchiveResult is a finished archive job's result.
type ArchiveResult struct {
	Root    string `json:"root"`
	Path    string `json:"path"`
	Format  string `json:"format"`
	Size    int64  `json:"size"`    // of the archive
	Entries int    `json:"entries"` // files in it
	Bytes   int64  `json:"bytes"`   // content bytes of the files
	BLAKE3  string `json:"blake3"`  // of the archive, hex
}

// ConversionSpec says what a conversion makes of what (the catalog seed's conversion request,
// with roots): SourcePath of Root becomes TargetPath of TargetRoot.
type ConversionSpec struct {
	Root           string            `json:"root"`
	SourcePath     string            `json:"source_path"`
	TargetRoot     string            `json:"target_root"`
	TargetPath     string            `json:"target_path"`
	SourceFormat   string            `json:"source_format"`
	TargetFormat   string            `json:"target_format"`
	ConversionType string            `json:"conversion_type"` // image, audio, video, document
	Quality        string            `json:"quality,omitempty"`
	Settings       map[string]string `json:"settings,omitempty"`
}

// ConvertParams are the parameters of a convert job.
type ConvertParams struct {
	ConversionSpec
	Overwrite    bool       `json:"overwrite,omitempty"`
	ScheduledFor *time.Time `json:"scheduled_for,omitempty"`
	// Resolved when the job is submitted.
	RootID       int64 `json:"root_id"`
	TargetRootID int64 `json:"target_root_id"`
}

// ConvertResult is a finished convert job's result.
type ConvertResult struct {
	Root     string   `json:"root"`
	Path     string   `json:"path"`
	Size     int64    `json:"size"`
	BLAKE3   string   `json:"blake3"`
	Format   string   `json:"format,omitempty"`   // container, as ffprobe names it
	Codecs   []string `json:"codecs,omitempty"`   // of the streams, as ffprobe names them
	Duration float64  `json:"duration,omitempty"` // seconds
}

// Conversion is a convert job as the catalog seed's ConversionJob shows it (GET /conversions).
type Conversion struct {
	ID string `json:"id"`
	// Status is the seed's: pending, running, completed, failed or cancelled.
	Status string `json:"status"`
	ConversionSpec
	Progress     float64        `json:"progress"` // percent
	Error        string         `json:"error,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
	ScheduledFor *time.Time     `json:"scheduled_for,omitempty"`
	StartedAt    *time.Time     `json:"started_at,omitempty"`
	CompletedAt  *time.Time     `json:"completed_at,omitempty"`
	Result       *ConvertResult `json:"result,omitempty"`
}
