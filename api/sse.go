package api

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/r3labs/sse/v2"

	"github.com/filefleet/filefleet"
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
	after, err := lastEventID(c)
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
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	go a.relay(ctx, streamID, jobID, after, sub, subscribed)

	q := c.Request.URL.Query()
	q.Set("stream", streamID)
	c.Request.URL.RawQuery = q.Encode()
	c.Header("X-Accel-Buffering", "no")
	a.sse.ServeHTTP(c.Writer, c.Request)
	a.waiters.Delete(streamID)
}

// lastEventID reads the Last-Event-ID header, or the last_event_id query parameter (an
// EventSource cannot set headers on its first connection).
func lastEventID(c *gin.Context) (int64, error) {
	s := c.GetHeader("Last-Event-ID")
	if s == "" {
		s = c.Query("last_event_id")
	}
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, filefleet.Errorf(filefleet.EINVALID, "Last-Event-ID must be a non-negative integer event id, not %q", s)
	}
	return n, nil
}

// relay publishes to one connection's stream: stored events after `after`, then live ones.
// For a job stream it ends the response after the job's terminal event.
func (a *API) relay(ctx context.Context, streamID, jobID string, after int64, sub *events.Subscription, subscribed <-chan struct{}) {
	select {
	case <-subscribed:
	case <-ctx.Done():
		return
	}
	replayed := map[int64]bool{}
	send := func(ev filefleet.Event) (end bool) {
		data, _ := json.Marshal(ev)
		a.sse.Publish(streamID, &sse.Event{ID: []byte(strconv.FormatInt(ev.ID, 10)), Event: []byte(ev.Type), Data: data})
		return jobID != "" && ev.Type.Terminal()
	}
	finish := func() { a.sse.Publish(streamID, &sse.Event{}) } // an empty event ends the response
	replay := func() (end bool, err error) {
		for {
			evs, err := store.ListEvents(ctx, a.db, jobID, after, replayPage)
			if err != nil {
				return false, err
			}
			for _, ev := range evs {
				replayed[ev.ID], after = true, ev.ID
				if send(ev) {
					return true, nil
				}
			}
			if len(evs) < replayPage {
				return false, nil
			}
		}
	}
	end, err := replay()
	if err == nil && !end && jobID != "" {
		// A job that finished before we subscribed has its terminal event stored by now.
		var job *filefleet.Job
		if job, err = store.GetJob(ctx, a.db, jobID); err == nil && job.Status.Terminal() {
			if end, err = replay(); err == nil {
				end = true
			}
		}
	}
	if err != nil {
		a.log.Warn("event replay failed", "job_id", jobID, "err", err)
		end = true
	}
	if end {
		finish()
		return
	}
	tick := time.NewTicker(a.cfg.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case ev, open := <-sub.C:
			if !open { // lagging or shutting down: the client reconnects with Last-Event-ID
				finish()
				return
			}
			if replayed[ev.ID] {
				continue
			}
			if send(ev) {
				finish()
				return
			}
		case <-tick.C:
			a.sse.Publish(streamID, &sse.Event{Comment: []byte("keep-alive")})
		case <-ctx.Done():
			return
		}
	}
}
