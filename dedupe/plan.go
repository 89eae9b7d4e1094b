// Package dedupe plans what happens to duplicate groups: which file of each group is kept
// under a keep policy, and what happens to the others.
package dedupe

import (
	"cmp"
	"slices"
	"strings"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
)

// Params choose the plan.
type Params struct {
	Keep            filefleet.KeepPolicy `json:"keep"`
	Action          filefleet.PlanAction `json:"action"`
	PreferredRoot   string               `json:"preferred_root,omitempty"`
	PreferredPrefix string               `json:"preferred_prefix,omitempty"`
}

// Validate checks p, filling in the defaults (keep oldest, action trash) and cleaning
// PreferredPrefix (a path inside a root).
func (p *Params) Validate() error {
	p.Keep = cmp.Or(p.Keep, filefleet.KeepOldest)
	p.Action = cmp.Or(p.Action, filefleet.ActionTrash)
	if !slices.Contains(filefleet.KeepPolicies, p.Keep) {
		return filefleet.Errorf(filefleet.EINVALID, "keep must be one of %v, not %q", filefleet.KeepPolicies, p.Keep)
	}
	if !slices.Contains(filefleet.DedupeActions, p.Action) {
		return filefleet.Errorf(filefleet.EINVALID, "action must be one of %v, not %q", filefleet.DedupeActions, p.Action)
	}
	if p.Keep == filefleet.KeepPreferredRoot && p.PreferredRoot == "" {
		return filefleet.Errorf(filefleet.EINVALID, "keep preferred_root needs preferred_root (a root name)")
	}
	prefix, err := storage.CleanPath(strings.Trim(p.PreferredPrefix, "/"))
	if err != nil {
		return filefleet.Errorf(filefleet.EINVALID, "preferred_prefix: %s", filefleet.ErrorMessage(err))
	}
	p.PreferredPrefix = prefix
	return nil
}

// Decision is what the plan does with one group: Keep stays, Others get Action.
type Decision struct {
	Group  filefleet.DuplicateGroup
	Keep   filefleet.DuplicateFile
	Others []filefleet.DuplicateFile
}

// Plan decides for every group that still has two files or more. The choice is
// deterministic: ties are broken by root name, then path.
func Plan(groups []filefleet.DuplicateGroup, p Params) []Decision {
	var out []Decision
	for _, g := range groups {
		if len(g.Files) < 2 {
			continue
		}
		files := slices.Clone(g.Files)
		slices.SortFunc(files, func(a, b filefleet.DuplicateFile) int {
			return cmp.Or(p.compare(a, b), cmp.Compare(a.Root, b.Root), cmp.Compare(a.Path, b.Path))
		})
		out = append(out, Decision{Group: g, Keep: files[0], Others: files[1:]})
	}
	return out
}

// compare orders files by preference to be kept: the one to keep first.
func (p Params) compare(a, b filefleet.DuplicateFile) int {
	switch p.Keep {
	case filefleet.KeepNewest:
		return b.ModifiedAt.Compare(a.ModifiedAt)
	case filefleet.KeepShortestPath:
		return cmp.Compare(len(a.Path), len(b.Path))
	case filefleet.KeepLongestPath:
		return cmp.Compare(len(b.Path), len(a.Path))
	case filefleet.KeepPreferredRoot:
		pa, pb := p.preferred(a), p.preferred(b)
		if pa != pb {
			if pa {
				return -1
			}
			return 1
		}
	}
	return a.ModifiedAt.Compare(b.ModifiedAt) // oldest
}

func (p Params) preferred(f filefleet.DuplicateFile) bool {
	return f.Root == p.PreferredRoot &&
		(p.PreferredPrefix == "" || strings.HasPrefix(f.Path, p.PreferredPrefix+"/"))
}
