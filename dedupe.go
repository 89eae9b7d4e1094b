package filefleet

import "time"

// HashAlgo names a content hash a hash job can compute.
type HashAlgo string

// Hash algorithms. BLAKE3 is always computed; the others on request.
const (
	HashBLAKE3 HashAlgo = "blake3"
	HashSHA256 HashAlgo = "sha256"
	HashMD5    HashAlgo = "md5"
)

// HashAlgos lists the algorithms a hash job takes.
var HashAlgos = []HashAlgo{HashBLAKE3, HashSHA256, HashMD5}

// HashResult is a finished hash job's result.
type HashResult struct {
	Files     int64 `json:"files"`      // files the job covered
	Hashed    int64 `json:"hashed"`     // files read and hashed
	Unchanged int64 `json:"unchanged"`  // files skipped: hashed before and not changed since
	Changed   int64 `json:"changed"`    // files skipped: changed on storage since the scan
	BytesRead int64 `json:"bytes_read"` // bytes read from storage
}

// DedupeResult is a finished dedupe scan's result.
type DedupeResult struct {
	Groups         int64            `json:"duplicate_groups" db:"groups"`
	DuplicateFiles int64            `json:"total_duplicates" db:"dups"` // files beyond the first of each group
	WastedBytes    int64            `json:"wasted_space" db:"wasted"`
	Candidates     int64            `json:"candidates"` // files that shared their size with another
	BytesRead      map[string]int64 `json:"bytes_read"` // per stage: "partial", "full"
	FilesRead      map[string]int64 `json:"files_read"` // per stage: "partial", "full"
}

// DuplicateFile is one file of a duplicate group.
type DuplicateFile struct {
	ID         int64     `json:"id" db:"file_id"`
	RootID     int64     `json:"-" db:"root_id"`
	Root       string    `json:"root" db:"root_name"`
	Path       string    `json:"path" db:"path"`
	Size       int64     `json:"size" db:"size"`
	ModifiedAt time.Time `json:"modified_at" db:"mtime"`
}

// DuplicateGroup is a set of files with the same content.
type DuplicateGroup struct {
	ID          int64           `json:"id" db:"id"`
	Hash        string          `json:"hash" db:"hash"`           // hex
	Algorithm   HashAlgo        `json:"algorithm" db:"algorithm"` // blake3, or md5 (S3 ETags, not read)
	Size        int64           `json:"size" db:"size"`
	FileCount   int             `json:"file_count" db:"file_count"`
	WastedBytes int64           `json:"wasted_bytes" db:"wasted"`
	Files       []DuplicateFile `json:"files"`
}

// KeepPolicy chooses which file of a duplicate group stays.
type KeepPolicy string

// Keep policies.
const (
	KeepOldest        KeepPolicy = "oldest"
	KeepNewest        KeepPolicy = "newest"
	KeepShortestPath  KeepPolicy = "shortest_path"
	KeepLongestPath   KeepPolicy = "longest_path"
	KeepPreferredRoot KeepPolicy = "preferred_root" // in PreferredRoot (under PreferredPrefix), else oldest
)

// KeepPolicies lists the keep policies.
var KeepPolicies = []KeepPolicy{KeepOldest, KeepNewest, KeepShortestPath, KeepLongestPath, KeepPreferredRoot}

// PlanAction is what a plan does with a file: for dedupe, what happens to the files of a group
// that are not kept; for organize, a move.
type PlanAction string

// Dedupe actions; ActionKeep marks the kept file in a plan.
const (
	ActionTrash  PlanAction = "trash"  // move to .filefleet-trash/<job>/ in the same root (undoable)
	ActionDelete PlanAction = "delete" // remove for good
	ActionReport PlanAction = "report" // change nothing
	ActionKeep   PlanAction = "keep"
	ActionMove   PlanAction = "move" // organize: move to the item's destination (undoable)
)

// DedupeActions lists the actions a plan may take on duplicates.
var DedupeActions = []PlanAction{ActionTrash, ActionDelete, ActionReport}

// TrashDir is the directory of a root that trashed files move to, one subdirectory per job.
const TrashDir = ".filefleet-trash"

// PlanState is a plan's status.
type PlanState string

// Plan states: a plan awaits approval until executed; an executed trash plan can be undone.
const (
	PlanAwaitingApproval PlanState = "awaiting_approval"
	PlanExecuting        PlanState = "executing"
	PlanExecuted         PlanState = "executed"
	PlanUndoing          PlanState = "undoing"
	PlanUndone           PlanState = "undone"
)

// ItemState is the journal state of one step of a plan.
type ItemState string

// Item states: planned → done | skipped | failed; done → undone.
const (
	ItemPlanned    ItemState = "planned"
	ItemInProgress ItemState = "in_progress" // journaled before the change: a retry checks where the file is
	ItemDone       ItemState = "done"
	ItemSkipped    ItemState = "skipped" // the file changed or vanished since the plan; left alone
	ItemUndone     ItemState = "undone"
)
