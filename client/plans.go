package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/filefleet/filefleet"
)

// DedupeService finds duplicates and plans, runs and undoes their removal (/dedupe).
type DedupeService struct{ c *Client }

// DedupeScanRequest is the body of POST /dedupe/scan: whole Roots and Paths
// ("<root>/<dir>"), or Root and Prefix.
type DedupeScanRequest struct {
	Roots  []string `json:"roots,omitempty"`
	Paths  []string `json:"paths,omitempty"`
	Root   string   `json:"root,omitempty"`
	Prefix string   `json:"prefix,omitempty"`
}

// Scan starts a dedupe job; its result is a filefleet.DedupeResult.
func (s *DedupeService) Scan(ctx context.Context, r DedupeScanRequest) (*filefleet.Job, error) {
	return call[filefleet.Job](ctx, s.c, http.MethodPost, "/dedupe/scan", r)
}

// GroupList is a page of duplicate groups.
type GroupList struct {
	Groups []filefleet.DuplicateGroup
	Page
}

// Groups returns a page of the groups the dedupe job jobID found, largest waste first
// (sortBy "count": most files first).
func (s *DedupeService) Groups(ctx context.Context, jobID, sortBy string, limit, offset int) (*GroupList, error) {
	var l GroupList
	q := query("job_id", jobID, "sort_by", sortBy, "limit", itoa(limit), "offset", itoa(offset))
	if err := s.c.get(ctx, "/dedupe/groups"+q, &dataMeta{&l.Groups, &l.Page}); err != nil {
		return nil, err
	}
	return &l, nil
}

// DedupePreviewRequest is the body of POST /dedupe/preview: which file of each group of the
// finished scan JobID to keep, and what to do with the others (trash, the default; delete;
// report).
type DedupePreviewRequest struct {
	JobID           string               `json:"job_id"`
	Keep            filefleet.KeepPolicy `json:"keep,omitempty"`
	Action          filefleet.PlanAction `json:"action,omitempty"`
	PreferredRoot   string               `json:"preferred_root,omitempty"`
	PreferredPrefix string               `json:"preferred_prefix,omitempty"`
}

// DedupePreview is a stored dedupe plan awaiting approval, with its first 1,000 groups.
type DedupePreview struct {
	PlanID  string              `json:"plan_id"`
	JobID   string              `json:"job_id"`
	Status  filefleet.PlanState `json:"status"`
	Params  json.RawMessage     `json:"params"`
	Summary struct {
		Groups int    `json:"groups"`
		Files  int64  `json:"files"` // files the plan acts on
		Bytes  int64  `json:"bytes"`
		Action string `json:"action"`
	} `json:"summary"`
	Groups []struct {
		GroupID int64                     `json:"group_id"`
		Hash    string                    `json:"hash"`
		Size    int64                     `json:"size"`
		Keep    filefleet.DuplicateFile   `json:"keep"`
		Others  []filefleet.DuplicateFile `json:"others"`
	} `json:"groups"`
}

// Preview stores a plan for a finished dedupe scan.
func (s *DedupeService) Preview(ctx context.Context, r DedupePreviewRequest) (*DedupePreview, error) {
	return call[DedupePreview](ctx, s.c, http.MethodPost, "/dedupe/preview", r)
}

// PlanRef names a plan, by id or by the job it was made from.
type PlanRef struct {
	PlanID string `json:"plan_id,omitempty"`
	JobID  string `json:"job_id,omitempty"`
}

// Execute approves a plan and starts the job carrying it out, once.
func (s *DedupeService) Execute(ctx context.Context, p PlanRef) (*PlanRun, error) {
	return call[PlanRun](ctx, s.c, http.MethodPost, "/dedupe/execute", p)
}

// Undo starts the job moving an executed trash plan's files back.
func (s *DedupeService) Undo(ctx context.Context, p PlanRef) (*PlanRun, error) {
	return call[PlanRun](ctx, s.c, http.MethodPost, "/dedupe/undo", p)
}

// Plan returns a plan (dedupe or organize) and its journal.
func (s *DedupeService) Plan(ctx context.Context, planID string) (*PlanDetail, error) {
	return call[PlanDetail](ctx, s.c, http.MethodGet, "/dedupe/plans/"+pathEscape(planID), nil)
}

// Plan is a stored dedupe or organize plan.
type Plan struct {
	PlanID       string              `json:"plan_id"`
	Kind         string              `json:"kind"` // dedupe, organize
	JobID        string              `json:"job_id,omitempty"`
	Status       filefleet.PlanState `json:"status"`
	Params       json.RawMessage     `json:"params"`
	ExecuteJobID string              `json:"execute_job_id,omitempty"`
	UndoJobID    string              `json:"undo_job_id,omitempty"`
	CreatedAt    time.Time           `json:"created_at"`
}

// PlanItem is one step of a plan and its journal state.
type PlanItem struct {
	Seq        int                  `json:"seq"`
	GroupID    int64                `json:"group_id"`
	Action     filefleet.PlanAction `json:"action"`
	Root       string               `json:"root"`
	Path       string               `json:"path"`
	Size       int64                `json:"size"`
	ModifiedAt time.Time            `json:"modified_at"`
	KeepSeq    int                  `json:"keep_seq"`
	TrashPath  string               `json:"trash_path,omitempty"`
	DstRoot    string               `json:"dst_root,omitempty"`
	DstPath    string               `json:"dst_path,omitempty"`
	State      filefleet.ItemState  `json:"state"`
	Message    string               `json:"message,omitempty"`
}

// PlanDetail is a plan, its item counts per "<action>/<state>" and its items.
type PlanDetail struct {
	Plan   *Plan            `json:"plan,omitempty"`
	Counts map[string]int64 `json:"counts,omitempty"`
	Items  []PlanItem       `json:"items,omitempty"`
}

// PlanRun is the answer of execute and undo: the plan and the job started for it. An
// organize dry run starts no job (Job is nil) and fills PlanDetail instead.
type PlanRun struct {
	PlanID string         `json:"plan_id"`
	Job    *filefleet.Job `json:"job,omitempty"`
	PlanDetail
}

// OrganizeService plans, runs and undoes the organizing of directories (/organize).
type OrganizeService struct{ c *Client }

// OrganizeRule is a rule of the rules methodology; the first matching rule of a list wins.
// Destination is a template: {name} {ext} {extension} {type} {year} {month} {day} {dir}.
type OrganizeRule struct {
	Name          string   `json:"name,omitempty"`
	Extensions    []string `json:"extensions,omitempty"`
	NameGlob      string   `json:"name_glob,omitempty"`
	NameRegex     string   `json:"name_regex,omitempty"`
	MinSize       *int64   `json:"min_size,omitempty"`
	MaxSize       *int64   `json:"max_size,omitempty"`
	OlderThanDays int      `json:"older_than_days,omitempty"`
	NewerThanDays int      `json:"newer_than_days,omitempty"`
	PathPrefix    string   `json:"path_prefix,omitempty"`
	MimeType      string   `json:"mime_type,omitempty"`
	Destination   string   `json:"destination"`
}

// ParaConfig tunes the para methodology; zero values take the server's defaults.
type ParaConfig struct {
	ProjectKeywords  []string `json:"project_keywords,omitempty"`
	AreaKeywords     []string `json:"area_keywords,omitempty"`
	ResourceKeywords []string `json:"resource_keywords,omitempty"`
	ArchiveAfterDays int      `json:"archive_after_days,omitempty"`
}

// OrganizeRequest says which directory to organize, how and where to. Without Root, Path
// is "<root>/<dir>". Methodology: para, by_type, by_date, by_extension or rules. Preview
// may name an organize job (JobID) instead of Root and Path.
type OrganizeRequest struct {
	Root        string         `json:"root,omitempty"`
	Path        string         `json:"path,omitempty"`
	TargetRoot  string         `json:"target_root,omitempty"`
	TargetPath  string         `json:"target_path,omitempty"`
	RuleSet     string         `json:"rule_set,omitempty"`
	Methodology string         `json:"methodology,omitempty"`
	Para        *ParaConfig    `json:"para,omitempty"`
	Rules       []OrganizeRule `json:"rules,omitempty"`
	JobID       string         `json:"job_id,omitempty"`
}

// OrganizePreview is a stored organize plan awaiting approval, with its first 1,000 moves.
type OrganizePreview struct {
	PlanID  string              `json:"plan_id"`
	JobID   string              `json:"job_id"`
	Status  filefleet.PlanState `json:"status"`
	Params  json.RawMessage     `json:"params"`
	Summary struct {
		Files        int            `json:"files"`
		Moves        int            `json:"moves"`
		InPlace      int            `json:"in_place"`
		Renamed      int            `json:"renamed"`
		Destinations map[string]int `json:"destinations"`
	} `json:"summary"`
	Moves []struct {
		Src string `json:"src"`
		Dst string `json:"dst"`
	} `json:"moves"`
}

// OrganizeStatus is an organize job (or a plan's execute or undo job) with its plan.
type OrganizeStatus struct {
	JobID    string             `json:"job_id"`
	Type     filefleet.JobType  `json:"type"`
	Status   filefleet.JobState `json:"status"`
	Progress float64            `json:"progress"` // percent
	Job      filefleet.Job      `json:"job"`
	Plan     *Plan              `json:"plan,omitempty"`
	Counts   map[string]int64   `json:"counts,omitempty"`
}

// Scan starts an organize job: it scans the directory and, given a methodology, stores a
// plan awaiting approval (the job's result has its plan_id).
func (s *OrganizeService) Scan(ctx context.Context, r OrganizeRequest) (*filefleet.Job, error) {
	return call[filefleet.Job](ctx, s.c, http.MethodPost, "/organize/scan", r)
}

// Preview plans a directory from the catalog and stores the plan.
func (s *OrganizeService) Preview(ctx context.Context, r OrganizeRequest) (*OrganizePreview, error) {
	return call[OrganizePreview](ctx, s.c, http.MethodPost, "/organize/preview", r)
}

// Execute approves a plan and starts its journaled moves, once; with dryRun it changes
// nothing and returns the plan's detail (Job nil).
func (s *OrganizeService) Execute(ctx context.Context, p PlanRef, dryRun bool) (*PlanRun, error) {
	body := struct {
		PlanRef
		DryRun bool `json:"dry_run,omitempty"`
	}{p, dryRun}
	return call[PlanRun](ctx, s.c, http.MethodPost, "/organize/execute", body)
}

// Undo starts the job moving every file of an executed plan back.
func (s *OrganizeService) Undo(ctx context.Context, p PlanRef) (*PlanRun, error) {
	return call[PlanRun](ctx, s.c, http.MethodPost, "/organize/undo", p)
}

// Status returns an organize job with its plan and journal counts.
func (s *OrganizeService) Status(ctx context.Context, jobID string) (*OrganizeStatus, error) {
	return call[OrganizeStatus](ctx, s.c, http.MethodGet, "/organize/status/"+pathEscape(jobID), nil)
}

// Plan returns a plan and every move's journal state.
func (s *OrganizeService) Plan(ctx context.Context, planID string) (*PlanDetail, error) {
	return call[PlanDetail](ctx, s.c, http.MethodGet, "/organize/plans/"+pathEscape(planID), nil)
}
