package organize_test

import (
	"bytes"
	"encoding/binary"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/filefleet/filefleet/organize"
	"github.com/filefleet/filefleet/organize/organizetest"
)

func FuzzDestination(f *testing.F) {
	for _, s := range []struct {
		tmpl, rel string
		m         uint8
	}{
		{"{type}/{year}/{name}{ext}", "a/b/c.txt", 4},
		{"{dir}/", "x/y.tar.gz", 4},
		{"{dir}../{name}", "../x", 4},
		{"..{ext}/{name}", "a", 4},
		{"./{name}/../{ext}", "...x", 4},
		{"{name}", "..", 0},
		{"a/{dir}{extension}", "Projects/../../x", 0},
		{"{name}/", ".bashrc", 1},
		{"x", "/abs/olute", 2},
		{"{ext}{ext}/{name}", "a/b/..c", 3},
	} {
		f.Add(s.tmpl, s.rel, s.m)
	}
	f.Fuzz(func(t *testing.T, tmpl, rel string, m uint8) {
		p := organize.Params{
			Methodology: organize.Methodologies[int(m)%len(organize.Methodologies)],
			Rules:       []organize.Rule{{Destination: tmpl}},
		}
		if p.Validate() != nil {
			return
		}
		dst, ok := p.Destination(rel, organize.File{Path: rel, ModTime: mtime}, now)
		if !ok {
			return
		}
		if dst == "" || dst == "." || strings.HasPrefix(dst, "/") || path.Clean(dst) != dst ||
			slices.Contains(strings.Split(dst, "/"), "..") {
			t.Fatalf("%s %q on %q: escaping destination %q", p.Methodology, tmpl, rel, dst)
		}
	})
}

func FuzzTakenAt(f *testing.F) {
	tiff := organizetest.BuildTIFF(binary.LittleEndian, []organizetest.IFDEntry{{Tag: 0x0132, Str: "2022:01:01 00:00:00"}},
		[]organizetest.IFDEntry{{Tag: 0x9003, Str: "2021:08:14 17:03:09"}, {Tag: 0xA005, Long: 8}})
	f.Add(organizetest.BuildJPEG(tiff, 16))
	f.Add(tiff)
	f.Add(cyclicTIFF())
	f.Add(hugeCountTIFF())
	f.Fuzz(func(t *testing.T, b []byte) {
		organize.TakenAt(bytes.NewReader(b)) // must neither panic nor hang
	})
}
