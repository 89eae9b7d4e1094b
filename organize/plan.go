package organize

import (
	"cmp"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Move is one planned move.
type Move struct {
	File File
	Src  string // root-relative
	Dst  string // root-relative, in the target root
}

// PlanParams say where files come from and go.
type PlanParams struct {
	Source   string            // directory inside the source root ("" = whole root)
	Target   string            // directory inside the target root the destinations are relative to ("" = root)
	SameRoot bool              // target root is the source root
	Occupied func(string) bool // reports whether a path exists in the target root now (from the catalog); nil = nothing
	Now      time.Time         // the age filters and para's archive age count from it
}

// maxSuffix bounds the collision suffixes tried for one file; past it the file stays.
const maxSuffix = 100_000

// Plan maps files (all under Source; others are skipped) to moves. p should have been
// validated. A Source or Target with a ".." element gives no moves.
//
// Files are processed in path order whatever the input order, so the plan is deterministic.
// A file with no destination stays, and so does, with SameRoot, a file whose destination is
// its path. A destination that is taken — Occupied, claimed by an earlier move of the plan
// or, with SameRoot, the path of any of files (moving or not: the plan never depends on the
// order of the moves) — gets a numeric suffix before its extension: "a.txt" → "a (1).txt",
// "a (2).txt"...; "a" → "a (1)"; "archive.tar.gz" → "archive (1).tar.gz". Paths collide
// case-insensitively among the plan's own paths, so the plan is safe on case-insensitive
// targets too. A file whose destination would be under a path the plan holds as a file
// stays, since the move could not succeed.
func Plan(files []File, p Params, pp PlanParams) []Move {
	source, ok1 := cleanDir(pp.Source)
	target, ok2 := cleanDir(pp.Target)
	if !ok1 || !ok2 {
		return nil
	}
	sorted := slices.Clone(files)
	slices.SortStableFunc(sorted, func(a, b File) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.ID, b.ID))
	})
	t := &taken{occupied: pp.Occupied, exact: map[string]bool{}, folded: map[string]int{}, dirs: map[string]bool{}}
	if pp.SameRoot {
		for _, f := range sorted {
			t.add(f.Path)
		}
	}
	var moves []Move
	seen := map[string]bool{}
	for _, f := range sorted {
		if seen[f.Path] {
			continue // the same path twice: the first one only
		}
		seen[f.Path] = true
		rel, ok := relTo(source, f.Path)
		if !ok {
			continue
		}
		d, ok := p.Destination(rel, f, pp.Now)
		if !ok {
			continue
		}
		dst := d
		if target != "" {
			dst = target + "/" + d
		}
		self := ""
		if pp.SameRoot {
			if dst == f.Path {
				continue
			}
			self = f.Path
		}
		if dst, ok = t.claim(dst, self); ok {
			moves = append(moves, Move{File: f, Src: f.Path, Dst: dst})
		}
	}
	return moves
}

// cleanDir cleans a directory path; "", "/" and "." are the root. ok is false when it has a
// ".." element.
func cleanDir(dir string) (string, bool) {
	if c, ok := cleanRel(dir); ok {
		return c, true
	}
	return "", !slices.Contains(strings.Split(dir, "/"), "..")
}

// relTo returns p relative to the directory dir ("" = root), ok=false when p is not under it.
func relTo(dir, p string) (string, bool) {
	if dir == "" {
		return p, p != ""
	}
	rel, ok := strings.CutPrefix(p, dir+"/")
	return rel, ok && rel != ""
}

// taken holds the paths of the target root a plan may not move files to.
type taken struct {
	occupied func(string) bool
	exact    map[string]bool // paths held by the plan
	folded   map[string]int  // their case-folded forms, counted
	dirs     map[string]bool // the case-folded directories above them
}

// fold returns the case-insensitive key of a path.
func fold(p string) string { return strings.ToLower(p) }

// add holds p.
func (t *taken) add(p string) {
	t.exact[p] = true
	t.folded[fold(p)]++
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		t.dirs[fold(d)] = true
	}
}

// busy reports whether p is taken for the file at self (self's own path, in another case,
// is not in its way; self is "" when the file is in another root).
func (t *taken) busy(p, self string) bool {
	if n := t.folded[fold(p)]; n > 1 || (n == 1 && !(t.exact[self] && fold(self) == fold(p))) {
		return true
	}
	return t.dirs[fold(p)] || (t.occupied != nil && t.occupied(p))
}

// blocked reports whether a directory above p is held as a file.
func (t *taken) blocked(p string) bool {
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if t.folded[fold(d)] > 0 {
			return true
		}
	}
	return false
}

// counterSuffix matches a collision suffix a name already has.
var counterSuffix = regexp.MustCompile(` \(\d+\)$`)

// claim holds dst, or the first free suffixed form of it, for the file at self; ok is false
// when none can be had.
func (t *taken) claim(dst, self string) (string, bool) {
	if t.blocked(dst) {
		return "", false
	}
	cand := dst
	for n := 1; t.busy(cand, self); n++ {
		if n > maxSuffix {
			return "", false
		}
		cand = Suffixed(dst, n)
	}
	t.add(cand)
	return cand, true
}

// Suffixed returns the path p with the collision suffix n before its extension:
// Suffixed("a/b.txt", 2) is "a/b (2).txt", Suffixed("a", 1) is "a (1)", Suffixed("x.tar.gz", 1)
// is "x (1).tar.gz". A suffix p already has is replaced ("b (1).txt" → "b (2).txt"); n <= 0
// returns p unchanged.
func Suffixed(p string, n int) string {
	if n <= 0 {
		return p
	}
	dir, base := path.Split(p)
	name, ext := splitExt(base)
	if stem := counterSuffix.ReplaceAllString(name, ""); stem != "" {
		name = stem
	}
	return fmt.Sprintf("%s%s (%d)%s", dir, name, n, ext)
}
