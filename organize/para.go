package organize

import (
	"cmp"
	"strings"
	"time"
	"unicode"

	"github.com/filefleet/filefleet"
)

// PARA folders.
const (
	ParaProjects  = "Projects"
	ParaAreas     = "Areas"
	ParaResources = "Resources"
	ParaArchive   = "Archive"
)

// ParaFolders lists the PARA folders.
var ParaFolders = []string{ParaProjects, ParaAreas, ParaResources, ParaArchive}

// Default PARA settings.
var (
	ProjectKeywordsDefault  = []string{"project", "projects", "sprint", "client", "proposal", "draft"}
	AreaKeywordsDefault     = []string{"area", "areas", "health", "finance", "finances", "home", "family", "career", "taxes"}
	ResourceKeywordsDefault = []string{"resource", "resources", "reference", "template", "templates", "manual", "guide", "docs", "notes"}
)

// ArchiveAfterDaysDefault is the default ParaConfig.ArchiveAfterDays.
const ArchiveAfterDaysDefault = 180

// ParaConfig tunes para. Zero values take defaults.
type ParaConfig struct {
	ProjectKeywords  []string `json:"project_keywords,omitempty"`   // default: project, projects, sprint, client, proposal, draft
	AreaKeywords     []string `json:"area_keywords,omitempty"`      // default: area, areas, health, finance, finances, home, family, career, taxes
	ResourceKeywords []string `json:"resource_keywords,omitempty"`  // default: resource, resources, reference, template, templates, manual, guide, docs, notes
	ArchiveAfterDays int      `json:"archive_after_days,omitempty"` // default 180: not modified for that long → Archive
}

// validate fills in the defaults, lower-cases the keywords and checks them.
func (c *ParaConfig) validate() error {
	if msg := checkDays(c.ArchiveAfterDays); msg != "" {
		return filefleet.Errorf(filefleet.EINVALID, "para.archive_after_days %s", msg)
	}
	c.ArchiveAfterDays = cmp.Or(c.ArchiveAfterDays, ArchiveAfterDaysDefault)
	for _, kw := range []struct {
		field string
		list  *[]string
		def   []string
	}{
		{"para.project_keywords", &c.ProjectKeywords, ProjectKeywordsDefault},
		{"para.area_keywords", &c.AreaKeywords, AreaKeywordsDefault},
		{"para.resource_keywords", &c.ResourceKeywords, ResourceKeywordsDefault},
	} {
		if len(*kw.list) == 0 {
			*kw.list = append([]string(nil), kw.def...)
			continue
		}
		for i, k := range *kw.list {
			k = strings.ToLower(strings.TrimSpace(k))
			if k == "" {
				return filefleet.Errorf(filefleet.EINVALID, "%s[%d]: empty keyword", kw.field, i)
			} else if strings.Contains(k, "/") {
				return filefleet.Errorf(filefleet.EINVALID, "%s[%d]: keyword %q cannot contain /", kw.field, i, k)
			}
			(*kw.list)[i] = k
		}
	}
	return nil
}

// paraDestination files rel under a PARA folder. The folder rel is already under, if any,
// is replaced: a file not touched for ArchiveAfterDays goes to Archive, else to the first of
// Projects, Areas and Resources with a keyword matching a directory or a word of the base
// name, else it keeps its folder, or goes to Resources when it had none.
func paraDestination(c *ParaConfig, rel string, f File, now time.Time) string {
	folder, rest := "", rel
	if top, after, ok := strings.Cut(rel, "/"); ok {
		for _, pf := range ParaFolders {
			if strings.EqualFold(top, pf) {
				folder, rest = pf, after
			}
		}
	}
	if f.ModTime.Before(now.Add(-days(cmp.Or(c.ArchiveAfterDays, ArchiveAfterDaysDefault)))) {
		return ParaArchive + "/" + rest
	}
	words := paraWords(rest)
	for _, cat := range []struct {
		folder   string
		keywords []string
		def      []string
	}{
		{ParaProjects, c.ProjectKeywords, ProjectKeywordsDefault},
		{ParaAreas, c.AreaKeywords, AreaKeywordsDefault},
		{ParaResources, c.ResourceKeywords, ResourceKeywordsDefault},
	} {
		keywords := cat.keywords
		if len(keywords) == 0 {
			keywords = cat.def
		}
		for _, k := range keywords {
			if words[strings.ToLower(k)] {
				return cat.folder + "/" + rest
			}
		}
	}
	return cmp.Or(folder, ParaResources) + "/" + rest
}

// paraWords returns, lower-cased, the directories of rel, the words of its directories
// and the words of its base name (split on anything but letters and digits).
func paraWords(rel string) map[string]bool {
	words := map[string]bool{}
	split := func(s string) {
		for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			words[w] = true
		}
	}
	elems := strings.Split(strings.ToLower(rel), "/")
	for _, dir := range elems[:len(elems)-1] {
		words[dir] = true
		split(dir)
	}
	split(elems[len(elems)-1])
	return words
}
