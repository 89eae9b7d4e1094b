package organize_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/organize"
)

func TestValidateErrors(t *testing.T) {
	rule := func(dst string) organize.Rule { return organize.Rule{Destination: dst} }
	rules := func(r ...organize.Rule) organize.Params {
		return organize.Params{Methodology: organize.Rules, Rules: append([]organize.Rule{rule("ok/")}, r...)}
	}
	tooMany := make([]organize.Rule, organize.MaxRules+1)
	for i := range tooMany {
		tooMany[i] = rule("{type}/")
	}
	cases := []struct {
		desc string
		p    organize.Params
		msg  []string // substrings of the message
	}{
		{"empty methodology", organize.Params{}, []string{"methodology", "para", "by_type", "rules"}},
		{"unknown methodology", organize.Params{Methodology: "alphabetical"}, []string{"methodology", `"alphabetical"`, "by_extension"}},
		{"rules without rules", organize.Params{Methodology: organize.Rules}, []string{"rules", "at least one"}},
		{"too many rules", organize.Params{Methodology: organize.Rules, Rules: tooMany}, []string{"rules", "at most 100"}},
		{"bad regex", rules(organize.Rule{NameRegex: "a(b", Destination: "x/"}), []string{"rules[1].name_regex"}},
		{"lookahead regex", rules(organize.Rule{NameRegex: "a(?=b)", Destination: "x/"}), []string{"rules[1].name_regex"}},
		{"bad glob", rules(organize.Rule{NameGlob: "[a-", Destination: "x/"}), []string{"rules[1].name_glob"}},
		{"glob with slash", rules(organize.Rule{NameGlob: "a/*.txt", Destination: "x/"}), []string{"rules[1].name_glob", "/"}},
		{"min > max", rules(organize.Rule{MinSize: ptr[int64](10), MaxSize: ptr[int64](5), Destination: "x/"}), []string{"rules[1].min_size", "max_size"}},
		{"negative min", rules(organize.Rule{MinSize: ptr[int64](-1), Destination: "x/"}), []string{"rules[1].min_size", "negative"}},
		{"negative max", rules(organize.Rule{MaxSize: ptr[int64](-1), Destination: "x/"}), []string{"rules[1].max_size", "negative"}},
		{"negative older", rules(organize.Rule{OlderThanDays: -1, Destination: "x/"}), []string{"rules[1].older_than_days"}},
		{"negative newer", rules(organize.Rule{NewerThanDays: -1, Destination: "x/"}), []string{"rules[1].newer_than_days"}},
		{"ages never match", rules(organize.Rule{OlderThanDays: 30, NewerThanDays: 10, Destination: "x/"}), []string{"rules[1].newer_than_days", "never"}},
		{"empty extension", rules(organize.Rule{Extensions: []string{"jpg", "."}, Destination: "x/"}), []string{"rules[1].extensions[1]"}},
		{"bad mime", rules(organize.Rule{MimeType: "image", Destination: "x/"}), []string{"rules[1].mime_type"}},
		{"prefix escapes", rules(organize.Rule{PathPrefix: "../x", Destination: "x/"}), []string{"rules[1].path_prefix"}},
		{"empty destination", rules(rule("")), []string{"rules[1].destination", "required"}},
		{"unknown variable", rules(rule("{type}/{size}/")), []string{"rules[1].destination", "{size}"}},
		{"unclosed brace", rules(rule("{type/x")), []string{"rules[1].destination", "{"}},
		{"unmatched brace", rules(rule("type}/x")), []string{"rules[1].destination", "}"}},
		{"nested brace", rules(rule("{ty{pe}}")), []string{"rules[1].destination"}},
		{"absolute", rules(rule("/etc/{name}")), []string{"rules[1].destination", "absolute"}},
		{"dotdot", rules(rule("../{name}")), []string{"rules[1].destination", ".."}},
		{"inner dotdot", rules(rule("a/../../{name}")), []string{"rules[1].destination", ".."}},
		{"dotdot from empty variables", rules(rule("{dir}../{name}")), []string{"rules[1].destination", ".."}},
		{"dotdot from extension", rules(rule("..{ext}/{name}")), []string{"rules[1].destination", ".."}},
		{"backslash", rules(rule(`..\{name}`)), []string{"rules[1].destination", "backslash"}},
		{"nul", rules(rule("a\x00/{name}")), []string{"rules[1].destination", "NUL"}},
		{"names no file", rules(rule("{dir}{ext}")), []string{"rules[1].destination", "no file"}},
		{"only dots", rules(rule(".")), []string{"rules[1].destination", "no file"}},
		{"huge older", rules(organize.Rule{OlderThanDays: 200000, Destination: "x/"}), []string{"rules[1].older_than_days", "36500"}},
		{"huge newer", rules(organize.Rule{NewerThanDays: 200000, Destination: "x/"}), []string{"rules[1].newer_than_days", "36500"}},
		{"para huge age", organize.Params{Methodology: organize.Para, Para: &organize.ParaConfig{ArchiveAfterDays: 200000}}, []string{"para.archive_after_days", "36500"}},
		{"para negative age", organize.Params{Methodology: organize.Para, Para: &organize.ParaConfig{ArchiveAfterDays: -1}}, []string{"para.archive_after_days"}},
		{"para empty keyword", organize.Params{Methodology: organize.Para, Para: &organize.ParaConfig{AreaKeywords: []string{"gym", " "}}}, []string{"para.area_keywords[1]"}},
	}
	for _, tc := range cases {
		err := tc.p.Validate()
		require.Error(t, err, tc.desc)
		require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err), tc.desc)
		for _, s := range tc.msg {
			require.Contains(t, filefleet.ErrorMessage(err), s, tc.desc)
		}
	}
}

func TestValidateOK(t *testing.T) {
	for _, m := range organize.Methodologies {
		p := organize.Params{Methodology: m}
		if m == organize.Rules {
			p.Rules = []organize.Rule{{Destination: "{type}/"}}
		}
		require.NoError(t, p.Validate(), m)
	}
	p := organize.Params{Methodology: organize.Rules, Rules: []organize.Rule{{
		Extensions: []string{" .JPG ", "png"}, PathPrefix: "./a//b/", MimeType: " Image/* ",
		OlderThanDays: 10, NewerThanDays: 20, MinSize: ptr[int64](0), MaxSize: ptr[int64](0),
		Destination: "{dir}/{year}{month}{day}/{name}.{extension}",
	}}}
	require.NoError(t, p.Validate())
	require.Equal(t, []string{"jpg", "png"}, p.Rules[0].Extensions)
	require.Equal(t, "a/b", p.Rules[0].PathPrefix)
	require.Equal(t, "image/*", p.Rules[0].MimeType)
	require.NoError(t, p.Validate(), "validating twice is fine")
}
