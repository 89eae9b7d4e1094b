package convert_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/convert"
	"github.com/filefleet/filefleet/convert/converttest"
)

// probe returns the Info of path.
func probe(t *testing.T, tl convert.Tools, path string) convert.Info {
	t.Helper()
	info, err := tl.Probe(context.Background(), path)
	require.NoError(t, err)
	return info
}

// codecs returns "type:codec" for each stream of info.
func codecs(info convert.Info) []string {
	var cs []string
	for _, s := range info.Streams {
		cs = append(cs, s.CodecType+":"+s.CodecName)
	}
	return cs
}

func TestPlan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src, dst string
		want     convert.Kind
	}{
		{"wav", "mp3", convert.KindAudio},
		{".FLAC", "Ogg", convert.KindAudio},
		{"jpeg", "png", convert.KindImage},
		{"tif", "webp", convert.KindImage},
		{"png", "jpeg", convert.KindImage},
		{"mov", "mp4", convert.KindVideo},
		{"mp4", "mp3", convert.KindAudio},
		{"webm", "wav", convert.KindAudio},
		{"pdf", "txt", convert.KindDocument},
	} {
		got, err := convert.Plan(tc.src, tc.dst)
		require.NoError(t, err, "%s -> %s", tc.src, tc.dst)
		require.Equal(t, tc.want, got, "%s -> %s", tc.src, tc.dst)
	}

	_, err := convert.Plan("WAV", "webp")
	var e *filefleet.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, filefleet.EINVALID, e.Code)
	require.Equal(t, `cannot convert wav to webp; wav converts to: aac, flac, mp3, ogg, wav`, e.Message)
	require.Equal(t, []string{"aac", "flac", "mp3", "ogg", "wav"}, e.Details["supported_targets"])
	require.Equal(t, "wav", e.Details["source_format"])

	_, err = convert.Plan("mp4", "png")
	require.ErrorAs(t, err, &e)
	require.Equal(t, []string{"aac", "flac", "mkv", "mp3", "mp4", "ogg", "wav", "webm"}, e.Details["supported_targets"])

	_, err = convert.Plan("xyz", "mp3")
	require.ErrorAs(t, err, &e)
	require.Equal(t, filefleet.EINVALID, e.Code)
	require.Contains(t, e.Message, `cannot convert from "xyz"; accepted source formats: aac, avi, bmp, flac, gif, jpg, m4a,`)
	require.Contains(t, e.Details["supported_sources"], "pdf")
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts convert.Options
		bad  string // setting named in the error, "" for valid
	}{
		{convert.Options{}, ""},
		{convert.Options{Quality: "high", Settings: map[string]string{"bitrate": "320k", "width": "640", "sample_rate": "44100"}}, ""},
		{convert.Options{Settings: map[string]string{"bitrate": "2M", "height": "1080"}}, ""},
		{convert.Options{Quality: "best"}, "quality"},
		{convert.Options{Settings: map[string]string{"bitrate": "1;rm"}}, "bitrate"},
		{convert.Options{Settings: map[string]string{"bitrate": "-b:v"}}, "bitrate"},
		{convert.Options{Settings: map[string]string{"width": "-5"}}, "width"},
		{convert.Options{Settings: map[string]string{"height": "0"}}, "height"},
		{convert.Options{Settings: map[string]string{"sample_rate": "44.1k"}}, "sample_rate"},
		{convert.Options{Settings: map[string]string{"codec": "h265"}}, "codec"},
	} {
		err := tc.opts.Validate()
		if tc.bad == "" {
			require.NoError(t, err, "%+v", tc.opts)
			continue
		}
		require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err), "%+v", tc.opts)
		require.Contains(t, filefleet.ErrorMessage(err), tc.bad)
	}
}

func TestToolsKinds(t *testing.T) {
	t.Parallel()
	require.Equal(t, []convert.Kind{convert.KindImage, convert.KindAudio, convert.KindVideo, convert.KindDocument}, converttest.Tools(t).Kinds())
	require.Empty(t, convert.Tools{}.Kinds())
	require.Equal(t, []convert.Kind{convert.KindDocument}, convert.Tools{PDFToText: "/usr/bin/pdftotext"}.Kinds())

	err := convert.Tools{}.Run(context.Background(), "a.wav", "wav", "b.mp3", "mp3", convert.Options{}, nil)
	require.Equal(t, filefleet.EUNAVAILABLE, filefleet.ErrorCode(err))
	require.Contains(t, filefleet.ErrorMessage(err), "this worker has no ffmpeg; install it (apt-get install ffmpeg)")
}

func TestRunAudio(t *testing.T) {
	t.Parallel()
	tl := converttest.Tools(t)
	dir := t.TempDir()
	// A name starting with "-" must not be read as an option.
	src := converttest.Generate(t, dir, "-tone.wav", "-f", "lavfi", "-i", "sine=frequency=440:duration=2")

	for _, tc := range []struct{ format, codec string }{
		{"mp3", "mp3"}, {"flac", "flac"}, {"ogg", "vorbis"}, {"aac", "aac"}, {"wav", "pcm_s16le"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			dst := filepath.Join(dir, "out."+tc.format)
			opts := convert.Options{Quality: "low", Settings: map[string]string{"sample_rate": "22050"}}
			require.NoError(t, tl.Run(context.Background(), src, "wav", dst, tc.format, opts, nil))
			info := probe(t, tl, dst)
			require.Equal(t, []string{"audio:" + tc.codec}, codecs(info))
			require.InDelta(t, 2, info.Duration.Seconds(), 0.2)
		})
	}
}

func TestRunImage(t *testing.T) {
	t.Parallel()
	tl := converttest.Tools(t)
	dir := t.TempDir()
	src := converttest.Generate(t, dir, "in.png", "-f", "lavfi", "-i", "testsrc=size=320x240", "-frames:v", "1")

	for _, tc := range []struct {
		format, codec string
		opts          convert.Options
		width, height int
	}{
		{"webp", "webp", convert.Options{}, 320, 240},
		{"jpg", "mjpeg", convert.Options{Quality: "high"}, 320, 240},
		{"jpg", "mjpeg", convert.Options{Settings: map[string]string{"width": "160"}}, 160, 120},
		{"png", "png", convert.Options{Settings: map[string]string{"height": "60"}}, 80, 60},
	} {
		t.Run(fmt.Sprintf("%s_%d", tc.format, tc.width), func(t *testing.T) {
			dst := filepath.Join(dir, fmt.Sprintf("out%d.%s", tc.width, tc.format))
			require.NoError(t, tl.Run(context.Background(), src, "PNG", dst, tc.format, tc.opts, nil))
			info := probe(t, tl, dst)
			require.Len(t, info.Streams, 1)
			require.Equal(t, convert.Stream{CodecType: "video", CodecName: tc.codec, Width: tc.width, Height: tc.height}, info.Streams[0])
		})
	}
}

func TestRunVideo(t *testing.T) {
	t.Parallel()
	tl := converttest.Tools(t)
	dir := t.TempDir()
	src := converttest.Generate(t, dir, "in.mp4", "-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")

	for _, tc := range []struct {
		format string
		want   []string
	}{
		{"webm", []string{"video:vp9", "audio:opus"}},
		{"mkv", []string{"video:h264", "audio:aac"}},
		{"mp4", []string{"video:h264", "audio:aac"}},
		{"mp3", []string{"audio:mp3"}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			dst := filepath.Join(dir, "out."+tc.format)
			var reports []convert.Progress
			err := tl.Run(context.Background(), src, "mp4", dst, tc.format, convert.Options{},
				func(p convert.Progress) { reports = append(reports, p) })
			require.NoError(t, err)

			info := probe(t, tl, dst)
			require.Equal(t, tc.want, codecs(info))
			require.InDelta(t, 2, info.Duration.Seconds(), 0.2)

			require.NotEmpty(t, reports)
			for i, p := range reports {
				require.InDelta(t, 2, p.Total.Seconds(), 0.2)
				if i > 0 {
					require.GreaterOrEqual(t, p.Done, reports[i-1].Done)
				}
			}
			require.Equal(t, reports[len(reports)-1].Total, reports[len(reports)-1].Done)
		})
	}
}

func TestRunCorrupt(t *testing.T) {
	t.Parallel()
	tl := converttest.Tools(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "x.wav")
	data := make([]byte, 5000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	require.NoError(t, os.WriteFile(src, data, 0o644))

	dst := filepath.Join(dir, "x.mp3")
	err := tl.Run(context.Background(), src, "wav", dst, "mp3", convert.Options{}, func(convert.Progress) {})
	var e *filefleet.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, filefleet.EUNPROCESSABLE, e.Code)
	require.Equal(t, "ffmpeg failed: "+src+": Invalid data found when processing input", e.Message)
	require.NoFileExists(t, dst)
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	tl := converttest.Tools(t)
	dir := t.TempDir()
	src := converttest.LongVideo(t, dir)

	dst := filepath.Join(dir, fmt.Sprintf("cancel-%d.webm", time.Now().UnixNano()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		var once sync.Once
		done <- tl.Run(ctx, src, "mp4", dst, "webm", convert.Options{},
			func(convert.Progress) { once.Do(func() { close(started) }) })
	}()

	select { // ffmpeg reports progress about twice a second once it runs
	case <-started:
	case err := <-done:
		t.Fatalf("Run returned before any progress: %v", err)
	}
	time.Sleep(time.Second)
	require.True(t, converttest.Running(t, dst), "ffmpeg should still be running")
	cancel()
	cancelled := time.Now()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
		t.Logf("Run returned %v after cancel", time.Since(cancelled))
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2 s of cancel")
	}
	require.False(t, converttest.Running(t, dst), "ffmpeg still running after cancel")
	require.NoFileExists(t, dst)
}

func TestRunDocument(t *testing.T) {
	t.Parallel()
	tl := converttest.Tools(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "hello.pdf")
	require.NoError(t, os.WriteFile(src, converttest.PDF("Hello filefleet"), 0o644))

	dst := filepath.Join(dir, "hello.txt")
	require.NoError(t, tl.Run(context.Background(), src, "pdf", dst, "txt", convert.Options{}, nil))
	txt, err := os.ReadFile(dst)
	require.NoError(t, err)
	require.Contains(t, string(txt), "Hello filefleet")

	// Not a PDF: pdftotext's reason comes back.
	require.NoError(t, os.WriteFile(src, []byte("not a pdf"), 0o644))
	err = tl.Run(context.Background(), src, "pdf", dst, "txt", convert.Options{}, nil)
	require.Equal(t, filefleet.EUNPROCESSABLE, filefleet.ErrorCode(err))
	require.True(t, strings.HasPrefix(filefleet.ErrorMessage(err), "pdftotext failed: "), filefleet.ErrorMessage(err))
	require.False(t, errors.Is(err, context.Canceled))
}
