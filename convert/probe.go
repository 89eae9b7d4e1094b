package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Info is what ffprobe says about a media file.
type Info struct {
	FormatName string
	Duration   time.Duration // 0 when unknown
	Streams    []Stream
}

// Stream is one stream of a media file.
type Stream struct {
	CodecType, CodecName string // e.g. "audio", "mp3"
	Width, Height        int    // 0 for sound
}

// Probe runs ffprobe on the local file path. Errors: EUNAVAILABLE without ffprobe,
// EUNPROCESSABLE with ffprobe's reason when it cannot read the file.
func (t Tools) Probe(ctx context.Context, path string) (Info, error) {
	if t.FFprobe == "" {
		return Info{}, unavailable("ffprobe")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return Info{}, err
	}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, t.FFprobe, "-v", "error", "-print_format", "json",
		"-show_format", "-show_streams", "file:"+path)
	cmd.Stdout = &stdout
	if err := run(ctx, cmd, path); err != nil {
		return Info{}, err
	}

	var out struct {
		Format struct {
			FormatName string `json:"format_name"`
			Duration   string `json:"duration"`
		} `json:"format"`
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return Info{}, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	info := Info{FormatName: out.Format.FormatName}
	if secs, err := strconv.ParseFloat(out.Format.Duration, 64); err == nil {
		info.Duration = time.Duration(secs * float64(time.Second))
	}
	for _, s := range out.Streams {
		info.Streams = append(info.Streams, Stream{CodecType: s.CodecType, CodecName: s.CodecName, Width: s.Width, Height: s.Height})
	}
	return info, nil
}
