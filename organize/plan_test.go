package organize_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/organize"
)

// files returns files at paths, modified at mtime.
func files(paths ...string) []organize.File {
	out := make([]organize.File, len(paths))
	for i, p := range paths {
		out[i] = organize.File{ID: int64(i + 1), Path: p, Size: 10, ModTime: mtime}
	}
	return out
}

// moves returns the moves as src → dst.
func moves(ms []organize.Move) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		out[m.Src] = m.Dst
	}
	return out
}

func validated(t *testing.T, p organize.Params) organize.Params {
	t.Helper()
	require.NoError(t, p.Validate())
	return p
}

func TestPlanCollisions(t *testing.T) {
	byType := organize.Params{Methodology: organize.ByType}
	cases := []struct {
		desc     string
		p        organize.Params
		files    []organize.File
		occupied []string
		sameRoot bool
		want     map[string]string
	}{
		{
			desc: "two files, one destination", p: byType,
			files: files("x/a.txt", "y/a.txt", "z/a.txt"),
			want:  map[string]string{"x/a.txt": "Documents/a.txt", "y/a.txt": "Documents/a (1).txt", "z/a.txt": "Documents/a (2).txt"},
		},
		{
			desc: "occupied in the target", p: byType,
			files:    files("x/a.txt"),
			occupied: []string{"Documents/a.txt", "Documents/a (1).txt"},
			want:     map[string]string{"x/a.txt": "Documents/a (2).txt"},
		},
		{
			desc: "no extension", p: byType,
			files: files("x/README", "y/README"),
			want:  map[string]string{"x/README": "Other/README", "y/README": "Other/README (1)"},
		},
		{
			desc: "dotfile", p: byType,
			files: files("x/.bashrc", "y/.bashrc"),
			want:  map[string]string{"x/.bashrc": "Other/.bashrc", "y/.bashrc": "Other/.bashrc (1)"},
		},
		{
			desc: "double extension", p: byType,
			files: files("x/archive.tar.gz", "y/archive.tar.gz", "z/v1.2.zip", "w/v1.2.zip"),
			want: map[string]string{
				"x/archive.tar.gz": "Archives/archive.tar.gz", "y/archive.tar.gz": "Archives/archive (1).tar.gz",
				"w/v1.2.zip": "Archives/v1.2.zip", "z/v1.2.zip": "Archives/v1.2 (1).zip",
			},
		},
		{
			desc: "a suffix is counted on, not stacked", p: byType,
			files: files("x/a (1).txt", "y/a (1).txt"),
			want:  map[string]string{"x/a (1).txt": "Documents/a (1).txt", "y/a (1).txt": "Documents/a (2).txt"},
		},
		{
			desc: "case-insensitive", p: byType,
			files: files("x/A.TXT", "y/a.txt"),
			want:  map[string]string{"x/A.TXT": "Documents/A.TXT", "y/a.txt": "Documents/a (1).txt"},
		},
		{
			desc: "same root: files in place stay and hold their path", p: byType, sameRoot: true,
			files: files("Documents/a.txt", "b/a.txt", "Images/c.jpg"),
			want:  map[string]string{"b/a.txt": "Documents/a (1).txt"},
		},
		{
			desc: "same root: a path moved away is still held",
			p: organize.Params{Methodology: organize.Rules, Rules: []organize.Rule{
				{Extensions: []string{"txt"}, Destination: "old/{name}{ext}"},
				{Extensions: []string{"md"}, Destination: "{name}.txt"},
			}},
			sameRoot: true,
			files:    files("a.txt", "a.md"),
			want:     map[string]string{"a.txt": "old/a.txt", "a.md": "a (1).txt"},
		},
		{
			desc: "other roots: a same path is no collision", p: byType,
			files: files("Documents/a.txt"),
			want:  map[string]string{"Documents/a.txt": "Documents/a.txt"},
		},
		{
			desc: "same root: a case-only rename", p: organize.Params{Methodology: organize.Para}, sameRoot: true,
			files: []organize.File{{Path: "projects/x/notes.txt", ModTime: recent}, {Path: "projects/plan.txt", ModTime: recent}},
			want:  map[string]string{"projects/x/notes.txt": "Resources/x/notes.txt", "projects/plan.txt": "Projects/plan.txt"},
		},
		{
			desc: "a destination under a file stays put", p: byType, sameRoot: true,
			files: files("Images", "a.jpg"),
			want:  map[string]string{"Images": "Other/Images"},
		},
		{
			desc:     "a destination that is a directory gets a suffix",
			p:        organize.Params{Methodology: organize.Rules, Rules: []organize.Rule{{Extensions: []string{"bin"}, Destination: "Docs"}}},
			sameRoot: true,
			files:    files("Docs/x.txt", "a.bin"),
			want:     map[string]string{"a.bin": "Docs (1)"},
		},
	}
	for _, tc := range cases {
		p := validated(t, tc.p)
		pp := organize.PlanParams{SameRoot: tc.sameRoot, Now: now, Occupied: func(s string) bool {
			return slices.Contains(tc.occupied, s)
		}}
		require.Equal(t, tc.want, moves(organize.Plan(tc.files, p, pp)), tc.desc)
	}
}

func TestPlanDeterministic(t *testing.T) {
	fs := variedFiles()
	fs = append(fs, files("x/a.txt", "y/a.txt", "z/A.txt", "b/a.txt", "Documents/a.txt")...)
	for i := range fs {
		fs[i].ID = int64(i + 1)
	}
	for _, m := range []organize.Methodology{organize.ByType, organize.ByExtension, organize.ByDate, organize.Para} {
		p := validated(t, organize.Params{Methodology: m})
		pp := organize.PlanParams{SameRoot: true, Now: now}
		want := organize.Plan(fs, p, pp)
		require.True(t, slices.IsSortedFunc(want, func(a, b organize.Move) int { return strings.Compare(a.Src, b.Src) }))
		r := rand.New(rand.NewPCG(1, 2))
		for range 20 {
			shuffled := slices.Clone(fs)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			require.Equal(t, want, organize.Plan(shuffled, p, pp), m)
		}
	}
}

func TestPlanSourceTarget(t *testing.T) {
	p := validated(t, organize.Params{Methodology: organize.ByType})
	fs := files("inbox/a.jpg", "inbox/sub/b.pdf", "other/c.jpg", "inboxy/d.jpg")
	got := moves(organize.Plan(fs, p, organize.PlanParams{Source: "inbox/", Target: "/sorted", SameRoot: true, Now: now}))
	require.Equal(t, map[string]string{
		"inbox/a.jpg":     "sorted/Images/a.jpg",
		"inbox/sub/b.pdf": "sorted/Documents/b.pdf",
	}, got)

	// The organized directory is its own target: paths are relative to it.
	got = moves(organize.Plan(fs, p, organize.PlanParams{Source: "inbox", Target: "inbox", SameRoot: true, Now: now}))
	require.Equal(t, map[string]string{
		"inbox/a.jpg":     "inbox/Images/a.jpg",
		"inbox/sub/b.pdf": "inbox/Documents/b.pdf",
	}, got)
	require.Empty(t, organize.Plan(files("inbox/Images/a.jpg"), p,
		organize.PlanParams{Source: "inbox", Target: "inbox", SameRoot: true, Now: now}))

	// Escaping directories plan nothing rather than fall back to the root.
	require.Empty(t, organize.Plan(fs, p, organize.PlanParams{Source: "inbox", Target: "../sorted", Now: now}))
	require.Empty(t, organize.Plan(fs, p, organize.PlanParams{Source: "inbox/..", Now: now}))
	require.Len(t, organize.Plan(fs, p, organize.PlanParams{Source: "./", Target: ".", Now: now}), 4)
}

func TestPlanKeepsFileAndDuplicates(t *testing.T) {
	p := validated(t, organize.Params{Methodology: organize.ByType})
	fs := files("x/a.txt")
	fs[0].TakenAt = &taken
	fs = append(fs, organize.File{ID: 9, Path: "x/a.txt"}) // the same path twice
	ms := organize.Plan(fs, p, organize.PlanParams{Now: now})
	require.Len(t, ms, 1)
	require.Equal(t, fs[0], ms[0].File)
	require.Equal(t, "x/a.txt", ms[0].Src)
	require.Equal(t, "Documents/a.txt", ms[0].Dst)
}

// apply runs the moves on a set of paths.
func apply(fs []organize.File, ms []organize.Move) []organize.File {
	dst := moves(ms)
	out := slices.Clone(fs)
	for i, f := range out {
		if d, ok := dst[f.Path]; ok {
			out[i].Path = d
		}
	}
	return out
}

func TestIdempotent(t *testing.T) {
	fs := variedFiles()
	fs = append(fs, files("x/a.txt", "y/a.txt", "z/A.txt", "Documents/a.txt", "b/.bashrc", "c/archive.tar.gz")...)
	para := []organize.File{
		{Path: "work/client-acme/offer.docx", ModTime: recent},
		{Path: "Projects/site/index.html", ModTime: recent},
		{Path: "projects/site/index.html", ModTime: recent},
		{Path: "Health/bloodwork.pdf", ModTime: recent},
		{Path: "archive/x.txt", ModTime: recent},
		{Path: "Archive/x.txt", ModTime: recent},
		{Path: "Resources/Projects/x.txt", ModTime: recent},
		{Path: "Areas/client/x.txt", ModTime: recent},
		{Path: "old/client/x.txt", ModTime: old},
		{Path: "notes/guide.md", ModTime: recent},
		{Path: "random/cat.jpg", ModTime: recent},
		{Path: "cat.jpg", ModTime: recent},
	}
	fs = append(fs, para...)
	for i := range fs {
		fs[i].ID = int64(i + 1)
	}
	all := []organize.Params{
		{Methodology: organize.Para},
		{Methodology: organize.Para, Para: &organize.ParaConfig{ProjectKeywords: []string{"site"}, ArchiveAfterDays: 30}},
		{Methodology: organize.ByType},
		{Methodology: organize.ByDate},
		{Methodology: organize.ByExtension},
		{Methodology: organize.Rules, Rules: []organize.Rule{
			{Extensions: []string{"jpg"}, Destination: "Photos/{year}/{month}/"},
			{NameRegex: `^\.`, Destination: "dotfiles/{name}{ext}"},
			{Destination: "{type}/{extension}/"},
		}},
	}
	for _, p := range all {
		p := validated(t, p)
		for _, pp := range []organize.PlanParams{
			{SameRoot: true, Now: now},
			{Source: "tree", Target: "tree", SameRoot: true, Now: now},
		} {
			in := slices.Clone(fs)
			if pp.Source != "" {
				for i := range in {
					in[i].Path = pp.Source + "/" + in[i].Path
				}
			}
			first := organize.Plan(in, p, pp)
			require.NotEmpty(t, first, p.Methodology)
			out := apply(in, first)
			paths := map[string]bool{}
			for _, f := range out {
				require.False(t, paths[f.Path], "%s: %s taken twice", p.Methodology, f.Path)
				paths[f.Path] = true
			}
			require.Empty(t, organize.Plan(out, p, pp), "%s: organizing the output again moves nothing", p.Methodology)
		}
	}
}

func TestPlanOccupiedNil(t *testing.T) {
	p := validated(t, organize.Params{Methodology: organize.ByDate})
	ms := organize.Plan(files("a.txt"), p, organize.PlanParams{Now: time.Now()})
	require.Equal(t, map[string]string{"a.txt": "2024/02/a.txt"}, moves(ms))
}

func TestSuffixed(t *testing.T) {
	for _, tc := range []struct {
		p    string
		n    int
		want string
	}{
		{"a.txt", 1, "a (1).txt"},
		{"dir/sub/a.txt", 2, "dir/sub/a (2).txt"},
		{"a", 1, "a (1)"},
		{".bashrc", 3, ".bashrc (3)"},
		{"x/archive.tar.gz", 1, "x/archive (1).tar.gz"},
		{"v1.2.zip", 1, "v1.2 (1).zip"},
		{"a (1).txt", 2, "a (2).txt"},
		{"a (1).txt", 1, "a (1).txt"},
		{" (1).txt", 1, " (1) (1).txt"},
		{"notes from 10.30 meeting", 1, "notes from 10.30 meeting (1)"},
		{"a.txt", 0, "a.txt"},
	} {
		require.Equal(t, tc.want, organize.Suffixed(tc.p, tc.n), "%q %d", tc.p, tc.n)
	}
}
