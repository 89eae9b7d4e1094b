package organize

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/store"
)

// Request is an organize preview: which directory of which root to organize, how, and where
// to (by default, in place: destinations are relative to the organized directory).
type Request struct {
	Root       string `json:"root"`
	Path       string `json:"path"`
	TargetRoot string `json:"target_root,omitempty"`
	TargetPath string `json:"target_path,omitempty"`
	RuleSet    string `json:"rule_set,omitempty"` // stored rules to use (methodology rules)
	Params
}

// Prepare loads the request's rule set, if it names one, and validates it.
func (r *Request) Prepare(ctx context.Context, q sqlx.QueryerContext) error {
	if r.RuleSet != "" {
		if len(r.Rules) > 0 {
			return filefleet.Errorf(filefleet.EINVALID, "give rules or rule_set, not both")
		}
		if r.Methodology != "" && r.Methodology != Rules {
			return filefleet.Errorf(filefleet.EINVALID, "rule_set goes with methodology %q, not %q", Rules, r.Methodology)
		}
		set, err := store.GetRuleSet(ctx, q, r.RuleSet)
		if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
			return filefleet.Errorf(filefleet.EUNPROCESSABLE, "rule_set: %s; GET /api/v1/organize/rules lists them", filefleet.ErrorMessage(err))
		} else if err != nil {
			return err
		}
		if err := json.Unmarshal(set.Rules, &r.Rules); err != nil {
			return fmt.Errorf("rule set %s: %w", r.RuleSet, err)
		}
		r.Methodology = Rules
	}
	return r.Validate()
}

// Validate cleans the paths and checks the methodology; EINVALID names what is wrong.
func (r *Request) Validate() error {
	if r.Root == "" {
		return filefleet.Errorf(filefleet.EINVALID, "root is required: the storage root to organize (GET /api/v1/roots lists them)")
	}
	var err error
	if r.Path, err = storage.CleanPath(strings.TrimPrefix(r.Path, "/")); err != nil {
		return filefleet.Errorf(filefleet.EINVALID, "path: %s", filefleet.ErrorMessage(err))
	}
	if r.TargetPath == "" && (r.TargetRoot == "" || r.TargetRoot == r.Root) {
		r.TargetPath = r.Path
	} else if r.TargetPath, err = storage.CleanPath(strings.TrimPrefix(r.TargetPath, "/")); err != nil {
		return filefleet.Errorf(filefleet.EINVALID, "target_path: %s", filefleet.ErrorMessage(err))
	}
	if err := storage.NotInTrash(r.TargetPath); err != nil {
		return filefleet.Errorf(filefleet.EINVALID, "target_path: %s", filefleet.ErrorMessage(err))
	}
	r.TargetRoot = cmp.Or(r.TargetRoot, r.Root)
	return r.Params.Validate()
}

// ParseRequest decodes and validates a request stored as JSON.
func ParseRequest(b []byte) (Request, error) {
	var r Request
	if err := json.Unmarshal(b, &r); err != nil {
		return r, filefleet.Errorf(filefleet.EINVALID, "organize request: %v", err)
	}
	return r, r.Validate()
}

// Summary describes a plan.
type Summary struct {
	Files        int            `json:"files"`        // files in the organized directory
	Moves        int            `json:"moves"`        // files the plan moves
	InPlace      int            `json:"in_place"`     // files left where they are
	Renamed      int            `json:"renamed"`      // moves that take a numeric suffix: the destination is taken
	Destinations map[string]int `json:"destinations"` // moves per destination directory
}

// ScanResult is a finished organize job's result: what it catalogued and, given a
// methodology, the plan it made.
type ScanResult struct {
	Files       int64    `json:"files"`
	ImagesRead  int64    `json:"images_read"`  // images whose EXIF date was read
	ImagesDated int64    `json:"images_dated"` // of those, with a date
	PlanID      string   `json:"plan_id,omitempty"`
	Summary     *Summary `json:"summary,omitempty"`
}

// MovesPerGroup is how many moves of a plan one task carries out (a few at a time).
const MovesPerGroup = 100

// Preview plans req from the catalog as it is now and stores the plan, awaiting approval; jobID
// is the organize job it plans from, if any. req must be valid.
func Preview(ctx context.Context, q sqlx.ExtContext, jobID *string, req Request) (*store.Plan, Summary, error) {
	src, err := planRoot(ctx, q, "root", req.Root)
	if err != nil {
		return nil, Summary{}, err
	}
	dst, err := planRoot(ctx, q, "target_root", req.TargetRoot)
	if err != nil {
		return nil, Summary{}, err
	}
	catalog, err := store.FilesUnder(ctx, q, src.ID, req.Path)
	if err != nil {
		return nil, Summary{}, err
	}
	occupied, err := store.PathsUnder(ctx, q, dst.ID, req.TargetPath)
	if err != nil {
		return nil, Summary{}, err
	}
	files := make([]File, len(catalog))
	byID := make(map[int64]store.CatalogFile, len(catalog))
	for i, f := range catalog {
		files[i] = File{ID: f.ID, Path: f.Path, Size: f.Size, ModTime: f.ModTime, TakenAt: f.TakenAt}
		byID[f.ID] = f
	}
	now := time.Now()
	moves := Plan(files, req.Params, PlanParams{Source: req.Path, Target: req.TargetPath, SameRoot: src.ID == dst.ID,
		Occupied: func(p string) bool { return occupied[p] }, Now: now})
	sum := Summary{Files: len(files), Moves: len(moves), InPlace: len(files) - len(moves), Destinations: map[string]int{}}
	items := make([]store.PlanItem, len(moves))
	for i, m := range moves {
		if storage.NotInTrash(m.Dst) != nil {
			return nil, Summary{}, filefleet.Errorf(filefleet.EINVALID,
				"the plan moves %s to %s, inside the trash folder %s/; choose a destination outside it", m.File.Path, m.Dst, filefleet.TrashDir)
		}
		f := byID[m.File.ID]
		rel := strings.TrimPrefix(strings.TrimPrefix(f.Path, req.Path), "/")
		if want, ok := req.Params.Destination(rel, m.File, now); ok && path.Join(req.TargetPath, want) != m.Dst {
			sum.Renamed++
		}
		sum.Destinations[path.Dir(m.Dst)]++
		items[i] = store.PlanItem{Seq: i, GroupID: int64(i / MovesPerGroup), Action: filefleet.ActionMove, RootID: src.ID,
			Path: f.Path, Size: f.Size, ModTime: f.ModTime, Hash: f.BLAKE3, KeepSeq: i, DstRootID: &dst.ID, DstPath: m.Dst}
	}
	params, _ := json.Marshal(req)
	plan := &store.Plan{ID: uuid.NewString(), Kind: store.PlanKindOrganize, JobID: jobID,
		Status: filefleet.PlanAwaitingApproval, Params: params, CreatedAt: now}
	if err := store.CreatePlan(ctx, q, *plan, items); err != nil {
		return nil, Summary{}, err
	}
	return plan, sum, nil
}

// planRoot loads a root a request names; EUNPROCESSABLE if there is none.
func planRoot(ctx context.Context, q sqlx.QueryerContext, field, name string) (*filefleet.Root, error) {
	root, err := store.GetRoot(ctx, q, nil, name)
	if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
		return nil, filefleet.Errorf(filefleet.EUNPROCESSABLE, "%s: storage root %q does not exist; create it with POST /api/v1/roots", field, name)
	}
	return root, err
}
