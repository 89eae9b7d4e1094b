package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/filefleet/filefleet"
)

// Watch follows a job's events (GET /jobs/{id}/events, server-sent events) after lastEventID
// (0 for all of them), calling fn for each in order of id. It returns nil once the job's
// terminal event (job_completed, job_failed or job_canceled) has been handed to fn, or at
// once if the job had ended before lastEventID; fn's error, stopping the watch; ctx's error;
// or the error of a connection that could not be made (after the client's retries).
//
// A stream that ends or breaks early is resumed with Last-Event-ID, so fn sees each event
// once. The stream is parsed here with bufio rather than with r3labs/sse's client: that client
// reconnects on its own, forever, and so would hide both the end of the stream after the
// terminal event and the envelope of an error (404, 403) behind its retries; the format the
// API writes (id, event, data lines, ":" comments, a blank line per event) takes a few lines.
func (s *JobsService) Watch(ctx context.Context, id string, lastEventID int64, fn func(filefleet.Event) error) error {
	return s.c.follow(ctx, "/jobs/"+pathEscape(id)+"/events", id, lastEventID, fn)
}

// WatchAll follows every job's events (GET /events) and file_uploaded events, as Watch. The
// stream has no end: WatchAll returns with fn's or ctx's error, or when it cannot reconnect.
func (s *JobsService) WatchAll(ctx context.Context, lastEventID int64, fn func(filefleet.Event) error) error {
	return s.c.follow(ctx, "/events", "", lastEventID, fn)
}

// follow reads the SSE stream at path, reconnecting from the last event id until the
// terminal event of job jobID ("" for none).
func (c *Client) follow(ctx context.Context, path, jobID string, last int64, fn func(filefleet.Event) error) error {
	for quiet := 0; ; quiet++ {
		h := http.Header{"Accept": {"text/event-stream"}}
		if last > 0 {
			h.Set("Last-Event-ID", strconv.FormatInt(last, 10))
		}
		resp, err := c.send(ctx, request{method: http.MethodGet, path: path, header: h, idempotent: true})
		if err != nil {
			return err
		}
		got := false
		done, err := readSSE(resp.Body, jobID != "", func(ev filefleet.Event) error {
			got, last = true, ev.ID
			return fn(ev)
		})
		resp.Body.Close()
		if done {
			return nil
		}
		if cb, ok := err.(callbackError); ok {
			return cb.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if got {
			quiet = 0
		}
		if jobID != "" && !got {
			// Nothing after last and the stream ended: done if the job has.
			job, err := (&JobsService{c}).Get(ctx, jobID)
			if err != nil {
				return err
			}
			if job.Status.Terminal() {
				return nil
			}
		}
		t := time.NewTimer(backoff(quiet))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// callbackError carries fn's error out of readSSE.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// readSSE hands each event of an SSE stream to fn until the stream ends, fn fails (a
// callbackError) or, if stopAtTerminal, a terminal event has been handled (done).
func readSSE(r io.Reader, stopAtTerminal bool, fn func(filefleet.Event) error) (done bool, err error) {
	br := bufio.NewReader(r)
	var id, data string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return false, err // a partial last event is dropped: it is replayed on reconnection
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if data == "" {
				id = ""
				continue
			}
			var ev filefleet.Event
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				return false, fmt.Errorf("filefleet: event %s: %w", id, err)
			}
			if ev.ID == 0 {
				ev.ID, _ = strconv.ParseInt(id, 10, 64)
			}
			id, data = "", ""
			if err := fn(ev); err != nil {
				return false, callbackError{err}
			}
			if stopAtTerminal && ev.Type.Terminal() {
				return true, nil
			}
		case strings.HasPrefix(line, ":"): // comment (keep-alive)
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "id":
				id = value
			case "data":
				if data != "" {
					data += "\n"
				}
				data += value
			}
		}
	}
}
