package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// TestCLIUnreachableAPI: a network error is printed once prefixed, with what to check.
func TestCLIUnreachableAPI(t *testing.T) {
	url := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t)) // nothing listens
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("FILEFLEET_API_URL", url)
	code, _, errOut := cliRun(t, "no key", "jobs", "ls")
	require.Equal(t, 1, code)
	require.True(t, strings.HasPrefix(errOut, "filefleet: "), errOut)
	require.NotContains(t, errOut, "filefleet: filefleet:")
	require.Contains(t, errOut, "is the API running at "+url+"? set --api-url or FILEFLEET_API_URL")
}

// TestCLIHelpAndGlobalFlagsFirst: -h prints the command's flags; global flags may come
// before the command, other flags there are a usage error.
func TestCLIHelpAndGlobalFlagsFirst(t *testing.T) {
	code, out, errOut := cliRun(t, "no key", "roots", "add", "-h")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "filefleet roots add [flags] ARG")
	require.Contains(t, out, "-no-verify")
	require.Contains(t, out, "-api-key-file")

	fakeEventsAPI(t, filefleet.JobStateSucceeded, false,
		filefleet.Event{Type: filefleet.EventJobCompleted, Status: filefleet.JobStateSucceeded, Percent: 100})
	code, out, errOut = cliRun(t, "no key", "--output", "json", "jobs", "watch", fakeJobID)
	require.Equal(t, 0, code, errOut)
	var ev filefleet.Event
	require.NoError(t, json.Unmarshal([]byte(out), &ev), out)
	require.Equal(t, filefleet.EventJobCompleted, ev.Type)
	code, out, errOut = cliRun(t, "no key", "--output=json", "jobs", "get", fakeJobID)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, `"status": "succeeded"`)

	code, _, errOut = cliRun(t, "no key", "--watch", "jobs", "ls")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--watch before the command")
}
