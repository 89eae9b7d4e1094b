package main

import (
	"cmp"
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"

	"github.com/filefleet/filefleet"
)

// stageBars draws a job's events on w: a progress bar per stage (a job's percent starts
// again at 0 in each stage) and the messages of error events (failed tasks to be retried).
type stageBars struct {
	w     io.Writer
	stage string
	bar   *progressbar.ProgressBar // nil until the first progress event
}

// show draws ev; events other than progress, completion and error leave the bar alone.
func (s *stageBars) show(ev filefleet.Event) error {
	switch ev.Type {
	case filefleet.EventJobProgress, filefleet.EventOrganizeProgress:
		return s.barOf(ev.Stage).Set(int(ev.Percent))
	case filefleet.EventJobCompleted:
		if s.bar == nil {
			s.barOf(ev.Stage)
		}
		return s.bar.Finish()
	case filefleet.EventError:
		s.end() // the next progress event draws the bar again, below the message
		_, err := fmt.Fprintln(s.w, ev.Message)
		return err
	}
	return nil
}

// barOf returns the bar of stage, ending the previous stage's bar on its own line.
func (s *stageBars) barOf(stage string) *progressbar.ProgressBar {
	if s.bar != nil && stage == s.stage {
		return s.bar
	}
	s.end()
	s.stage = stage
	s.bar = progressbar.NewOptions(100, progressbar.OptionSetWriter(s.w),
		progressbar.OptionSetDescription(cmp.Or(stage, "progress")), progressbar.OptionSetWidth(30))
	return s.bar
}

// end moves past the current bar's line, if a bar was drawn; the next event starts a new bar.
func (s *stageBars) end() {
	if s.bar != nil {
		fmt.Fprintln(s.w)
		s.bar = nil
	}
}
