package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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

// WatchAll follows every job's events (GET /events) and, for keys that may view files,
// file_uploaded events, as Watch: lastEventID 0 follows them from now (the server's newest
// event), a positive id replays those after it first. The stream has no end: WatchAll
// returns with fn's or ctx's error, or an error of the API that retrying cannot mend (401,
// 403...).
func (s *JobsService) WatchAll(ctx context.Context, lastEventID int64, fn func(filefleet.Event) error) error {
	return s.c.follow(ctx, "/events", "", lastEventID, fn)
}

// StreamIdleDefault is how long a stream may stay silent before the client takes it for
// stalled and reconnects: three of the server's keep-alive intervals (15 s).
const StreamIdleDefault = 45 * time.Second

// ResumeAfterHeader names the response header of an event stream that gives the id it starts
// after: a client that loses the stream before any event resumes from there.
const ResumeAfterHeader = filefleet.ResumeAfterHeader

// follow reads the SSE stream at path, reconnecting from the last event id until the
// terminal event of job jobID ("" for none). Network errors and a server that is down or
// restarting (502, 503, 504) do not end it: it waits and reconnects until ctx ends.
func (c *Client) follow(ctx context.Context, path, jobID string, last int64, fn func(filefleet.Event) error) error {
	cur := cursor{id: last, set: last > 0}
	for quiet := 0; ; quiet++ {
		got, done, ended, err := c.followOnce(ctx, path, jobID != "", &cur, fn)
		switch {
		case done:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !temporary(err):
			return err
		}
		if got {
			quiet = 0
		}
		if jobID != "" && !got && ended {
			// Nothing after last and the server ended the stream: done if the job has.
			job, err := (&JobsService{c}).Get(ctx, jobID)
			if err != nil && !temporary(err) {
				return err
			}
			if err == nil && job.Status.Terminal() {
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

// cursor is where a stream resumes: after event id, sent as Last-Event-ID once set (0
// included: the stream of every job starts from now without one).
type cursor struct {
	id  int64
	set bool
}

// followOnce reads one connection of the stream at path, from *last on, and moves *last on.
// got says whether an event came; done, whether a terminal event came (with stopAtTerminal);
// ended, whether the server ended the stream (rather than the connection breaking). A
// connection silent for streamIdle is closed, as stalled.
func (c *Client) followOnce(ctx context.Context, path string, stopAtTerminal bool, last *cursor,
	fn func(filefleet.Event) error) (got, done, ended bool, err error) {
	h := http.Header{"Accept": {"text/event-stream"}}
	if last.set {
		h.Set("Last-Event-ID", strconv.FormatInt(last.id, 10))
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: path, header: h, idempotent: true})
	if err != nil {
		return false, false, false, err
	}
	defer resp.Body.Close()
	if after, err := strconv.ParseInt(resp.Header.Get(ResumeAfterHeader), 10, 64); err == nil && !last.set {
		*last = cursor{id: after, set: true}
	}
	idle := time.AfterFunc(c.streamIdle, func() { resp.Body.Close() })
	defer idle.Stop()
	body := &idleReader{r: resp.Body, timer: idle, d: c.streamIdle}
	done, err = readSSE(body, stopAtTerminal, func(ev filefleet.Event) error {
		got, *last = true, cursor{id: ev.ID, set: true}
		return fn(ev)
	})
	var bad badEventError
	switch cb, ok := err.(callbackError); {
	case ok:
		return got, done, false, cb.err
	case errors.As(err, &bad):
		return got, done, false, err // it would come again after a reconnection
	}
	return got, done, errors.Is(err, io.EOF), nil // the stream ended or broke: reconnect
}

// badEventError is an event whose data is not an Event.
type badEventError struct{ err error }

func (e badEventError) Error() string { return e.err.Error() }

// idleReader restarts timer, which closes a stalled stream, after every read.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.timer.Reset(r.d)
	return n, err
}

// temporary reports whether err may pass by itself: the network, a server down or
// restarting, a rate limit.
func temporary(err error) bool {
	_, retry := retryable(err, 0)
	return retry
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
				return false, badEventError{fmt.Errorf("filefleet: event %s is not an event: %w", id, err)}
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
