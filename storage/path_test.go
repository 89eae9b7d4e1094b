package storage

import (
	"path"
	"strings"
	"testing"

	"github.com/filefleet/filefleet"
)

func TestCleanPath(t *testing.T) {
	for _, tc := range []struct{ in, want, code string }{
		{"", "", ""},
		{"a/b/", "a/b", ""},
		{"./a//b/.", "a/b", ""},
		{"ünï code/x y", "ünï code/x y", ""},
		{"..", "", filefleet.EINVALID},
		{"a/../../b", "", filefleet.EINVALID},
		{"a/..", "", filefleet.EINVALID},
		{"/etc/passwd", "", filefleet.EINVALID},
		{"a\x00b", "", filefleet.EINVALID},
		{`a\..\b`, "", filefleet.EINVALID},
	} {
		got, err := CleanPath(tc.in)
		if code := filefleet.ErrorCode(err); code != tc.code || got != tc.want {
			t.Errorf("CleanPath(%q) = %q, %q; want %q, %q", tc.in, got, code, tc.want, tc.code)
		}
	}
}

// FuzzCleanPath: an accepted path is clean, relative, inside the root and stable; a refused
// one is refused with EINVALID.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"", "a/b", "../x", "a/./b//", "/abs", `a\b`, "a\x00", "ünï/…", "a/b/..", ".", "./.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := CleanPath(p)
		if err != nil {
			if filefleet.ErrorCode(err) != filefleet.EINVALID {
				t.Fatalf("CleanPath(%q): %v, not EINVALID", p, err)
			}
			return
		}
		if strings.HasPrefix(got, "/") || strings.HasSuffix(got, "/") || strings.ContainsAny(got, "\\\x00") {
			t.Fatalf("CleanPath(%q) = %q: not a clean relative path", p, got)
		}
		for _, el := range strings.Split(got, "/") {
			if got != "" && (el == ".." || el == "." || el == "") {
				t.Fatalf("CleanPath(%q) = %q: has element %q", p, got, el)
			}
		}
		if again, err := CleanPath(got); err != nil || again != got {
			t.Fatalf("CleanPath(%q) = %q, but CleanPath of that = %q, %v", p, got, again, err)
		}
		if path.Join("/root", got) != "/root" && !strings.HasPrefix(path.Join("/root", got), "/root/") {
			t.Fatalf("CleanPath(%q) = %q escapes the root", p, got)
		}
	})
}

// TestNotInTrash refuses the trash folder and anything in it, in any letter case (SMB shares
// ignore case), and nothing else.
func TestNotInTrash(t *testing.T) {
	for p, refused := range map[string]bool{
		".filefleet-trash": true, ".filefleet-trash/x": true, ".FILEFLEET-TRASH/deleted/1/a.txt": true,
		".Filefleet-Trash": true, ".filefleet-trashcan/x": false, "a/.filefleet-trash/x": false, "x.txt": false,
	} {
		err := NotInTrash(p)
		if refused && filefleet.ErrorCode(err) != filefleet.EINVALID {
			t.Errorf("NotInTrash(%q) = %v, want EINVALID", p, err)
		} else if !refused && err != nil {
			t.Errorf("NotInTrash(%q) = %v, want nil", p, err)
		}
	}
}
