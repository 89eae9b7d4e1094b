package organize

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/filefleet/filefleet"
)

// Rule is one user rule: every filter that is set must match; the first matching rule wins.
type Rule struct {
	Name          string   `json:"name,omitempty"`
	Extensions    []string `json:"extensions,omitempty"`      // "jpg" or ".jpg", case-insensitive
	NameGlob      string   `json:"name_glob,omitempty"`       // on the base name, path.Match syntax
	NameRegex     string   `json:"name_regex,omitempty"`      // Go RE2 on the base name
	MinSize       *int64   `json:"min_size,omitempty"`        // bytes, inclusive
	MaxSize       *int64   `json:"max_size,omitempty"`        // bytes, inclusive
	OlderThanDays int      `json:"older_than_days,omitempty"` // mtime before now - N days
	NewerThanDays int      `json:"newer_than_days,omitempty"` // mtime after now - N days
	PathPrefix    string   `json:"path_prefix,omitempty"`     // relative to the organized directory
	MimeType      string   `json:"mime_type,omitempty"`       // "image/png" or "image/*" (MIME from the extension)
	Destination   string   `json:"destination"`               // template, e.g. "{type}/{year}/{name}{ext}"

	re       *regexp.Regexp // NameRegex, compiled by validate
	template []segment      // Destination, parsed by validate
}

// TemplateVariables lists the variables of a destination template: {name} (base name
// without extension), {ext} (extension with its dot, as written, may be empty), {extension}
// (lower-case, without the dot), {type} (Category), {year} {month} {day} (of the EXIF date
// or mtime, UTC, zero-padded) and {dir} (directory of the file in the organized directory,
// empty at its top).
var TemplateVariables = []string{"name", "ext", "extension", "type", "year", "month", "day", "dir"}

// mayBeEmpty lists the template variables that can expand to "".
var mayBeEmpty = []string{"ext", "extension", "dir"}

// segment is a piece of a template: literal text, or a variable when v is set.
type segment struct {
	lit string
	v   string
}

// parseTemplate splits a destination template into literal text and {variables}.
func parseTemplate(s string) ([]segment, error) {
	var segs []segment
	for s != "" {
		i := strings.IndexAny(s, "{}")
		if i < 0 {
			segs = append(segs, segment{lit: s})
			break
		}
		if i > 0 {
			segs = append(segs, segment{lit: s[:i]})
		}
		if s[i] == '}' {
			return nil, fmt.Errorf("unmatched } at byte %d", i)
		}
		j := strings.IndexAny(s[i+1:], "{}")
		if j < 0 || s[i+1+j] == '{' {
			return nil, fmt.Errorf("unclosed { at byte %d", i)
		}
		v := s[i+1 : i+1+j]
		if !slices.Contains(TemplateVariables, v) {
			return nil, fmt.Errorf("unknown variable {%s}, want one of {%s}", v, strings.Join(TemplateVariables, "}, {"))
		}
		segs = append(segs, segment{v: v})
		s = s[i+1+j+1:]
	}
	return segs, nil
}

// checkTemplate parses a destination template and checks that it stays inside the organized
// directory whatever the variables hold.
func checkTemplate(s string) ([]segment, error) {
	switch {
	case s == "":
		return nil, fmt.Errorf("is required (a template such as %q)", "{type}/{year}/{name}{ext}")
	case strings.Contains(s, "\\"):
		return nil, fmt.Errorf("%q: backslashes are not allowed, use /", s)
	case strings.ContainsRune(s, 0):
		return nil, fmt.Errorf("%q: NUL is not allowed", s)
	case strings.HasPrefix(s, "/"):
		return nil, fmt.Errorf("%q: must be relative to the organized directory, not absolute", s)
	}
	segs, err := parseTemplate(s)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	// Expand the variables that may be empty to "" and the others to "x": no element may
	// then be "..", and something must be left to name a file.
	var b strings.Builder
	for _, sg := range segs {
		switch {
		case sg.v == "":
			b.WriteString(sg.lit)
		case !slices.Contains(mayBeEmpty, sg.v):
			b.WriteString("x")
		}
	}
	named := strings.HasSuffix(s, "/")
	for _, e := range strings.Split(b.String(), "/") {
		if e == ".." {
			return nil, fmt.Errorf("%q: must not contain .. elements", s)
		}
		named = named || (e != "" && e != ".")
	}
	if !named {
		return nil, fmt.Errorf("%q: names no file", s)
	}
	return segs, nil
}

// validate normalizes r (extensions, path prefix, MIME type), compiles its regex and
// template, and checks it; field prefixes the field names of the error messages.
func (r *Rule) validate(field string) error {
	bad := func(name, format string, args ...any) error {
		return filefleet.Errorf(filefleet.EINVALID, "%s.%s: %s", field, name, fmt.Sprintf(format, args...))
	}
	for i, e := range r.Extensions {
		e = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(e), "."))
		if e == "" {
			return bad(fmt.Sprintf("extensions[%d]", i), "empty extension")
		} else if strings.ContainsAny(e, "/\\") {
			return bad(fmt.Sprintf("extensions[%d]", i), "extension %q cannot contain a slash", e)
		}
		r.Extensions[i] = e
	}
	if r.NameGlob != "" {
		if strings.Contains(r.NameGlob, "/") {
			return bad("name_glob", "%q: matches the base name, so it cannot contain /", r.NameGlob)
		} else if _, err := path.Match(r.NameGlob, ""); err != nil {
			return bad("name_glob", "%q: %v", r.NameGlob, err)
		}
	}
	r.re = nil
	if r.NameRegex != "" {
		re, err := regexp.Compile(r.NameRegex)
		if err != nil {
			return bad("name_regex", "%v", err)
		}
		r.re = re
	}
	if r.MinSize != nil && *r.MinSize < 0 {
		return bad("min_size", "must not be negative, got %d", *r.MinSize)
	} else if r.MaxSize != nil && *r.MaxSize < 0 {
		return bad("max_size", "must not be negative, got %d", *r.MaxSize)
	} else if r.MinSize != nil && r.MaxSize != nil && *r.MinSize > *r.MaxSize {
		return bad("min_size", "%d is greater than max_size %d", *r.MinSize, *r.MaxSize)
	}
	if msg := checkDays(r.OlderThanDays); msg != "" {
		return bad("older_than_days", "%s", msg)
	} else if msg := checkDays(r.NewerThanDays); msg != "" {
		return bad("newer_than_days", "%s", msg)
	} else if r.OlderThanDays > 0 && r.NewerThanDays > 0 && r.NewerThanDays <= r.OlderThanDays {
		return bad("newer_than_days", "%d with older_than_days %d never matches (newer_than_days must be the larger)",
			r.NewerThanDays, r.OlderThanDays)
	}
	if r.PathPrefix != "" {
		if strings.ContainsAny(r.PathPrefix, "\\\x00") {
			return bad("path_prefix", "%q: backslashes and NUL are not allowed", r.PathPrefix)
		}
		p, ok := cleanRel(r.PathPrefix)
		if !ok && strings.Contains(r.PathPrefix, "..") {
			return bad("path_prefix", "%q: must not contain .. elements", r.PathPrefix)
		}
		r.PathPrefix = p // "" for "/" or "."
	}
	if r.MimeType != "" {
		m := strings.ToLower(strings.TrimSpace(r.MimeType))
		typ, sub, ok := strings.Cut(m, "/")
		if !ok || typ == "" || sub == "" || strings.ContainsAny(sub, "/ ;") || strings.Contains(typ, " ") {
			return bad("mime_type", "%q: want type/subtype or type/*, such as image/png or image/*", r.MimeType)
		}
		r.MimeType = m
	}
	segs, err := checkTemplate(r.Destination)
	if err != nil {
		return bad("destination", "%v", err)
	}
	r.template = segs
	return nil
}

// matches reports whether every filter of r that is set matches the file f at rel.
func (r *Rule) matches(rel string, f File, now time.Time) bool {
	base := path.Base(rel)
	if len(r.Extensions) > 0 {
		ext := strings.ToLower(strings.TrimPrefix(extension(base), "."))
		last := ext[strings.LastIndexByte(ext, '.')+1:] // "gz" of "tar.gz"
		if ext == "" || !slices.ContainsFunc(r.Extensions, func(e string) bool {
			e = strings.ToLower(strings.TrimPrefix(e, "."))
			return e == ext || e == last
		}) {
			return false
		}
	}
	if r.NameGlob != "" {
		if ok, err := path.Match(r.NameGlob, base); !ok || err != nil {
			return false
		}
	}
	if r.NameRegex != "" {
		re := r.re
		if re == nil {
			var err error
			if re, err = regexp.Compile(r.NameRegex); err != nil {
				return false
			}
		}
		if !re.MatchString(base) {
			return false
		}
	}
	if (r.MinSize != nil && f.Size < *r.MinSize) || (r.MaxSize != nil && f.Size > *r.MaxSize) {
		return false
	}
	if r.OlderThanDays > 0 && !f.ModTime.Before(now.Add(-days(r.OlderThanDays))) {
		return false
	}
	if r.NewerThanDays > 0 && !f.ModTime.After(now.Add(-days(r.NewerThanDays))) {
		return false
	}
	if r.PathPrefix != "" {
		prefix, _ := cleanRel(r.PathPrefix)
		if rel != prefix && !strings.HasPrefix(rel, prefix+"/") {
			return false
		}
	}
	if r.MimeType != "" {
		want := strings.ToLower(strings.TrimSpace(r.MimeType))
		got := mimeType(base)
		if got == "" {
			return false
		} else if typ, ok := strings.CutSuffix(want, "/*"); ok {
			if typ != "*" && !strings.HasPrefix(got, typ+"/") {
				return false
			}
		} else if got != want {
			return false
		}
	}
	return true
}

// expand fills in r's destination template for the file f at rel; a result ending in "/"
// gets the base name. ok is false when the template does not parse (r was not validated).
func (r *Rule) expand(rel string, f File) (string, bool) {
	segs := r.template
	if segs == nil {
		var err error
		if segs, err = checkTemplate(r.Destination); err != nil {
			return "", false
		}
	}
	base := path.Base(rel)
	name, ext := splitExt(base)
	dir := path.Dir(rel)
	if dir == "." {
		dir = ""
	}
	d := f.date()
	var b strings.Builder
	for _, s := range segs {
		switch s.v {
		case "":
			b.WriteString(s.lit)
		case "name":
			b.WriteString(name)
		case "ext":
			b.WriteString(ext)
		case "extension":
			b.WriteString(strings.ToLower(strings.TrimPrefix(ext, ".")))
		case "type":
			b.WriteString(Category(base))
		case "year":
			fmt.Fprintf(&b, "%04d", d.Year())
		case "month":
			fmt.Fprintf(&b, "%02d", int(d.Month()))
		case "day":
			fmt.Fprintf(&b, "%02d", d.Day())
		case "dir":
			b.WriteString(dir)
		}
	}
	out := b.String()
	if strings.HasSuffix(out, "/") {
		out += base
	}
	return out, true
}

// DaysMax bounds the day counts of rules and para (100 years); a time.Duration holds about
// 106,000 days, so larger counts would wrap around.
const DaysMax = 36500

// days returns n days (at most DaysMax) as a duration.
func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// checkDays returns an error message when n is not a day count from 0 to DaysMax, else "".
func checkDays(n int) string {
	if n < 0 || n > DaysMax {
		return fmt.Sprintf("must be from 0 to %d days (100 years), got %d", DaysMax, n)
	}
	return ""
}
