package storage

import (
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
