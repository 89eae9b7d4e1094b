package api

import (
	"crypto/subtle"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynqmon"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
)

// MonitoringPath is where asynqmon, asynq's dashboard, is served.
const MonitoringPath = "/monitoring"

// monitoring returns asynqmon, read-only or not, or nil without Config.Redis. asynqmon opens
// Redis clients of its own from it (and closes them when it stops).
func (a *API) monitoring(readOnly bool) *asynqmon.HTTPHandler {
	if a.cfg.Redis == nil {
		return nil
	}
	return asynqmon.New(asynqmon.Options{RootPath: MonitoringPath, RedisConnOpt: a.cfg.Redis, ReadOnly: readOnly})
}

// monitoringAccess says which dashboard a request may see: the full one for the admin token
// or a principal with every permission, the read-only one for monitoring.view (operators).
// Credentials come as for the API, or as the password of HTTP basic auth (any user name) for
// browsers: an API key, an access token or the admin token. Failed attempts are limited per
// client address (the auth group's rate), against guessing the admin token.
func (a *API) monitoringAccess(c *gin.Context) (full bool, err error) {
	who := "monitoring:" + c.ClientIP()
	if err := a.checkFailures(c, who); err != nil {
		return false, err
	}
	cred := credential(c)
	if _, pass, ok := c.Request.BasicAuth(); ok && cred == "" {
		cred = pass
	}
	if a.cfg.AdminToken != "" && subtle.ConstantTimeCompare([]byte(cred), []byte(a.cfg.AdminToken)) == 1 {
		return true, nil
	}
	if cred == "" {
		return false, filefleet.Errorf(filefleet.EUNAUTHORIZED, "the monitoring dashboard needs credentials: an API key or "+
			"access token (X-API-Key, Authorization: Bearer, or as basic-auth password)")
	}
	p, err := a.principalFor(c, cred)
	switch {
	case err != nil:
		if filefleet.ErrorCode(err) == filefleet.EUNAUTHORIZED {
			a.failed(c, who)
		}
		return false, err
	case p.Can(auth.PermAll):
		return true, nil
	case p.Can(auth.PermMonitoringView):
		return false, nil
	}
	return false, filefleet.Errorf(filefleet.EFORBIDDEN, "the monitoring dashboard needs permission %s", auth.PermMonitoringView)
}

// serveMonitoring mounts asynqmon on r: the full dashboard for admins, read-only for operators.
func (a *API) serveMonitoring(r *gin.Engine) {
	a.mon, a.monRO = a.monitoring(false), a.monitoring(true)
	if a.mon == nil {
		return
	}
	serve := func(c *gin.Context) {
		full, err := a.monitoringAccess(c)
		if err != nil {
			c.Header("WWW-Authenticate", `Basic realm="filefleet monitoring"`)
			a.fail(c, err)
			return
		}
		if c.Request.URL.Path == MonitoringPath {
			c.Redirect(http.StatusMovedPermanently, MonitoringPath+"/")
			return
		}
		if full {
			a.mon.ServeHTTP(c.Writer, c.Request)
		} else {
			a.monRO.ServeHTTP(c.Writer, c.Request)
		}
	}
	r.GET(MonitoringPath, serve)
	r.Any(MonitoringPath+"/*any", serve)
}
