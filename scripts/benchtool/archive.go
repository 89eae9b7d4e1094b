package main

import (
	"encoding/json"
	"flag"
	"fmt"
)

// ffarchive times one archive job of a root's prefix (the root is created first if missing):
// from POST /archive to the poll that saw the job succeed. It prints the seconds and the
// result.
func ffarchive(args []string) error {
	fs := flag.NewFlagSet("ffarchive", flag.ExitOnError)
	jf := newJobFlags(fs, "bench-archive")
	prefix := fs.String("prefix", "", "directory of the root to archive")
	format := fs.String("format", "tar.gz", "zip, tar, tar.gz or tar.zst")
	target := fs.String("target", "", "target path in the same root")
	expectBytes := fs.Int64("expect-bytes", -1, "content bytes the archive must hold (-1: any)")
	fs.Parse(args)

	ctx, c, _, done, err := jf.begin()
	if err != nil {
		return err
	}
	defer done()
	j, elapsed, err := runJob(ctx, c, "/archive", map[string]any{"root": *jf.root, "prefix": *prefix,
		"format": *format, "target_path": *target, "overwrite": true}, *jf.poll)
	if err != nil {
		return err
	}
	var res struct {
		Size    int64 `json:"size"`
		Entries int   `json:"entries"`
		Bytes   int64 `json:"bytes"`
	}
	if err := json.Unmarshal(j.Result, &res); err != nil {
		return fmt.Errorf("archive job %s result %.300s: %w", j.ID, j.Result, err)
	}
	if *expectBytes >= 0 && res.Bytes != *expectBytes {
		return fmt.Errorf("archive job %s holds %d bytes, want %d", j.ID, res.Bytes, *expectBytes)
	}
	fmt.Printf("seconds=%.3f size=%d entries=%d bytes=%d server_seconds=%.3f job=%s\n",
		elapsed.Seconds(), res.Size, res.Entries, res.Bytes, serverSeconds(j), j.ID)
	return nil
}
