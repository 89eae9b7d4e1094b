package events_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/events"
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
