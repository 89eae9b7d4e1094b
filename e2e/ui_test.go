package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
)

// chromiumPath is Debian's Chromium, which `make services` installs.
const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium with a fresh profile and returns a tab's context, which
// ends with the test or after timeout. JavaScript exceptions thrown in the page are collected
// in the returned func's result.
func browser(t *testing.T, timeout time.Duration) (context.Context, func() []string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s is missing (%v): run `make services`, which installs Debian's chromium", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	var mu sync.Mutex
	var exceptions []string
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			d := e.ExceptionDetails
			msg := fmt.Sprintf("%s at %s:%d:%d", d.Text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
			if d.Exception != nil {
				msg += ": " + d.Exception.Description
			}
			exceptions = append(exceptions, msg)
			mu.Unlock()
		}
	}), "start %s", chromiumPath)
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), exceptions...)
	}
}

// TestUI drives the web UI in headless Chromium: log in through the form, scan a local root
// through the form and watch its progress bar reach 100% over SSE, visit the other screens,
// preview and execute an organize plan, and save a screenshot.
func TestUI(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{ScanPageSize: 50})
	dir := t.TempDir()
	writeTree(t, dir, treeSpec(300))
	addLocalRoot(t, s, "uifiles", dir)
	r := s.Do(t, http.MethodPost, "/api/v1/users", map[string]any{"username": "uiuser",
		"password": "ui user passphrase", "role": "operator"})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Raw)
	// The UI does not shadow the API's JSON 404s.
	r = s.DoAs(t, "", http.MethodGet, "/api/v1/no-such-route", nil)
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Raw)

	ctx, exceptions := browser(t, 3*time.Minute)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#username"), "uiuser"),
		chromedp.SendKeys(chromedp.CSS("#password"), "ui user passphrase"),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#scan-form")),
		chromedp.WaitReady(chromedp.CSS(`#scan-root option[value="uifiles"]`)),
		chromedp.SetValue(chromedp.CSS("#scan-root"), "uifiles"),
		chromedp.Click(chromedp.CSS("#scan-submit")),
		chromedp.WaitVisible(chromedp.CSS("#flash[data-job-id]")),
	), "exceptions: %v", exceptions())
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#flash"), "data-job-id"))
	require.NoError(t, err)
	jobID := attr.Value
	require.NotEmpty(t, jobID)

	bar := `tr[data-job-id="` + jobID + `"] [role=progressbar]`
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(bar+`[aria-valuenow="100"]`))),
		"exceptions: %v", exceptions())
	pct, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(bar+" .pct")))
	require.NoError(t, err)
	require.Equal(t, "100%", pct)
	require.Equal(t, filefleet.JobStateSucceeded, getJob(t, s, jobID).Status)

	var saved []byte
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	path := filepath.Join(t.ArtifactDir(), "ui-jobs.png")
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot: %s", path)
	saved, err = os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(saved, []byte("\x89PNG\r\n\x1a\n")), "not a PNG")
	cfg, err := png.DecodeConfig(bytes.NewReader(saved))
	require.NoError(t, err)
	require.Positive(t, cfg.Width)
	require.Positive(t, cfg.Height)

	// The other screens.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/#/jobs/"+jobID),
		chromedp.WaitReady(chromedp.CSS(`#events-body tr`)),
		chromedp.WaitReady(chromedp.CSS(`#job-json`)),
		chromedp.Navigate(s.URL+"/#/roots"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-root="uifiles"] td.ok`)),
		chromedp.Navigate(s.URL+"/#/duplicates"),
		chromedp.WaitVisible(chromedp.CSS(`main h2`)),
		chromedp.Navigate(s.URL+"/#/schedules"),
		chromedp.WaitVisible(chromedp.CSS(`main table`)),
	), "exceptions: %v", exceptions())

	// Organize: preview a directory by extension, execute, and see the job finish on Jobs.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/#/organize"),
		chromedp.WaitReady(chromedp.CSS(`#org-root option[value="uifiles"]`)),
		chromedp.SetValue(chromedp.CSS("#org-root"), "uifiles"),
		chromedp.SendKeys(chromedp.CSS("#org-path"), "d01"),
		chromedp.SetValue(chromedp.CSS("#org-methodology"), "by_extension"),
		chromedp.Click(chromedp.CSS("#org-preview")),
		chromedp.WaitVisible(chromedp.CSS(`#organize-plan tbody tr`)),
		chromedp.Click(chromedp.CSS("#org-execute")),
		chromedp.WaitVisible(chromedp.CSS("#scan-form")),
	), "exceptions: %v", exceptions())
	attr, err = chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#flash"), "data-job-id"))
	require.NoError(t, err)
	orgJob := attr.Value
	require.NotEqual(t, jobID, orgJob)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.WaitReady(chromedp.CSS(`tr[data-job-id="`+orgJob+`"] [role=progressbar][aria-valuenow="100"]`)),
	), "exceptions: %v", exceptions())
	require.Empty(t, exceptions())
}
