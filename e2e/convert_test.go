package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/convert"
	"github.com/filefleet/filefleet/convert/converttest"
	"github.com/filefleet/filefleet/internal/testenv"
)

// conversionView is a conversion as the API shows it.
type conversionView struct {
	ID             string                   `json:"id"`
	Status         string                   `json:"status"`
	SourcePath     string                   `json:"source_path"`
	TargetPath     string                   `json:"target_path"`
	ConversionType string                   `json:"conversion_type"`
	Progress       float64                  `json:"progress"`
	Error          string                   `json:"error"`
	Result         *filefleet.ConvertResult `json:"result"`
}

// createConversion posts a conversion and returns it.
func createConversion(t *testing.T, s *testenv.Stack, body map[string]any) conversionView {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/conversions", body)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Raw)
	var c conversionView
	r.Decode(t, &c)
	require.Equal(t, "pending", c.Status)
	return c
}

// getConversion fetches a conversion.
func getConversion(t *testing.T, s *testenv.Stack, id string) conversionView {
	t.Helper()
	r := s.Do(t, http.MethodGet, "/api/v1/conversions/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var c conversionView
	r.Decode(t, &c)
	return c
}

// waitConversion polls a conversion until it has ended.
func waitConversion(t *testing.T, s *testenv.Stack, id string) conversionView {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c := getConversion(t, s, id)
		if c.Status == "completed" || c.Status == "failed" || c.Status == "cancelled" {
			return c
		}
		require.True(t, time.Now().Before(deadline), "conversion %s still %s", id, c.Status)
		time.Sleep(200 * time.Millisecond)
	}
}

// TestConversions converts a generated tone, image and video stored in MinIO and checks the
// results with ffprobe; a PDF becomes text; a corrupt source fails with ffmpeg's reason.
func TestConversions(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	d := newDedupeRoots(t, s)
	tools := converttest.Tools(t)
	work := t.TempDir()
	put := func(name string, args ...string) {
		p := converttest.Generate(t, work, name, args...)
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		d.put(t, "s3/in/"+name, data)
	}
	put("tone.wav", "-f", "lavfi", "-i", "sine=frequency=440:duration=3")
	put("image.png", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1")
	put("clip.mp4", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=25", "-f", "lavfi", "-i",
		"sine=frequency=300:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-shortest")
	d.put(t, "s3/in/doc.pdf", converttest.PDF("Hello filefleet"))
	d.put(t, "s3/in/broken.wav", randomBytes(50_000))

	// The formats, and that this stack's worker converts every kind.
	r := s.Do(t, http.MethodGet, "/api/v1/conversions/formats", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var formats map[string]struct {
		Input, Output []string
		Workers       int
	}
	r.Decode(t, &formats)
	require.Equal(t, convert.Formats[convert.KindAudio].Output, formats["audio"].Output)
	for _, k := range []string{"image", "audio", "video", "document"} {
		require.GreaterOrEqual(t, formats[k].Workers, 1, k)
	}

	cases := []struct {
		body      map[string]any
		codecs    []string
		duration  float64
		localPath string
	}{
		{map[string]any{"root": "s3", "source_path": "in/tone.wav", "target_format": "mp3", "conversion_type": "audio",
			"quality": "high", "settings": `{"bitrate": "192k"}`}, []string{"mp3"}, 3, "in/tone.mp3"},
		{map[string]any{"root": "s3", "source_path": "in/image.png", "target_format": "webp", "target_root": "disk",
			"target_path": "out/image.webp"}, []string{"webp"}, 0, "out/image.webp"},
		{map[string]any{"root": "s3", "source_path": "in/clip.mp4", "target_path": "in/clip.webm",
			"settings": map[string]string{"width": "160"}}, []string{"vp9", "opus"}, 2, "in/clip.webm"},
	}
	ids := make([]string, len(cases))
	for i, tc := range cases {
		ids[i] = createConversion(t, s, tc.body).ID
	}
	pdf := createConversion(t, s, map[string]any{"root": "s3", "source_path": "in/doc.pdf", "target_format": "txt"})
	broken := createConversion(t, s, map[string]any{"root": "s3", "source_path": "in/broken.wav", "target_format": "mp3"})

	for i, tc := range cases {
		c := waitConversion(t, s, ids[i])
		require.Equal(t, "completed", c.Status, "%v: %s", tc.body, c.Error)
		require.Equal(t, 100.0, c.Progress)
		require.Equal(t, tc.codecs, c.Result.Codecs)
		root, _ := tc.body["target_root"].(string)
		if root == "" {
			root = "s3"
		}
		out := filepath.Join(work, "out-"+filepath.Base(tc.localPath))
		require.NoError(t, os.WriteFile(out, d.read(t, root+"/"+tc.localPath), 0o644))
		info, err := tools.Probe(context.Background(), out)
		require.NoError(t, err, "ffprobe reads the output")
		var got []string
		for _, st := range info.Streams {
			got = append(got, st.CodecName)
		}
		require.Equal(t, tc.codecs, got, "ffprobe: %s", tc.localPath)
		if tc.duration > 0 {
			require.InDelta(t, tc.duration, info.Duration.Seconds(), 0.25, tc.localPath)
		}
		if tc.localPath == "in/clip.webm" {
			require.Equal(t, 160, info.Streams[0].Width, "settings apply")
		}
	}
	c := waitConversion(t, s, pdf.ID)
	require.Equal(t, "completed", c.Status, c.Error)
	require.Contains(t, string(d.read(t, "s3/in/doc.txt")), "Hello filefleet")
	c = waitConversion(t, s, broken.ID)
	require.Equal(t, "failed", c.Status)
	require.Contains(t, c.Error, "s3:in/broken.wav: Invalid data found when processing input", "ffmpeg's reason, about the source")
	require.Nil(t, d.read(t, "s3/in/broken.mp3"), "a failed conversion writes nothing")

	// The list filters by the seed's status names.
	r = s.Do(t, http.MethodGet, "/api/v1/conversions?status=completed", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	var list struct{ Conversions []conversionView }
	r.Decode(t, &list)
	require.Len(t, list.Conversions, 4)
	r = s.Do(t, http.MethodGet, "/api/v1/conversions?status=failed", nil)
	r.Decode(t, &list)
	require.Len(t, list.Conversions, 1)
	require.Equal(t, broken.ID, list.Conversions[0].ID)

	// Bad requests: 4xx with an error code; nothing queued.
	for name, tc := range map[string]struct {
		body map[string]any
		code int
		want string
	}{
		"unsupported pair": {map[string]any{"root": "s3", "source_path": "in/tone.wav", "target_format": "webp"}, 400, "mp3"},
		"type mismatch":    {map[string]any{"root": "s3", "source_path": "in/tone.wav", "target_format": "mp3", "conversion_type": "video"}, 400, "audio"},
		"bad setting":      {map[string]any{"root": "s3", "source_path": "in/tone.wav", "target_format": "mp3", "settings": `{"bitrate": "1;rm"}`}, 400, "bitrate"},
		"missing source":   {map[string]any{"root": "s3", "source_path": "in/nope.wav", "target_format": "mp3"}, 404, "not found"},
		"exists":           {map[string]any{"root": "s3", "source_path": "in/tone.wav", "target_format": "mp3"}, 409, "overwrite"},
		"traversal":        {map[string]any{"root": "s3", "source_path": "../tone.wav", "target_format": "mp3"}, 400, ".."},
		"no target format": {map[string]any{"root": "s3", "source_path": "in/tone.wav"}, 400, "target_format"},
	} {
		r := s.Do(t, http.MethodPost, "/api/v1/conversions", tc.body)
		require.Equal(t, tc.code, r.Status, "%s: %s", name, r.Raw)
		require.Contains(t, r.Error.Message, tc.want, name)
	}
	r = s.Do(t, http.MethodPost, "/api/v1/conversions", map[string]any{"root": "s3", "source_path": "in/tone.wav", "target_format": "webp"})
	require.Contains(t, r.Error.Details, "supported_targets")
	r = s.Do(t, http.MethodGet, "/api/v1/conversions/"+broken.ID+"x", nil)
	require.Equal(t, http.StatusBadRequest, r.Status)
	job := submit(t, s, map[string]any{"type": "noop"})
	r = s.Do(t, http.MethodGet, "/api/v1/conversions/"+job.ID, nil)
	require.Equal(t, http.StatusNotFound, r.Status, "a job of another type is not a conversion")
}

// TestConversionCancel cancels a long conversion: the worker's ffmpeg is gone within 2 s.
func TestConversionCancel(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	dir := t.TempDir()
	converttest.LongVideo(t, dir)
	addLocalRoot(t, s, "disk", dir)
	c := createConversion(t, s, map[string]any{"root": "disk", "source_path": "long.mp4", "target_format": "webm",
		"quality": "high"})

	// Wait until ffmpeg runs and reports progress.
	deadline := time.Now().Add(time.Minute)
	for {
		got := getConversion(t, s, c.ID)
		if got.Status == "running" && got.Progress > 0 {
			break
		}
		require.NotEqual(t, "completed", got.Status, "the conversion must still run when canceled")
		require.True(t, time.Now().Before(deadline), "no progress: %+v", got)
		time.Sleep(100 * time.Millisecond)
	}
	require.True(t, converttest.Running(t, "target.webm"), "ffmpeg runs")
	r := s.Do(t, http.MethodPost, "/api/v1/conversions/"+c.ID+"/cancel", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	canceled := time.Now()
	for converttest.Running(t, "target.webm") {
		require.Less(t, time.Since(canceled), 2*time.Second, "ffmpeg still runs 2 s after cancel")
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("ffmpeg gone %s after cancel", time.Since(canceled))
	got := getConversion(t, s, c.ID)
	require.Equal(t, "cancelled", got.Status)
	_, err := os.Stat(filepath.Join(dir, "long.webm"))
	require.True(t, os.IsNotExist(err), "nothing written")
	r = s.Do(t, http.MethodPost, "/api/v1/conversions/"+c.ID+"/cancel", nil)
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	require.Contains(t, r.Error.Message, "canceled")
}
