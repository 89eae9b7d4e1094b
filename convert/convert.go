// Package convert turns media and documents into other formats with ffmpeg and pdftotext.
package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/filefleet/filefleet"
)

// Kind is a family of formats converted by the same tool.
type Kind string

// Kinds of conversion.
const (
	KindImage    Kind = "image"
	KindAudio    Kind = "audio"
	KindVideo    Kind = "video"
	KindDocument Kind = "document"
)

// FormatSet is what a kind takes in and gives out.
type FormatSet struct {
	Input  []string `json:"input"`
	Output []string `json:"output"`
}

// Formats lists the formats of each kind as lower-case extensions without a dot.
var Formats = map[Kind]FormatSet{
	KindImage:    {Input: []string{"jpg", "png", "gif", "bmp", "webp", "tiff"}, Output: []string{"jpg", "png", "webp"}},
	KindAudio:    {Input: []string{"mp3", "flac", "wav", "aac", "ogg", "m4a"}, Output: []string{"mp3", "flac", "wav", "aac", "ogg"}},
	KindVideo:    {Input: []string{"mp4", "mkv", "avi", "mov", "webm"}, Output: []string{"mp4", "mkv", "webm"}},
	KindDocument: {Input: []string{"pdf"}, Output: []string{"txt"}},
}

// kindOrder is the order kinds are listed in.
var kindOrder = []Kind{KindImage, KindAudio, KindVideo, KindDocument}

// aliases maps other spellings of a format to its name in Formats.
var aliases = map[string]string{"jpeg": "jpg", "tif": "tiff"}

// normalize returns format in lower case without a leading dot and with aliases resolved.
func normalize(format string) string {
	f := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(format), "."))
	if a, ok := aliases[f]; ok {
		return a
	}
	return f
}

// sourceKind returns the kind whose inputs include format.
func sourceKind(format string) (Kind, bool) {
	for _, k := range kindOrder {
		if slices.Contains(Formats[k].Input, format) {
			return k, true
		}
	}
	return "", false
}

// targets returns the sorted formats a source of kind k converts to: its kind's outputs, and
// the audio outputs for video (the sound track is extracted).
func targets(k Kind) []string {
	out := slices.Clone(Formats[k].Output)
	if k == KindVideo {
		out = append(out, Formats[KindAudio].Output...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Plan returns the kind of converting sourceFormat into targetFormat (case-insensitive, a
// leading dot allowed). Video converts to audio formats too (kind audio: the sound track).
// An unsupported pair is EINVALID with the source's supported targets in the message and
// Details; an unknown source format is EINVALID listing the accepted inputs.
func Plan(sourceFormat, targetFormat string) (Kind, error) {
	src, dst := normalize(sourceFormat), normalize(targetFormat)
	k, ok := sourceKind(src)
	if !ok {
		var inputs []string
		for _, k := range kindOrder {
			inputs = append(inputs, Formats[k].Input...)
		}
		slices.Sort(inputs)
		return "", filefleet.Errorf(filefleet.EINVALID, "cannot convert from %q; accepted source formats: %s",
			src, strings.Join(inputs, ", ")).
			WithDetails(map[string]any{"source_format": src, "supported_sources": inputs})
	}
	switch {
	case slices.Contains(Formats[k].Output, dst):
		return k, nil
	case k == KindVideo && slices.Contains(Formats[KindAudio].Output, dst):
		return KindAudio, nil
	}
	ts := targets(k)
	return "", filefleet.Errorf(filefleet.EINVALID, "cannot convert %s to %s; %s converts to: %s",
		src, dst, src, strings.Join(ts, ", ")).
		WithDetails(map[string]any{"source_format": src, "supported_targets": ts})
}

// Options tune a conversion.
//
// Quality is "low", "medium" or "high"; "" means medium. Settings are optional overrides:
// "bitrate" of the sound (digits with an optional k or M, e.g. "320k"; ignored by lossless
// formats), "width" and "height" of pictures in pixels (one alone keeps the aspect ratio) and
// "sample_rate" of the sound in Hz. Settings a kind has no use for are ignored.
type Options struct {
	Quality  string
	Settings map[string]string
}

// qualities maps a quality to its index in encoder.levels.
var qualities = map[string]int{"low": 0, "": 1, "medium": 1, "high": 2}

// settingPatterns are the valid values of each setting.
var settingPatterns = map[string]*regexp.Regexp{
	"bitrate":     regexp.MustCompile(`^[1-9][0-9]{0,5}[kM]?$`),
	"width":       regexp.MustCompile(`^[1-9][0-9]{0,4}$`),
	"height":      regexp.MustCompile(`^[1-9][0-9]{0,4}$`),
	"sample_rate": regexp.MustCompile(`^[1-9][0-9]{3,5}$`),
}

// settingHints say what a valid setting looks like.
var settingHints = map[string]string{
	"bitrate":     `digits with an optional k or M, e.g. "192k"`,
	"width":       "a positive number of pixels",
	"height":      "a positive number of pixels",
	"sample_rate": "a number of Hz, e.g. 44100",
}

// Validate checks o without running anything: EINVALID naming the bad quality or setting.
func (o Options) Validate() error {
	if _, ok := qualities[o.Quality]; !ok {
		return filefleet.Errorf(filefleet.EINVALID, "invalid quality %q; want low, medium or high", o.Quality).
			WithDetails(map[string]any{"setting": "quality"})
	}
	for key, value := range o.Settings {
		re, ok := settingPatterns[key]
		if !ok {
			return filefleet.Errorf(filefleet.EINVALID, "unknown setting %q; known settings: bitrate, height, sample_rate, width", key).
				WithDetails(map[string]any{"setting": key})
		}
		if !re.MatchString(value) {
			return filefleet.Errorf(filefleet.EINVALID, "invalid %s %q; want %s", key, value, settingHints[key]).
				WithDetails(map[string]any{"setting": key})
		}
	}
	return nil
}

// Tools are the paths of the programs conversions need; "" when missing.
type Tools struct {
	FFmpeg, FFprobe, PDFToText string
}

// Detect finds the tools on PATH.
func Detect() Tools {
	look := func(name string) string {
		path, _ := exec.LookPath(name)
		return path
	}
	return Tools{FFmpeg: look("ffmpeg"), FFprobe: look("ffprobe"), PDFToText: look("pdftotext")}
}

// Kinds lists the kinds t can convert: image, audio and video with ffmpeg and ffprobe,
// document with pdftotext.
func (t Tools) Kinds() []Kind {
	var ks []Kind
	for _, k := range kindOrder {
		if t.Can(k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// Can reports whether t can convert kind k.
func (t Tools) Can(k Kind) bool { return t.missing(k) == "" }

// missing returns the name of a tool kind k needs that t lacks, "" when none is.
func (t Tools) missing(k Kind) string {
	switch {
	case k == KindDocument && t.PDFToText == "":
		return "pdftotext"
	case k == KindDocument:
		return ""
	case t.FFmpeg == "":
		return "ffmpeg"
	case t.FFprobe == "":
		return "ffprobe"
	}
	return ""
}

// unavailable is the EUNAVAILABLE error for a missing tool.
func unavailable(tool string) error {
	pkg := map[string]string{"pdftotext": "poppler-utils", "ffprobe": "ffmpeg", "ffmpeg": "ffmpeg"}[tool]
	return filefleet.Errorf(filefleet.EUNAVAILABLE,
		"this worker has no %s; install it (apt-get install %s) or run conversions on a worker that has it", tool, pkg)
}

// Progress reports how far a conversion got: Done of Total media time. Total is 0 when
// unknown (images, documents).
type Progress struct {
	Done, Total time.Duration
}

// Run converts the local file src (format sourceFormat) into the local file dst (format
// targetFormat), creating or overwriting dst and removing it when the conversion fails.
// progress, when not nil, is called as ffmpeg reports (about twice a second); pdftotext
// reports nothing. Cancelling ctx kills the tool at once and returns ctx.Err() wrapped.
// Errors: EINVALID for a bad pair or options (see Plan, Options.Validate), EUNAVAILABLE when
// the tool is missing, EUNPROCESSABLE with the tool's reason when it fails on the source.
func (t Tools) Run(ctx context.Context, src, sourceFormat, dst, targetFormat string, opts Options, progress func(Progress)) error {
	kind, err := Plan(sourceFormat, targetFormat)
	if err != nil {
		return err
	} else if err := opts.Validate(); err != nil {
		return err
	} else if tool := t.missing(kind); tool != "" {
		return unavailable(tool)
	}
	// Absolute paths never start with "-", so no tool reads them as options.
	if src, err = filepath.Abs(src); err != nil {
		return err
	} else if dst, err = filepath.Abs(dst); err != nil {
		return err
	} else if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("convert: %w", err)
	}

	if kind == KindDocument {
		err = run(ctx, exec.CommandContext(ctx, t.PDFToText, "-enc", "UTF-8", src, dst), src)
	} else {
		pw := &progressWriter{fn: progress}
		if progress != nil && kind != KindImage {
			if info, err := t.Probe(ctx, src); err == nil {
				pw.total = info.Duration
			}
		}
		cmd := exec.CommandContext(ctx, t.FFmpeg, t.ffmpegArgs(src, dst, normalize(targetFormat), kind, opts)...)
		cmd.Stdout = pw
		err = run(ctx, cmd, src)
	}
	if err != nil {
		_ = os.Remove(dst)
	}
	return err
}

// run runs cmd, killing it when ctx ends, and turns a failure into an error carrying the
// tail of its stderr.
func run(ctx context.Context, cmd *exec.Cmd, src string) error {
	var stderr tailBuffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 500 * time.Millisecond
	err := cmd.Run()
	tool := filepath.Base(cmd.Path)
	var exit *exec.ExitError
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("%s: %w", tool, ctx.Err())
	case errors.As(err, &exit):
		return filefleet.WrapError(filefleet.EUNPROCESSABLE, err, "%s failed: %s", tool, reason(stderr.b, src))
	case err != nil:
		return filefleet.WrapError(filefleet.EUNAVAILABLE, err, "cannot run %s", tool)
	}
	return nil
}

// encoder is a codec and how to set its quality.
type encoder struct {
	codec  string
	flag   string    // quality flag, "" for lossless codecs
	levels [3]string // flag values for low, medium, high
	extra  []string  // fixed arguments
}

// output is how ffmpeg writes a target format.
type output struct {
	muxer        []string
	video, audio *encoder // nil: no such stream
}

var (
	x264 = &encoder{codec: "libx264", flag: "-crf", levels: [3]string{"30", "23", "18"},
		extra: []string{"-preset", "veryfast", "-pix_fmt", "yuv420p"}}
	aacTrack   = &encoder{codec: "aac", flag: "-b:a", levels: [3]string{"96k", "128k", "192k"}}
	opusTrack  = &encoder{codec: "libopus", flag: "-b:a", levels: [3]string{"64k", "96k", "128k"}}
	vorbis     = &encoder{codec: "libvorbis", flag: "-q:a", levels: [3]string{"2", "5", "8"}}
	stillImage = []string{"-f", "image2", "-update", "1", "-frames:v", "1"}
)

// outputs maps each target format to its muxer and encoders.
var outputs = map[string]output{
	"jpg":  {muxer: stillImage, video: &encoder{codec: "mjpeg", flag: "-q:v", levels: [3]string{"10", "5", "2"}}},
	"png":  {muxer: stillImage, video: &encoder{codec: "png"}},
	"webp": {muxer: []string{"-f", "webp", "-frames:v", "1"}, video: &encoder{codec: "libwebp", flag: "-quality", levels: [3]string{"50", "75", "90"}}},
	"mp3":  {muxer: []string{"-f", "mp3"}, audio: &encoder{codec: "libmp3lame", flag: "-q:a", levels: [3]string{"7", "4", "0"}}},
	"flac": {muxer: []string{"-f", "flac"}, audio: &encoder{codec: "flac"}},
	"wav":  {muxer: []string{"-f", "wav"}, audio: &encoder{codec: "pcm_s16le"}},
	"aac":  {muxer: []string{"-f", "adts"}, audio: &encoder{codec: "aac", flag: "-b:a", levels: [3]string{"96k", "160k", "256k"}}},
	"ogg":  {muxer: []string{"-f", "ogg"}, audio: vorbis},
	"mp4":  {muxer: []string{"-f", "mp4", "-movflags", "+faststart"}, video: x264, audio: aacTrack},
	"mkv":  {muxer: []string{"-f", "matroska"}, video: x264, audio: aacTrack},
	"webm": {muxer: []string{"-f", "webm"}, audio: opusTrack, video: &encoder{codec: "libvpx-vp9", flag: "-crf",
		levels: [3]string{"40", "33", "28"}, extra: []string{"-b:v", "0", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"}}},
}

// ffmpegArgs returns the arguments converting src into dst of format target (normalized).
func (t Tools) ffmpegArgs(src, dst, target string, kind Kind, opts Options) []string {
	out := outputs[target]
	if out.audio == vorbis && !t.hasEncoder("libvorbis") {
		out.audio = opusTrack
	}
	if kind == KindAudio {
		out.video = nil // audio from video keeps only the sound
	}
	level := qualities[opts.Quality]
	set := opts.Settings

	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-progress", "pipe:1", "-nostats",
		"-i", "file:" + src}
	args = append(args, out.muxer...)
	args = append(args, "-sn", "-dn")
	if e := out.video; e == nil {
		args = append(args, "-vn")
	} else {
		args = append(args, "-c:v", e.codec)
		if e.flag != "" {
			args = append(args, e.flag, e.levels[level])
		}
		args = append(args, e.extra...)
		if f := scaleFilter(set["width"], set["height"], kind == KindVideo); f != "" {
			args = append(args, "-vf", f)
		}
	}
	if e := out.audio; e == nil {
		args = append(args, "-an")
	} else {
		args = append(args, "-c:a", e.codec)
		if b := set["bitrate"]; b != "" && e.flag != "" {
			args = append(args, "-b:a", b)
		} else if e.flag != "" {
			args = append(args, e.flag, e.levels[level])
		}
		args = append(args, e.extra...)
		if r := set["sample_rate"]; r != "" {
			args = append(args, "-ar", r)
		}
	}
	return append(args, "file:"+dst)
}

// scaleFilter returns the -vf scale filter for the validated width and height ("" when
// unset); even rounds both sides to even sizes, as 4:2:0 video needs.
func scaleFilter(width, height string, even bool) string {
	f := ""
	switch {
	case width != "" && height != "":
		f = "scale=" + width + ":" + height
	case width != "":
		f = "scale=" + width + ":-2"
	case height != "":
		f = "scale=-2:" + height
	}
	if even {
		f = strings.TrimPrefix(f+",scale=trunc(iw/2)*2:trunc(ih/2)*2", ",")
	}
	return f
}

// encoders caches the encoder names of each ffmpeg binary.
var encoders sync.Map // path -> map[string]bool

// hasEncoder reports whether t.FFmpeg lists the encoder name.
func (t Tools) hasEncoder(name string) bool {
	if m, ok := encoders.Load(t.FFmpeg); ok {
		return m.(map[string]bool)[name]
	}
	m := map[string]bool{}
	out, _ := exec.Command(t.FFmpeg, "-hide_banner", "-encoders").Output()
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) >= 2 {
			m[f[1]] = true
		}
	}
	encoders.Store(t.FFmpeg, m)
	return m[name]
}

// progressWriter parses ffmpeg's -progress output and reports each block to fn.
type progressWriter struct {
	fn    func(Progress)
	total time.Duration
	done  time.Duration
	line  []byte
}

// Write implements io.Writer.
func (w *progressWriter) Write(p []byte) (int, error) {
	if w.fn == nil {
		return len(p), nil
	}
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		w.parse(string(w.line[:i]))
		w.line = w.line[i+1:]
	}
	if len(w.line) > 4096 { // not progress output; drop it
		w.line = nil
	}
	return len(p), nil
}

// parse handles one key=value line.
func (w *progressWriter) parse(line string) {
	key, value, _ := strings.Cut(strings.TrimSpace(line), "=")
	switch key {
	case "out_time_us", "out_time_ms": // both are microseconds
		if us, err := strconv.ParseInt(value, 10, 64); err == nil && us > 0 {
			w.done = max(w.done, time.Duration(us)*time.Microsecond)
		}
	case "progress":
		p := Progress{Done: w.done, Total: w.total}
		if w.total > 0 {
			p.Done = min(p.Done, w.total)
			if value == "end" {
				p.Done = w.total
			}
		}
		w.fn(p)
	}
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct{ b []byte }

// Write implements io.Writer.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if n := len(t.b) - 8192; n > 0 {
		t.b = t.b[n:]
	}
	return len(p), nil
}

// logPrefix matches ffmpeg's "[demuxer @ 0x55d1c0] " line prefix.
var logPrefix = regexp.MustCompile(`^\[[^\]]* @ 0x[0-9a-f]+\] `)

// reason returns the last meaningful lines of a tool's stderr, at most about 500 characters.
func reason(stderr []byte, src string) string {
	var lines []string
	for line := range strings.Lines(string(stderr)) {
		line = logPrefix.ReplaceAllString(strings.TrimSpace(line), "")
		line = strings.TrimSpace(strings.ReplaceAll(line, "file:"+src, src))
		if line != "" && !slices.Contains(lines, line) {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return "no error message"
	}
	s := strings.Join(lines[max(0, len(lines)-3):], "; ")
	if len(s) > 500 {
		s = "…" + strings.ToValidUTF8(s[len(s)-500:], "")
	}
	return s
}
