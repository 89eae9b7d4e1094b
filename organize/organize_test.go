package organize_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/organize"
)

var (
	now    = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	recent = time.Date(2025, 6, 1, 8, 30, 0, 0, time.UTC)
	mtime  = time.Date(2024, 2, 3, 23, 59, 0, 0, time.FixedZone("CET", 3600)) // 2024-02-03 22:59 UTC
	old    = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	taken  = time.Date(2023, 7, 4, 10, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

// variedFiles are files with awkward names, all modified at mtime; the JPG has an EXIF date.
func variedFiles() []organize.File {
	paths := []string{
		"report.PDF",
		"photos/IMG_0001.JPG",
		"música/canción.mp3",
		"Makefile",
		"README",
		".bashrc",
		".config.json",
		"backup/archive.tar.gz",
		"a/b/c/d/e/deep.go",
		"notes from 10.30 meeting",
		"日本語/メモ.txt",
		"clip.MOV",
		"weird.unknownext",
	}
	files := make([]organize.File, len(paths))
	for i, p := range paths {
		files[i] = organize.File{ID: int64(i + 1), Path: p, Size: 1000, ModTime: mtime}
	}
	files[1].TakenAt = &taken
	return files
}

func TestDestinationMethodologies(t *testing.T) {
	want := map[organize.Methodology][]string{
		organize.ByType: {
			"Documents/report.PDF",
			"Images/IMG_0001.JPG",
			"Audio/canción.mp3",
			"Code/Makefile",
			"Other/README",
			"Other/.bashrc",
			"Code/.config.json",
			"Archives/archive.tar.gz",
			"Code/deep.go",
			"Other/notes from 10.30 meeting",
			"Documents/メモ.txt",
			"Video/clip.MOV",
			"Other/weird.unknownext",
		},
		organize.ByDate: {
			"2024/02/report.PDF",
			"2023/07/IMG_0001.JPG",
			"2024/02/canción.mp3",
			"2024/02/Makefile",
			"2024/02/README",
			"2024/02/.bashrc",
			"2024/02/.config.json",
			"2024/02/archive.tar.gz",
			"2024/02/deep.go",
			"2024/02/notes from 10.30 meeting",
			"2024/02/メモ.txt",
			"2024/02/clip.MOV",
			"2024/02/weird.unknownext",
		},
		organize.ByExtension: {
			"pdf/report.PDF",
			"jpg/IMG_0001.JPG",
			"mp3/canción.mp3",
			"no_extension/Makefile",
			"no_extension/README",
			"no_extension/.bashrc",
			"json/.config.json",
			"tar.gz/archive.tar.gz",
			"go/deep.go",
			"no_extension/notes from 10.30 meeting",
			"txt/メモ.txt",
			"mov/clip.MOV",
			"unknownext/weird.unknownext",
		},
	}
	files := variedFiles()
	for m, dsts := range want {
		p := organize.Params{Methodology: m}
		require.NoError(t, p.Validate())
		for i, f := range files {
			dst, ok := p.Destination(f.Path, f, now)
			require.True(t, ok, "%s %s", m, f.Path)
			require.Equal(t, dsts[i], dst, "%s %s", m, f.Path)
		}
	}
}

func TestCategory(t *testing.T) {
	for name, want := range map[string]string{
		"a.pdf": "Documents", "A.DOCX": "Documents", "x/y/notes.md": "Documents", "t.csv": "Documents",
		"a.jpeg": "Images", "b.HEIC": "Images", "c.cr2": "Images", "d.webp": "Images",
		"a.mkv": "Video", "b.mp4": "Video", "a.flac": "Audio", "b.m4a": "Audio",
		"a.zip": "Archives", "b.tar.gz": "Archives", "c.TAR.BZ2": "Archives", "d.7z": "Archives", "e.tar": "Archives",
		"main.go": "Code", "x.py": "Code", "Dockerfile": "Code", "makefile": "Code", "cfg.yaml": "Code",
		"README": "Other", ".bashrc": "Other", "x.": "Other", "blob.qqqzzz": "Other", "": "Other",
	} {
		require.Equal(t, want, organize.Category(name), name)
	}
}

func TestPara(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		path  string
		mtime time.Time
		cfg   *organize.ParaConfig
		want  string
	}{
		{"work/client-acme/offer.docx", recent, nil, "Projects/work/client-acme/offer.docx"},
		{"sprint-12-plan.md", recent, nil, "Projects/sprint-12-plan.md"},
		{"Health/bloodwork.pdf", recent, nil, "Areas/Health/bloodwork.pdf"},
		{"money/Taxes 2024.xlsx", recent, nil, "Areas/money/Taxes 2024.xlsx"},
		{"manuals/dishwasher guide.pdf", recent, nil, "Resources/manuals/dishwasher guide.pdf"},
		{"client/health.txt", recent, nil, "Projects/client/health.txt"}, // Projects before Areas
		{"projectile.txt", recent, nil, "Resources/projectile.txt"},      // words, not substrings
		{"random/cat.jpg", recent, nil, "Resources/random/cat.jpg"},
		{"Archive", recent, nil, "Resources/Archive"}, // a file named like a folder
		{"work/client-acme/old.docx", old, nil, "Archive/work/client-acme/old.docx"},
		{"Projects/site/index.html", recent, nil, "Projects/site/index.html"},
		{"archive/old-stuff/x.txt", recent, nil, "Archive/old-stuff/x.txt"},
		{"RESOURCES/x.txt", recent, nil, "Resources/x.txt"},
		{"Areas/project-x/plan.txt", recent, nil, "Projects/project-x/plan.txt"},
		{"Resources/Projects/x.txt", recent, nil, "Projects/Projects/x.txt"},
		{"Archive/old.txt", old, nil, "Archive/old.txt"},
		{"Projects/notes/a.txt", now.Add(-179 * day), nil, "Resources/notes/a.txt"},
		{"Projects/a.txt", now.Add(-181 * day), nil, "Archive/a.txt"},
		// custom settings replace the defaults
		{"acme/x.txt", recent, &organize.ParaConfig{ProjectKeywords: []string{"ACME"}}, "Projects/acme/x.txt"},
		{"client/x.txt", recent, &organize.ParaConfig{ProjectKeywords: []string{"acme"}}, "Resources/client/x.txt"},
		{"x.txt", now.Add(-40 * day), &organize.ParaConfig{ArchiveAfterDays: 30}, "Archive/x.txt"},
		{"x.txt", now.Add(-20 * day), &organize.ParaConfig{ArchiveAfterDays: 30}, "Resources/x.txt"},
		{"gym/x.txt", recent, &organize.ParaConfig{AreaKeywords: []string{"gym"}}, "Areas/gym/x.txt"},
		{"stuff/cheatsheet.pdf", recent, &organize.ParaConfig{ResourceKeywords: []string{"cheatsheet"}}, "Resources/stuff/cheatsheet.pdf"},
	}
	for _, tc := range cases {
		p := organize.Params{Methodology: organize.Para, Para: tc.cfg}
		require.NoError(t, p.Validate())
		dst, ok := p.Destination(tc.path, organize.File{Path: tc.path, ModTime: tc.mtime}, now)
		require.True(t, ok, tc.path)
		require.Equal(t, tc.want, dst, tc.path)
	}
}

func TestParaDefaults(t *testing.T) {
	p := organize.Params{Methodology: organize.Para}
	require.NoError(t, p.Validate())
	require.Equal(t, 180, p.Para.ArchiveAfterDays)
	require.Equal(t, organize.ProjectKeywordsDefault, p.Para.ProjectKeywords)
	require.Contains(t, p.Para.AreaKeywords, "taxes")
	require.Contains(t, p.Para.ResourceKeywords, "notes")

	// Destination copes with params that were not validated.
	p = organize.Params{Methodology: organize.Para}
	dst, ok := p.Destination("client/a.txt", organize.File{ModTime: recent}, now)
	require.True(t, ok)
	require.Equal(t, "Projects/client/a.txt", dst)
}

func TestRules(t *testing.T) {
	rules := []organize.Rule{
		{Name: "raw photos", Extensions: []string{"CR2", ".nef"}, Destination: "Photos/RAW/{year}/"},
		{Name: "big videos", MimeType: "video/*", MinSize: ptr[int64](100 << 20), Destination: "Video/Big/{name}{ext}"},
		{Name: "invoices", NameRegex: `(?i)^invoice[-_ ]\d+`, Destination: "Finance/Invoices/{year}-{month}/{name}{ext}"},
		{Name: "screenshots", NameGlob: "Screenshot*.png", Destination: "Images/Screenshots/{year}/{month}/{day}/"},
		{Name: "old downloads", PathPrefix: "/Downloads/", OlderThanDays: 30, Destination: "Archive/{dir}/"},
		{Name: "recent pdf", Extensions: []string{"pdf"}, NewerThanDays: 30, MaxSize: ptr[int64](10 << 20),
			Destination: "{type}/Recent/{extension}/{name}{ext}"},
		{Name: "gzip", Extensions: []string{"gz"}, Destination: "Compressed/{extension}/{name}{ext}"},
		{Name: "readme", NameGlob: "README*", Destination: "{dir}/docs/{name}"},
		{Name: "png", MimeType: "image/png", Destination: "./PNG//{name}{ext}"},
	}
	p := organize.Params{Methodology: organize.Rules, Rules: rules}
	require.NoError(t, p.Validate())
	cases := []struct {
		f    organize.File
		want string // "" = stays
	}{
		{organize.File{Path: "cam/IMG_1.CR2", ModTime: mtime, TakenAt: &taken}, "Photos/RAW/2023/IMG_1.CR2"},
		{organize.File{Path: "cam/DSC_1.nef", ModTime: mtime}, "Photos/RAW/2024/DSC_1.nef"},
		{organize.File{Path: "clip.mp4", Size: 200 << 20, ModTime: mtime}, "Video/Big/clip.mp4"},
		{organize.File{Path: "small.mp4", Size: 1 << 20, ModTime: mtime}, ""},
		{organize.File{Path: "mail/Invoice_0042.pdf", Size: 100, ModTime: recent}, "Finance/Invoices/2025-06/Invoice_0042.pdf"},
		{organize.File{Path: "Screenshot 2025-06-01.png", ModTime: recent}, "Images/Screenshots/2025/06/01/Screenshot 2025-06-01.png"},
		{organize.File{Path: "Downloads/sub/setup.exe", ModTime: old}, "Archive/Downloads/sub/setup.exe"},
		{organize.File{Path: "Downloads/new.exe", ModTime: recent}, ""},
		{organize.File{Path: "Downloadsx/a.exe", ModTime: old}, ""},
		{organize.File{Path: "paper.pdf", Size: 1 << 20, ModTime: recent}, "Documents/Recent/pdf/paper.pdf"},
		{organize.File{Path: "paper-old.pdf", Size: 1 << 20, ModTime: old}, ""},
		{organize.File{Path: "huge.pdf", Size: 11 << 20, ModTime: recent}, ""},
		{organize.File{Path: "backup.tar.gz", ModTime: mtime}, "Compressed/tar.gz/backup.tar.gz"},
		{organize.File{Path: "README", ModTime: mtime}, "docs/README"},
		{organize.File{Path: "x/y/README.md", ModTime: mtime}, "x/y/docs/README"},
		{organize.File{Path: "ü/bild.PNG", ModTime: mtime}, "PNG/bild.PNG"},
	}
	for _, tc := range cases {
		dst, ok := p.Destination(tc.f.Path, tc.f, now)
		require.Equal(t, tc.want != "", ok, tc.f.Path)
		require.Equal(t, tc.want, dst, tc.f.Path)
	}
}

func TestDestinationBadRel(t *testing.T) {
	p := organize.Params{Methodology: organize.ByType}
	require.NoError(t, p.Validate())
	for _, rel := range []string{"", ".", "..", "../a.txt", "a/../../b.txt", "/"} {
		_, ok := p.Destination(rel, organize.File{}, now)
		require.False(t, ok, rel)
	}
	dst, ok := p.Destination("/x//./a.txt", organize.File{}, now)
	require.True(t, ok)
	require.Equal(t, "Documents/a.txt", dst)
}

func TestParamsJSON(t *testing.T) {
	var p organize.Params
	require.NoError(t, json.Unmarshal([]byte(`{
		"methodology": "rules",
		"para": {"project_keywords": ["x"], "archive_after_days": 9},
		"rules": [{"name": "r", "extensions": ["jpg"], "name_glob": "*.jpg", "name_regex": "^a",
			"min_size": 1, "max_size": 2, "older_than_days": 3, "newer_than_days": 4,
			"path_prefix": "p", "mime_type": "image/*", "destination": "{type}/"}]
	}`), &p))
	require.NoError(t, p.Validate())
	require.Equal(t, 9, p.Para.ArchiveAfterDays)
	r := p.Rules[0]
	require.Equal(t, "r", r.Name)
	require.Equal(t, []string{"jpg"}, r.Extensions)
	require.Equal(t, "*.jpg", r.NameGlob)
	require.Equal(t, "^a", r.NameRegex)
	require.EqualValues(t, 1, *r.MinSize)
	require.EqualValues(t, 2, *r.MaxSize)
	require.Equal(t, 3, r.OlderThanDays)
	require.Equal(t, 4, r.NewerThanDays)
	require.Equal(t, "p", r.PathPrefix)
	require.Equal(t, "image/*", r.MimeType)
	require.Equal(t, "{type}/", r.Destination)
}
