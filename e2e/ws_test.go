package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// wsURL is the WebSocket address of path on the stack, with the admin's key as the token
// query parameter, as the seed's browser client sends it.
func wsURL(s *testenv.Stack, path string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return "ws" + strings.TrimPrefix(s.URL, "http") + path + sep + "token=" + s.AdminKey
}

// dialWS opens the WebSocket at path (with its query), sending a token as the seed's client does.
func dialWS(t *testing.T, s *testenv.Stack, path string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, wsURL(s, path), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// readWS reads events until the server closes the socket, failing the test after timeout; it
// returns them and the close status.
func readWS(t *testing.T, conn *websocket.Conn, timeout time.Duration) ([]filefleet.Event, websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var evs []filefleet.Event
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			require.NoError(t, ctx.Err(), "the socket did not close within %s; got %d events", timeout, len(evs))
			status := websocket.CloseStatus(err)
			require.NotEqual(t, websocket.StatusCode(-1), status, "the socket ended without a close frame: %v", err)
			return evs, status
		}
		require.Equal(t, websocket.MessageText, typ)
		var ev filefleet.Event
		require.NoError(t, json.Unmarshal(data, &ev), "message: %s", data)
		evs = append(evs, ev)
	}
}

// TestWSJobEvents follows a scan's events over the WebSocket: the same events as its SSE stream,
// in order, ending with job_completed and a normal closure.
func TestWSJobEvents(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{ScanPageSize: 5})
	dir := t.TempDir()
	writeTree(t, dir, treeSpec(300))
	addLocalRoot(t, s, "disk", dir)
	job := submit(t, s, map[string]any{"type": "scan", "root": "disk"})

	conn := dialWS(t, s, "/api/v1/ws/organizer-ui_1.0?job_id="+job.ID)
	evs, status := readWS(t, conn, time.Minute)
	require.Equal(t, websocket.StatusNormalClosure, status, "the socket closes normally after the job's last event")
	require.NotEmpty(t, evs)
	require.Equal(t, filefleet.EventJobCompleted, evs[len(evs)-1].Type, "events: %+v", evs)
	for i, ev := range evs {
		require.Equal(t, job.ID, ev.JobID)
		if i > 0 {
			require.Greater(t, ev.ID, evs[i-1].ID, "event ids increase")
		}
	}

	sse := readEvents(t, s, job.ID, 0, time.Minute)
	want := make([]filefleet.Event, len(sse))
	for i, e := range sse {
		require.Equal(t, e.ID, e.Event.ID)
		want[i] = e.Event
	}
	require.Equal(t, want, evs, "the WebSocket carries exactly the SSE stream's events")

	// Resuming after the first event replays the rest, then closes.
	conn = dialWS(t, s, "/api/v1/ws/organizer-ui?job_id="+job.ID+"&last_event_id="+strconv.FormatInt(evs[0].ID, 10))
	resumed, status := readWS(t, conn, time.Minute)
	require.Equal(t, websocket.StatusNormalClosure, status)
	require.Equal(t, evs[1:], resumed)
}

// TestWSBadInput answers bad parameters with a 400 envelope instead of upgrading.
func TestWSBadInput(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	job := submit(t, s, map[string]any{"type": "noop"})
	for _, tc := range []struct {
		desc, path string
		status     int
		code       string
	}{
		{"client id too long", "/api/v1/ws/" + strings.Repeat("a", 129), 400, "INVALID_REQUEST"},
		{"client id with a space", "/api/v1/ws/bad%20client", 400, "INVALID_REQUEST"},
		{"client id with a colon", "/api/v1/ws/bad:client", 400, "INVALID_REQUEST"},
		{"job id not a UUID", "/api/v1/ws/ui?job_id=not-a-uuid", 400, "INVALID_REQUEST"},
		{"last event id not a number", "/api/v1/ws/ui?job_id=" + job.ID + "&last_event_id=abc", 400, "INVALID_REQUEST"},
		{"unknown job", "/api/v1/ws/ui?job_id=7b0c8f2e-4a1d-4c7e-9a55-0b8e2d1f3c4a", 404, "NOT_FOUND"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, resp, err := websocket.Dial(ctx, wsURL(s, tc.path), nil)
			require.Error(t, err, "no upgrade")
			require.Nil(t, conn)
			require.NotNil(t, resp)
			require.Equal(t, tc.status, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			var env struct {
				Success bool `json:"success"`
				Error   struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &env), "body: %s", body)
			require.False(t, env.Success)
			require.Equal(t, tc.code, env.Error.Code, "body: %s", body)
			require.NotEmpty(t, env.Error.Message)
		})
	}
}

// TestWSAllEvents receives the events of jobs submitted after it connected, each once, and is
// closed as going away when the API stops.
func TestWSAllEvents(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	conn := dialWS(t, s, "/api/v1/ws/dashboard")
	ids := []string{submit(t, s, map[string]any{"type": "noop"}).ID, submit(t, s, map[string]any{"type": "noop"}).ID}

	got := map[string][]filefleet.Event{}
	seen := map[int64]bool{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for done := 0; done < len(ids); {
		typ, data, err := conn.Read(ctx)
		require.NoError(t, err, "events so far: %v", got)
		require.Equal(t, websocket.MessageText, typ)
		var ev filefleet.Event
		require.NoError(t, json.Unmarshal(data, &ev), "message: %s", data)
		require.False(t, seen[ev.ID], "event %d sent twice", ev.ID)
		seen[ev.ID] = true
		got[ev.JobID] = append(got[ev.JobID], ev)
		if ev.Type.Terminal() {
			require.Equal(t, filefleet.EventJobCompleted, ev.Type)
			done++
		}
	}
	require.Len(t, got, len(ids), "events of exactly the two jobs: %v", got)
	for _, id := range ids {
		var want []filefleet.Event
		for _, e := range readEvents(t, s, id, 0, time.Minute) {
			want = append(want, e.Event)
		}
		evs := got[id]
		slices.SortFunc(evs, func(a, b filefleet.Event) int { return int(a.ID - b.ID) })
		require.Equal(t, want, evs, "job %s: the same events as its SSE stream", id)
	}

	// The all-jobs stream does not end by itself; stopping the API closes it.
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer stopCancel()
	require.NoError(t, s.API.Stop(stopCtx))
	_, _, err := conn.Read(ctx)
	require.Error(t, err)
	var ce websocket.CloseError
	require.True(t, errors.As(err, &ce), "a close frame, not a broken connection: %v", err)
	require.Equal(t, websocket.StatusGoingAway, ce.Code)
}

// TestAllEventsStartNow: the streams of every job's events (SSE and WebSocket) start with what
// happens after they open, not with the whole history kept; last_event_id=0 replays it.
func TestAllEventsStartNow(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	old := submit(t, s, map[string]any{"type": "noop"})
	require.Equal(t, filefleet.JobStateSucceeded, waitJob(t, s, old.ID, time.Minute).Status)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	live := openSSE(t, ctx, s, "/api/v1/events", nil)
	history := openSSE(t, ctx, s, "/api/v1/events?last_event_id=0", nil)
	conn := dialWS(t, s, "/api/v1/ws/dashboard")
	fresh := submit(t, s, map[string]any{"type": "noop"})

	ev, ok := scanSSE(t, live)
	require.True(t, ok)
	require.Equal(t, fresh.ID, ev.Event.JobID, "the SSE stream starts now: %+v", ev)
	_, data, err := conn.Read(ctx)
	require.NoError(t, err)
	var wsEv filefleet.Event
	require.NoError(t, json.Unmarshal(data, &wsEv))
	require.Equal(t, fresh.ID, wsEv.JobID, "the WebSocket starts now: %s", data)
	ev, ok = scanSSE(t, history)
	require.True(t, ok)
	require.Equal(t, old.ID, ev.Event.JobID, "last_event_id=0 replays the history: %+v", ev)
}
