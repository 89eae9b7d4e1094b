package api

import (
	"context"
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
)

// StreamRecheckDefault is how often an open event stream checks its credential again.
const StreamRecheckDefault = 30 * time.Second

// errCredentialEnded ends a stream whose credential no longer lets it read events.
var errCredentialEnded = errors.New("the credential was revoked or expired, or lost the jobs.view permission")

// whileAuthorized returns ctx, canceled with cause errCredentialEnded once the request's
// credential stops being valid (a revoked or expired key or session, a disabled user) or no
// longer grants jobs.view: an open stream must not outlive what opened it. It checks every
// Config.StreamRecheck; stop ends the watch.
func (a *API) whileAuthorized(ctx context.Context, c *gin.Context) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	cred := credential(c)
	go func() {
		t := time.NewTicker(a.cfg.StreamRecheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			p, err := a.principalFor(c.Copy(), cred)
			if code := filefleet.ErrorCode(err); code == filefleet.EUNAUTHORIZED || (err == nil && !p.Can(auth.PermJobsView)) {
				a.log.Info("closing an event stream: its credential ended", "path", c.FullPath())
				cancel(errCredentialEnded)
				return
			}
		}
	}()
	return ctx, func() { cancel(nil) }
}
