package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/store"
)

// WebSocket timings.
const (
	wsPingEvery    = 30 * time.Second // a ping keeps proxies from closing an idle socket
	wsWriteTimeout = 10 * time.Second // per message or ping; a client slower than this is dropped
)

// clientIDPattern is what a WebSocket client may call itself.
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// websocket streams job events over a WebSocket, one filefleet.Event as JSON per text message,
// in order of id and each once, like the SSE streams: query parameter job_id (a UUID) limits
// it to one job, whose events are replayed from the start and after whose last event the socket
// closes with 1000 (normal closure); without it the socket carries every job's events from now
// on and does not end by itself. last_event_id (or a Last-Event-ID header) replays the events
// after it (0: all those kept).
// When the API stops, or the client lags too far behind, the socket closes with 1001 (going
// away): the client reconnects with the last id it got.
//
// client_id (1 to 128 of A-Z a-z 0-9 . _ -) names the client in logs. Credentials come as for
// every route (X-API-Key, Authorization, or the token query parameter browsers must use); they
// are never logged. A bad parameter or an unknown job is an error envelope, before any upgrade.
// Messages from the client other than control frames close the socket.
func (a *API) websocket(c *gin.Context) {
	clientID := c.Param("client_id")
	if !clientIDPattern.MatchString(clientID) {
		a.fail(c, filefleet.Errorf(filefleet.EINVALID,
			"client id must be 1 to 128 letters, digits, dots, underscores or hyphens"))
		return
	}
	var jobID string
	if s := c.Query("job_id"); s != "" {
		var err error
		if jobID, err = parseID("job_id", s); err != nil {
			a.fail(c, err)
			return
		}
		if _, err := store.GetJob(c.Request.Context(), a.db, jobID); err != nil {
			a.fail(c, err)
			return
		}
	}
	after, err := a.streamStart(c, jobID)
	if err != nil {
		a.fail(c, err)
		return
	}

	sub := a.hub.Subscribe(jobID) // before replay, so no event falls between the two
	defer sub.Close()
	c.Header(filefleet.ResumeAfterHeader, strconv.FormatInt(after, 10))
	conn, err := websocket.Accept(c.Writer, c.Request, nil) // same-origin, or no Origin header
	if err != nil {
		return // Accept has answered the client
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(c.Request.Context()) // answers pings and close; ends when the client goes
	ctx, stop := a.whileAuthorized(ctx, c)
	defer stop()
	a.log.Debug("websocket open", "client_id", clientID, "job_id", jobID)

	var clientErr error // a write or ping that failed: the client is gone or too slow
	send := func(ev filefleet.Event) error {
		data, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
		defer cancel()
		clientErr = conn.Write(wctx, websocket.MessageText, data)
		return clientErr
	}
	ping := func() error {
		pctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
		defer cancel()
		clientErr = conn.Ping(pctx)
		return clientErr
	}
	done, err := a.follow(ctx, followParams{JobID: jobID, After: after, Sub: sub, Send: send,
		FileEvents: principalOf(c).Can(auth.PermFilesView), KeepAlive: ping, KeepAliveEvery: wsPingEvery})
	switch {
	case errors.Is(context.Cause(ctx), errCredentialEnded):
		conn.Close(websocket.StatusPolicyViolation, "credential revoked or expired; reconnect with a valid one")
	case ctx.Err() != nil, clientErr != nil: // the client went away, broke the protocol or lagged
		a.log.Debug("websocket client lost", "client_id", clientID, "err", cmp.Or(clientErr, context.Cause(ctx)))
	case done:
		conn.Close(websocket.StatusNormalClosure, "job finished")
	case err != nil:
		a.log.Warn("websocket stream failed", "client_id", clientID, "job_id", jobID, "err", err)
		conn.Close(websocket.StatusInternalError, "event stream failed")
	default: // the subscription ended
		conn.Close(websocket.StatusGoingAway, "reconnect with last_event_id")
	}
}
