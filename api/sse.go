package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/r3labs/sse/v2"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/events"
	"github.com/filefleet/filefleet/store"
)

// replayPage is how many stored events one replay query reads.
const replayPage = 500

// jobEvents streams one job's events (SSE): first those after Last-Event-ID from PostgreSQL,
// then live ones from Redis. The stream ends after the job's last event.
func (a *API) jobEvents(c *gin.Context) {
	id, err := jobID(c)
	if err == nil {
		_, err = store.GetJob(c.Request.Context(), a.db, id)
	}
	if err != nil {
		a.fail(c, err)
		return
	}
	a.stream(c, id)
}

// allEvents streams the events of every job (SSE); it does not end by itself.
func (a *API) allEvents(c *gin.Context) { a.stream(c, "") }

// stream serves an SSE response through r3labs/sse: each connection gets a stream of its own,
// fed by relay, because the library can neither replay from our store nor filter by job.
func (a *API) stream(c *gin.Context, jobID string) {
	after, err := a.streamStart(c, jobID)
	if err != nil {
		a.fail(c, err)
		return
	}
	sub := a.hub.Subscribe(jobID) // before replay, so no event falls between the two
	defer sub.Close()
	streamID := uuid.NewString()
	subscribed := make(chan struct{})
	a.waiters.Store(streamID, subscribed)
	a.sse.CreateStream(streamID)
	ctx, stop := a.whileAuthorized(c.Request.Context(), c) // ends the response when it ends
	defer stop()
	fileEvents := principalOf(c).Can(auth.PermFilesView)
	go a.relay(ctx, streamID, followParams{JobID: jobID, After: after, Sub: sub, FileEvents: fileEvents}, subscribed)

	q := c.Request.URL.Query()
	q.Set("stream", streamID)
	c.Request.URL.RawQuery = q.Encode()
	c.Header("X-Accel-Buffering", "no")
	c.Header(filefleet.ResumeAfterHeader, strconv.FormatInt(after, 10))
	a.sse.ServeHTTP(newDeadlineWriter(c.Writer, a.cfg.StreamWriteTimeout), c.Request.WithContext(ctx))
	a.waiters.Delete(streamID)
}

// deadlineWriter is a stream's response writer that gives each write a deadline: a write to
// a client that stopped reading (its TCP window full) fails, net/http then cancels the
// request's context, and the stream ends, instead of holding its goroutines and buffered
// events for as long as the connection lives.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func newDeadlineWriter(w http.ResponseWriter, timeout time.Duration) *deadlineWriter {
	return &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: timeout}
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher, which r3labs/sse needs.
func (w *deadlineWriter) Flush() {
	w.extend()
	_ = w.rc.Flush()
}

func (w *deadlineWriter) extend() { _ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout)) }

// streamStart returns the event id after which a stream's replay starts: Last-Event-ID when
// given; else 0 for a job's stream (the job's whole history), and the newest stored event for
// the stream of every job, which starts with what happens next (last_event_id=0 replays all
// the events kept).
func (a *API) streamStart(c *gin.Context, jobID string) (int64, error) {
	after, given, err := lastEventID(c)
	if err != nil || given || jobID != "" {
		return after, err
	}
	return store.LatestEventID(c.Request.Context(), a.db)
}

// lastEventID reads the Last-Event-ID header, or the last_event_id query parameter (an
// EventSource cannot set headers on its first connection); given is false without either.
func lastEventID(c *gin.Context) (id int64, given bool, err error) {
	s := c.GetHeader("Last-Event-ID")
	if s == "" {
		s = c.Query("last_event_id")
	}
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false, filefleet.Errorf(filefleet.EINVALID, "Last-Event-ID must be a non-negative integer event id, not %q", s)
	}
	return n, true, nil
}

// relay publishes to one connection's stream what follow reads, keeping it alive with
// comments. It ends the response when follow returns, except when the client has gone.
func (a *API) relay(ctx context.Context, streamID string, p followParams, subscribed <-chan struct{}) {
	select {
	case <-subscribed:
	case <-ctx.Done():
		return
	}
	send := func(ev filefleet.Event) error {
		data, _ := json.Marshal(ev)
		a.sse.Publish(streamID, &sse.Event{ID: []byte(strconv.FormatInt(ev.ID, 10)), Event: []byte(ev.Type), Data: data})
		return nil
	}
	keepAlive := func() error {
		a.sse.Publish(streamID, &sse.Event{Comment: []byte("keep-alive")})
		return nil
	}
	p.Send, p.KeepAlive, p.KeepAliveEvery = send, keepAlive, a.cfg.KeepAlive
	_, err := a.follow(ctx, p)
	if err != nil && ctx.Err() == nil {
		a.log.Warn("event replay failed", "job_id", p.JobID, "err", err)
	}
	if ctx.Err() == nil {
		a.sse.Publish(streamID, &sse.Event{}) // an empty event ends the response
	}
}

// catchUpEvery is how often a stream looks in PostgreSQL for events its Redis subscription
// missed; seenMax bounds each set of event ids a stream keeps to send every event once.
const (
	catchUpEvery = 5 * time.Second
	seenMax      = 10000
)

// remember adds id to a set of event ids, forgetting them all when it holds seenMax (ids whose
// other copy never came).
func remember(set map[int64]bool, id int64) {
	if len(set) >= seenMax {
		clear(set)
	}
	set[id] = true
}

// followParams says which events follow reads and where it sends them.
type followParams struct {
	JobID          string               // "" for the events of every job
	After          int64                // replay the stored events with a greater id
	Sub            *events.Subscription // taken before the call, so no event falls between replay and it
	FileEvents     bool                 // also send the events of no job (uploads: paths and hashes), for files.view
	Send           func(filefleet.Event) error
	KeepAlive      func() error // called every KeepAliveEvery; nil for none
	KeepAliveEvery time.Duration
}

// follow sends a stream's events to p.Send in order of id and each once: first the stored
// events after p.After from PostgreSQL, then live ones from p.Sub, skipping those replayed, and
// every catchUpEvery the events stored since the last replay that were not sent live (those
// the subscription missed).
// Shared by the SSE and WebSocket streams.
//
// It returns done = true after a job stream's terminal event (or, for a job that ended before
// it subscribed, after the last stored one). It returns done = false and a nil error when
// p.Sub ends (the client lagged or the API stops: the client resumes from the last id it got)
// or ctx ends; and the error of a failed replay, Send or KeepAlive.
func (a *API) follow(ctx context.Context, p followParams) (done bool, err error) {
	after := p.After             // the stored events up to here were read (replays alone move it)
	replayed := map[int64]bool{} // sent by a replay; their live copies are skipped
	sentLive := map[int64]bool{} // sent live beyond after; a replay skips them
	send := func(ev filefleet.Event) (end bool, err error) {
		if ev.JobID == "" && !p.FileEvents {
			return false, nil
		}
		if err := p.Send(ev); err != nil {
			return false, err
		}
		return p.JobID != "" && ev.Type.Terminal(), nil
	}
	replay := func() (end bool, err error) {
		for {
			evs, err := store.ListEvents(ctx, a.db, p.JobID, after, replayPage)
			if err != nil {
				return false, err
			}
			for _, ev := range evs {
				after = ev.ID
				if sentLive[ev.ID] {
					delete(sentLive, ev.ID)
					continue
				}
				remember(replayed, ev.ID)
				if end, err := send(ev); end || err != nil {
					return end, err
				}
			}
			if len(evs) < replayPage {
				return false, nil
			}
		}
	}
	if done, err = replay(); done || err != nil {
		return done, err
	}
	if p.JobID != "" {
		// A job that finished before we subscribed has its terminal event stored by now.
		job, err := store.GetJob(ctx, a.db, p.JobID)
		if err != nil {
			return false, err
		}
		if job.Status.Terminal() {
			_, err = replay()
			return err == nil, err
		}
	}
	// Events the subscription lost (Redis restarted or failed over meanwhile) are in
	// PostgreSQL: every catchUpEvery, those stored since the last replay and not sent live go out.
	catchUp := time.NewTicker(catchUpEvery)
	defer catchUp.Stop()
	var tick <-chan time.Time
	if p.KeepAlive != nil {
		t := time.NewTicker(p.KeepAliveEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case ev, open := <-p.Sub.C:
			if !open {
				return false, nil
			}
			if replayed[ev.ID] {
				delete(replayed, ev.ID)
				continue
			}
			if ev.ID > after {
				remember(sentLive, ev.ID)
			}
			if done, err = send(ev); done || err != nil {
				return done, err
			}
		case <-catchUp.C:
			if done, err = replay(); done || err != nil {
				return done, err
			}
		case <-tick:
			if err := p.KeepAlive(); err != nil {
				return false, err
			}
		case <-ctx.Done():
			return false, nil
		}
	}
}
