package client

import (
	"context"
	"net/http"
	"time"

	"github.com/filefleet/filefleet"
)

// ArchiveRequest is the body of POST /archive (and an archive job's): Prefix (a directory,
// "" for the whole root) or Paths of Root, written as Format (zip, tar, tar.gz, tar.zst;
// default zip) to TargetPath of TargetRoot (default: Root, archives/<name>-<time>.<ext>).
type ArchiveRequest struct {
	Root       string   `json:"root"`
	Prefix     string   `json:"prefix,omitempty"`
	Paths      []string `json:"paths,omitempty"`
	Format     string   `json:"format,omitempty"`
	TargetRoot string   `json:"target_root,omitempty"`
	TargetPath string   `json:"target_path,omitempty"`
	Overwrite  bool     `json:"overwrite,omitempty"`
}

// Archive starts an archive job; its result is a filefleet.ArchiveResult.
func (c *Client) Archive(ctx context.Context, r ArchiveRequest) (*filefleet.Job, error) {
	return call[filefleet.Job](ctx, c, http.MethodPost, "/archive", r)
}

// ConversionsService converts files with ffmpeg or pdftotext on the workers (/conversions).
type ConversionsService struct{ c *Client }

// ConvertRequest says what to convert: SourcePath of Root becomes TargetPath of TargetRoot.
// The formats default to the paths' extensions (one of TargetFormat and TargetPath is
// needed); TargetRoot defaults to Root. Settings: bitrate, width, height, sample_rate.
type ConvertRequest struct {
	Root           string            `json:"root"`
	SourcePath     string            `json:"source_path"`
	TargetRoot     string            `json:"target_root,omitempty"`
	TargetPath     string            `json:"target_path,omitempty"`
	SourceFormat   string            `json:"source_format,omitempty"`
	TargetFormat   string            `json:"target_format,omitempty"`
	ConversionType string            `json:"conversion_type,omitempty"` // image, audio, video, document
	Quality        string            `json:"quality,omitempty"`         // low, medium (default), high
	Settings       map[string]string `json:"settings,omitempty"`
	Overwrite      bool              `json:"overwrite,omitempty"`
	ScheduledFor   *time.Time        `json:"scheduled_for,omitempty"`
}

// Conversion is a convert job as /conversions shows it. Status: pending, running,
// completed, failed or cancelled.
type Conversion = filefleet.Conversion

// ConversionList is a page of conversions.
type ConversionList struct {
	Conversions []Conversion `json:"-"`
	Page
}

// ConversionFormats are the formats of one kind and the live workers converting it.
type ConversionFormats struct {
	Input   []string `json:"input"`
	Output  []string `json:"output"`
	Workers int      `json:"workers"`
}

// Create starts a conversion.
func (s *ConversionsService) Create(ctx context.Context, r ConvertRequest) (*Conversion, error) {
	return call[Conversion](ctx, s.c, http.MethodPost, "/conversions", r)
}

// Get returns a conversion (NOT_FOUND for a job that is not one).
func (s *ConversionsService) Get(ctx context.Context, id string) (*Conversion, error) {
	return call[Conversion](ctx, s.c, http.MethodGet, "/conversions/"+pathEscape(id), nil)
}

// List returns a page of conversions, newest first; status ("" for all) filters them.
func (s *ConversionsService) List(ctx context.Context, status string, limit, offset int) (*ConversionList, error) {
	var out struct {
		Conversions []Conversion `json:"conversions"`
	}
	var l ConversionList
	q := query("status", status, "limit", itoa(limit), "offset", itoa(offset))
	if err := s.c.get(ctx, "/conversions"+q, &dataMeta{&out, &l.Page}); err != nil {
		return nil, err
	}
	l.Conversions = out.Conversions
	return &l, nil
}

// Cancel cancels a conversion (CONFLICT when it has finished).
func (s *ConversionsService) Cancel(ctx context.Context, id string) (*Conversion, error) {
	var out struct {
		Conversion Conversion `json:"conversion"`
	}
	if err := s.c.post(ctx, "/conversions/"+pathEscape(id)+"/cancel", nil, &out); err != nil {
		return nil, err
	}
	return &out.Conversion, nil
}

// Formats returns, per kind (image, audio, video, document), the formats converted.
func (s *ConversionsService) Formats(ctx context.Context) (map[string]ConversionFormats, error) {
	var out map[string]ConversionFormats
	err := s.c.get(ctx, "/conversions/formats", &out)
	return out, err
}
