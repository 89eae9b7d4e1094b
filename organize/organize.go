// Package organize decides where each file of a directory goes under an organizing
// methodology (PARA, by type, by date, by extension or the user's rules) and plans the moves.
package organize

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/filefleet/filefleet"
)

// Methodology names how files are organized.
type Methodology string

// Methodologies.
const (
	Para        Methodology = "para"         // Projects / Areas / Resources / Archive
	ByType      Methodology = "by_type"      // Documents, Images, Video, Audio, Archives, Code, Other
	ByDate      Methodology = "by_date"      // YYYY/MM from the EXIF date (images) or mtime
	ByExtension Methodology = "by_extension" // one folder per lower-case extension, "no_extension"
	Rules       Methodology = "rules"        // the user's ordered rules
)

// Methodologies lists every methodology, in the order shown to users.
var Methodologies = []Methodology{Para, ByType, ByDate, ByExtension, Rules}

// MaxRules is the largest number of rules Params may hold.
const MaxRules = 100

// NoExtensionFolder is the by_extension folder of files without an extension.
const NoExtensionFolder = "no_extension"

// File is what the planner knows of a catalog file.
type File struct {
	ID      int64      // catalog id, carried through
	Path    string     // relative to the root, slash-separated, no leading slash
	Size    int64      // bytes
	ModTime time.Time  // last modification
	TakenAt *time.Time // EXIF DateTimeOriginal for images, when known
}

// date returns the date files are filed under: TakenAt when known, else ModTime, in UTC.
func (f File) date() time.Time {
	if f.TakenAt != nil && !f.TakenAt.IsZero() {
		return f.TakenAt.UTC()
	}
	return f.ModTime.UTC()
}

// Params choose the plan (they come from the JSON body of POST /api/v1/organize/preview).
type Params struct {
	Methodology Methodology `json:"methodology"`
	Para        *ParaConfig `json:"para,omitempty"`
	Rules       []Rule      `json:"rules,omitempty"`
}

// Validate checks p and fills in the defaults (the para keywords and archive age). It
// returns EINVALID, with a message naming the bad field, for an empty or unknown
// methodology, rules methodology without rules, more than MaxRules rules, or a bad rule or
// para setting. Rules and para settings are checked whenever they are given.
func (p *Params) Validate() error {
	if p.Methodology == "" {
		return filefleet.Errorf(filefleet.EINVALID, "methodology is required: one of %v", Methodologies)
	} else if !slices.Contains(Methodologies, p.Methodology) {
		return filefleet.Errorf(filefleet.EINVALID, "methodology must be one of %v, not %q", Methodologies, p.Methodology)
	}
	if p.Methodology == Rules && len(p.Rules) == 0 {
		return filefleet.Errorf(filefleet.EINVALID, "rules: methodology %q needs at least one rule", Rules)
	}
	if len(p.Rules) > MaxRules {
		return filefleet.Errorf(filefleet.EINVALID, "rules: at most %d rules, got %d", MaxRules, len(p.Rules))
	}
	for i := range p.Rules {
		if err := p.Rules[i].validate(fmt.Sprintf("rules[%d]", i)); err != nil {
			return err
		}
	}
	if p.Para == nil && p.Methodology == Para {
		p.Para = &ParaConfig{}
	}
	if p.Para != nil {
		if err := p.Para.validate(); err != nil {
			return err
		}
	}
	return nil
}

// Destination returns where f goes, relative to the organized directory (rel is f's path
// relative to that directory), or ok=false when it has nowhere to go and stays: no rule
// matched, rel is not a clean relative path, or the result would escape the directory.
// The result is a clean relative path: never "..", never absolute, never empty. It may
// equal rel. p should have been validated.
func (p *Params) Destination(rel string, f File, now time.Time) (dst string, ok bool) {
	rel, ok = cleanRel(rel)
	if !ok {
		return "", false
	}
	base := path.Base(rel)
	switch p.Methodology {
	case Para:
		dst = paraDestination(cmp.Or(p.Para, &ParaConfig{}), rel, f, now)
	case ByType:
		dst = Category(base) + "/" + base
	case ByDate:
		d := f.date()
		dst = fmt.Sprintf("%04d/%02d/%s", d.Year(), int(d.Month()), base)
	case ByExtension:
		folder := strings.ToLower(strings.TrimPrefix(extension(base), "."))
		dst = cmp.Or(folder, NoExtensionFolder) + "/" + base
	case Rules:
		for i := range p.Rules {
			if p.Rules[i].matches(rel, f, now) {
				dst, ok = p.Rules[i].expand(rel, f)
				if !ok {
					return "", false
				}
				break
			}
		}
	}
	return cleanRel(dst)
}

// cleanRel cleans a slash-separated relative path: empty and "." elements go, a leading
// slash is dropped. ok is false when the path is empty or holds a ".." element.
func cleanRel(p string) (string, bool) {
	elems := strings.Split(p, "/")
	out := elems[:0]
	for _, e := range elems {
		switch e {
		case "", ".":
			continue
		case "..":
			return "", false
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return "", false
	}
	return strings.Join(out, "/"), true
}

// compoundExts are the inner extensions kept with the outer one: "archive.tar.gz" has the
// extension ".tar.gz".
var compoundExts = []string{".tar"}

// maxExtLen is the longest extension, dot excluded; a longer tail after the last dot is part
// of the name ("notes from 10.30 meeting" has no extension).
const maxExtLen = 16

// splitExt splits a base name into its name and its extension (with the dot, as written).
// A leading dot does not start an extension (".bashrc" has none), nor does a trailing dot
// or a tail with spaces or longer than 16 characters. ".tar.gz" and the like are one
// extension.
func splitExt(base string) (name, ext string) {
	ext = singleExt(base)
	name = base[:len(base)-len(ext)]
	if ext == "" {
		return name, ""
	}
	if inner := singleExt(name); inner != "" && slices.ContainsFunc(compoundExts, func(c string) bool {
		return strings.EqualFold(c, inner)
	}) {
		return name[:len(name)-len(inner)], inner + ext
	}
	return name, ext
}

// singleExt returns the last extension of base, with the dot, or "".
func singleExt(base string) string {
	i := strings.LastIndexByte(base, '.')
	if i <= 0 || i == len(base)-1 || strings.TrimLeft(base[:i], ".") == "" {
		return ""
	}
	ext := base[i:]
	if len([]rune(ext))-1 > maxExtLen || strings.ContainsFunc(ext, unicode.IsSpace) {
		return ""
	}
	return ext
}

// extension returns the extension of base with its dot, as written ("" when none).
func extension(base string) string {
	_, ext := splitExt(base)
	return ext
}
