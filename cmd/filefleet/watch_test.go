package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
)

const fakeJobID = "0b6f1c2e-7f1a-4c59-9d8e-1f2a3b4c5d6e"

// fakeEventsAPI serves job fakeJobID: GET /jobs/{id} answers the job with status, and
// /jobs/{id}/events streams events, then ends the stream (or, with hang, keeps it open
// until the client goes).
func fakeEventsAPI(t *testing.T, status filefleet.JobState, hang bool, events ...filefleet.Event) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		job := filefleet.Job{ID: fakeJobID, Type: filefleet.JobTypeDedupe, Status: status}
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "data": job})
	})
	mux.HandleFunc("GET /api/v1/jobs/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i, ev := range events {
			ev.ID, ev.JobID = int64(i+1), fakeJobID
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, b)
		}
		w.(http.Flusher).Flush()
		if hang {
			<-r.Context().Done()
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("FILEFLEET_API_URL", srv.URL)
	t.Setenv("FILEFLEET_API_KEY", "")
	return srv.URL
}

func progress(stage string, percent float64) filefleet.Event {
	return filefleet.Event{Type: filefleet.EventJobProgress, Status: filefleet.JobStateRunning, Stage: stage, Percent: percent}
}

// TestCLIWatchBarPerStage: each stage of a job gets its own bar from 0 to 100%; error
// messages are shown, and events without progress (percent 0) leave the bar alone.
func TestCLIWatchBarPerStage(t *testing.T) {
	fakeEventsAPI(t, filefleet.JobStateSucceeded, false,
		progress("partial", 50), progress("partial", 100),
		filefleet.Event{Type: filefleet.EventError, Message: "hash:files failed (attempt 1 of 4): disk hiccup; retrying"},
		progress("full", 40),
		filefleet.Event{Type: filefleet.EventDuplicateDetected, Stage: "group", Message: "1 duplicate groups"},
		progress("full", 60),
		filefleet.Event{Type: filefleet.EventJobCompleted, Status: filefleet.JobStateSucceeded, Stage: "full", Percent: 100})

	code, out, errOut := cliRun(t, "no key", "jobs", "watch", fakeJobID)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "succeeded")
	require.Contains(t, errOut, "watching job "+fakeJobID)
	require.Contains(t, errOut, "disk hiccup; retrying\n")
	require.Regexp(t, `partial\s+50%`, errOut)
	require.Regexp(t, `full\s+40%`, errOut)
	require.Regexp(t, `full\s+60%`, errOut)
	require.NotRegexp(t, `(group|full)\s+0%`, errOut)
	// Each stage's bar ends on a line of its own, at its last percent.
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	last := func(s string) string { return s[strings.LastIndex(s, "\r")+1:] }
	require.Regexp(t, `^full\s+100%`, last(lines[len(lines)-1]), errOut)
	require.True(t, slicesContainsMatch(lines, regexp.MustCompile(`partial\s+100%`), last), errOut)
}

// slicesContainsMatch reports whether the part of a line that pick keeps matches re.
func slicesContainsMatch(lines []string, re *regexp.Regexp, pick func(string) string) bool {
	for _, l := range lines {
		if re.MatchString(pick(l)) {
			return true
		}
	}
	return false
}

// TestCLIWatchInterrupted: Ctrl-C stops the watch, not the job, and says how to follow it.
func TestCLIWatchInterrupted(t *testing.T) {
	fakeEventsAPI(t, filefleet.JobStateRunning, true, progress("scan", 10))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int)
	go func() { done <- Main(ctx, []string{"jobs", "watch", fakeJobID}, &out, &errOut) }()
	require.Eventually(t, func() bool { return strings.Contains(errOut.String(), "10%") }, 10*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case code := <-done:
		require.NotEqual(t, 0, code)
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop on cancel")
	}
	require.Contains(t, errOut.String(),
		"job "+fakeJobID+" is still running; follow it with: filefleet jobs watch "+fakeJobID)
}
