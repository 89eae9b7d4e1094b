package events_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/events"
	"github.com/filefleet/filefleet/internal/testenv"
)

// TestSubscribeAfterStop: a subscription taken after Stop (a stream opened while the API
// stops) starts ended, so that the stream ends instead of holding the shutdown.
func TestSubscribeAfterStop(t *testing.T) {
	h := events.NewHub(nil, slog.Default())
	before := h.Subscribe("")
	h.Stop()
	after := h.Subscribe("")
	for name, sub := range map[string]*events.Subscription{"before Stop": before, "after Stop": after} {
		select {
		case _, open := <-sub.C:
			require.False(t, open, "the subscription taken %s is ended", name)
		case <-time.After(time.Second):
			t.Fatalf("the subscription taken %s is still open", name)
		}
		sub.Close() // and may still be closed
	}
}

// TestHubsOfTwoDatabases: two filefleets on one Redis server, in databases of their own,
// stream only their own events (pub/sub channels ignore database indexes).
func TestHubsOfTwoDatabases(t *testing.T) {
	ctx := t.Context()
	rdbA, _ := testenv.Redis(t)
	rdbB, _ := testenv.Redis(t)
	subs := map[string]*events.Subscription{}
	for name, rdb := range map[string]*redis.Client{"a": rdbA, "b": rdbB} {
		h := events.NewHub(rdb, slog.Default())
		require.NoError(t, h.Start(ctx))
		t.Cleanup(h.Stop)
		subs[name] = h.Subscribe("")
	}
	time.Sleep(200 * time.Millisecond) // the subscriptions reach Redis
	require.NoError(t, events.Publish(ctx, rdbA, filefleet.Event{ID: 1, JobID: "job-of-a", Type: filefleet.EventJobProgress}))
	select {
	case ev := <-subs["a"].C:
		require.Equal(t, "job-of-a", ev.JobID)
	case <-time.After(5 * time.Second):
		t.Fatal("a's hub did not get a's event")
	}
	select {
	case ev := <-subs["b"].C:
		t.Fatalf("b's hub got a's event %+v", ev)
	case <-time.After(500 * time.Millisecond):
	}
}
