package e2e

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/events"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/store"
)

// TestStreamsEndWithTheirCredential opens the all-jobs SSE stream and a WebSocket with an
// API key, then revokes the key: both close within a few rechecks instead of going on
// delivering events (the SSE response ends, the socket closes with 1008).
func TestStreamsEndWithTheirCredential(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{StreamRecheck: 200 * time.Millisecond})
	r := s.Do(t, http.MethodPost, "/api/v1/keys", map[string]any{"name": "stream"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	var created struct {
		Key    string       `json:"key"`
		APIKey store.APIKey `json:"api_key"`
	}
	r.Decode(t, &created)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v1/events", nil)
	require.NoError(t, err)
	req.Header.Set("X-API-Key", created.Key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	sseEnded := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
		}
		sseEnded <- sc.Err()
	}()

	wsURL := "ws" + strings.TrimPrefix(s.URL, "http") + "/api/v1/ws/probe?token=" + created.Key
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	require.NoError(t, err)
	defer conn.CloseNow()
	wsStatus := make(chan websocket.StatusCode, 1)
	go func() {
		_, _, err := conn.Read(ctx)
		wsStatus <- websocket.CloseStatus(err)
	}()

	time.Sleep(time.Second) // several rechecks while the key is good: both stay open
	require.Empty(t, sseEnded, "the SSE stream stays open while its key is valid")
	require.Empty(t, wsStatus, "the socket stays open while its key is valid")

	r = s.Do(t, http.MethodDelete, "/api/v1/keys/"+created.APIKey.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	select {
	case <-sseEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the SSE stream outlived its revoked key")
	}
	select {
	case code := <-wsStatus:
		require.Equal(t, websocket.StatusPolicyViolation, code)
	case <-time.After(5 * time.Second):
		t.Fatal("the WebSocket outlived its revoked key")
	}
}

// TestUploadEventsNeedFilesView: the events of no job (uploads, which name a root, a path and
// a hash) go only to streams whose credential may view files; jobs.view alone gets the jobs'.
func TestUploadEventsNeedFilesView(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	addLocalRoot(t, s, "disk", t.TempDir())
	keys := map[string]string{}
	for name, scopes := range map[string][]string{"jobs": {"jobs.view"}, "files": {"jobs.view", "files.view"}} {
		r := s.Do(t, http.MethodPost, "/api/v1/keys", map[string]any{"name": name, "scopes": scopes})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
		var created struct {
			Key string `json:"key"`
		}
		r.Decode(t, &created)
		keys[name] = created.Key
	}
	r := postUpload(t, s, s.AdminKey, [][2]string{{"destination", "disk:in/"}}, "secret-plan.txt", []byte("x"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	job := submit(t, s, map[string]any{"type": "noop"})

	// typesUntil reads the whole history as key until job's last event.
	typesUntil := func(key string) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		sc := openSSE(t, ctx, s, "/api/v1/events?last_event_id=0", http.Header{"X-Api-Key": {key}})
		var types []string
		for ev, ok := scanSSE(t, sc); ok; ev, ok = scanSSE(t, sc) {
			types = append(types, ev.Type)
			if ev.Event.JobID == job.ID && ev.Event.Type.Terminal() {
				return types
			}
		}
		t.Fatalf("the stream ended before job %s did; got %v", job.ID, types)
		return nil
	}
	require.NotContains(t, typesUntil(keys["jobs"]), string(filefleet.EventFileUploaded))
	require.Contains(t, typesUntil(keys["files"]), string(filefleet.EventFileUploaded))
}

// TestStreamEndsWhenClientStopsReading: a client that keeps its connection but stops reading
// (its receive window full) gets its stream ended once a write blocks longer than
// StreamWriteTimeout, instead of holding the stream's goroutines and events for good.
func TestStreamEndsWhenClientStopsReading(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true, StreamWriteTimeout: 300 * time.Millisecond})
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return cmp.Or(err, serr)
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET /api/v1/events HTTP/1.1\r\nHost: filefleet\r\nX-API-Key: %s\r\n\r\n", s.AdminKey)
	require.NoError(t, err)
	time.Sleep(500 * time.Millisecond) // subscribed

	// 12 MiB of events, more than the socket buffers hold (4 MiB at most): the server's
	// writes block while the client does not read.
	big := strings.Repeat("x", 64<<10)
	for i := range 200 {
		require.NoError(t, events.Publish(t.Context(), s.Redis, filefleet.Event{ID: int64(1e9 + i), JobID: uuid.NewString(),
			Type: filefleet.EventJobProgress, Message: big}))
	}
	time.Sleep(2 * time.Second)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	n, err := io.Copy(io.Discard, conn)
	var netErr net.Error
	require.False(t, errors.As(err, &netErr) && netErr.Timeout(),
		"the server still streams to a client that stopped reading (read %d bytes, then %v)", n, err)
	require.Less(t, n, int64(200*len(big)), "the stream ended before sending every event")
}
