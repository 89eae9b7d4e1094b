package jobs

import (
	"context"
	"encoding/json"
	"path"
	"strings"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/convert"
	"github.com/filefleet/filefleet/store"
)

// prepareConvert validates a convert job: the source file exists, the format pair is one
// the workers convert, options are valid and the target (default: the source path with the
// target format's extension) is free unless overwrite is set.
func (s *Service) prepareConvert(ctx context.Context, nj store.NewJob, p SubmitParams, roots map[string]*filefleet.Root) (store.NewJob, error) {
	if p.Convert == nil {
		return nj, filefleet.Errorf(filefleet.EINVALID, `convert jobs need "convert": {"root", "source_path", "target_format"...}`)
	}
	c := *p.Convert
	if c.Root == "" || c.SourcePath == "" {
		return nj, filefleet.Errorf(filefleet.EINVALID, "root and source_path are required: the storage root and the file in it to convert")
	}
	src, err := s.scope(ctx, c.Root, c.SourcePath, roots)
	if err != nil {
		return nj, err
	}
	c.SourcePath, c.RootID = src.Prefix, src.RootID
	c.SourceFormat = formatOf(c.SourceFormat, c.SourcePath)
	c.TargetFormat = formatOf(c.TargetFormat, c.TargetPath)
	if c.TargetFormat == "" {
		return nj, filefleet.Errorf(filefleet.EINVALID, "target_format is required (GET /api/v1/conversions/formats lists them)")
	}
	kind, err := convert.Plan(c.SourceFormat, c.TargetFormat)
	if err != nil {
		return nj, err
	}
	if c.ConversionType != "" && convert.Kind(c.ConversionType) != kind {
		return nj, filefleet.Errorf(filefleet.EINVALID, "conversion_type %q does not match %s → %s, which is %s",
			c.ConversionType, c.SourceFormat, c.TargetFormat, kind)
	}
	c.ConversionType = string(kind)
	if err := (convert.Options{Quality: c.Quality, Settings: c.Settings}).Validate(); err != nil {
		return nj, err
	}
	if e, err := s.stat(ctx, src); err != nil {
		if filefleet.ErrorCode(err) == filefleet.ENOTFOUND {
			return nj, filefleet.Errorf(filefleet.ENOTFOUND, "source file not found: %s:%s", c.Root, c.SourcePath)
		}
		return nj, err
	} else if e.IsDir {
		return nj, filefleet.Errorf(filefleet.EINVALID, "%s:%s is a directory; convert one file at a time", c.Root, c.SourcePath)
	}
	if c.TargetRoot == "" {
		c.TargetRoot = c.Root
	}
	if c.TargetPath == "" {
		c.TargetPath = strings.TrimSuffix(c.SourcePath, path.Ext(c.SourcePath)) + "." + c.TargetFormat
	}
	dst, err := s.target(ctx, c.TargetRoot, c.TargetPath, c.Overwrite, roots)
	if err != nil {
		return nj, err
	}
	c.TargetPath, c.TargetRootID = dst.Prefix, dst.RootID
	nj.RootID, nj.Root = &c.RootID, c.Root
	nj.Params, _ = json.Marshal(c)
	return nj, nil
}

// formatOf is format, lower-cased without a dot, or else the extension of p.
func formatOf(format, p string) string {
	if format == "" {
		format = path.Ext(p)
	}
	return strings.ToLower(strings.TrimPrefix(format, "."))
}
