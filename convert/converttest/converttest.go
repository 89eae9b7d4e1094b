// Package converttest makes media and documents for conversion tests with the real tools.
package converttest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/convert"
)

// Tools returns the detected tools, failing the test when a kind cannot be converted.
func Tools(t testing.TB) convert.Tools {
	t.Helper()
	tl := convert.Detect()
	if !tl.Can(convert.KindVideo) {
		t.Fatalf("ffmpeg and ffprobe are required: install ffmpeg (apt-get install ffmpeg); found %+v", tl)
	}
	if !tl.Can(convert.KindDocument) {
		t.Fatalf("pdftotext is required: install poppler-utils (apt-get install poppler-utils); found %+v", tl)
	}
	return tl
}

// Generate runs ffmpeg with args to create dir/name and returns its path.
func Generate(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	args = append([]string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error"}, args...)
	out, err := exec.Command("ffmpeg", append(args, "file:"+path)...).CombinedOutput()
	require.NoError(t, err, "generate %s: %s", name, out)
	return path
}

// LongVideo makes dir/long.mp4: 30 s of 720p, copied from a 2 s clip, so converting it to
// webm takes several seconds while making it takes about two.
func LongVideo(t testing.TB, dir string) string {
	t.Helper()
	short := Generate(t, dir, "short.mp4", "-f", "lavfi", "-i", "testsrc=duration=2:size=1280x720:rate=25",
		"-c:v", "libx264", "-preset", "ultrafast")
	return Generate(t, dir, "long.mp4", "-stream_loop", "14", "-i", "file:"+short, "-c", "copy")
}

// Running reports whether a process whose command line contains s exists.
func Running(t testing.TB, s string) bool {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	require.NoError(t, err)
	for _, path := range cmdlines {
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

// PDF returns a one-page PDF showing text in Helvetica.
func PDF(text string) []byte {
	content := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (%s) Tj ET", text)
	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objects))
	for i, obj := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, obj)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objects)+1, xref)
	return b.Bytes()
}
