package api

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"

	"github.com/filefleet/filefleet"
)

// MonitoringPath is where asynqmon, asynq's dashboard, is served.
const MonitoringPath = "/monitoring"

// ownClient makes asynqmon a Redis client of its own, configured like the API's (asynqmon
// closes its client when it stops).
type ownClient struct{ opt *redis.Options }

func (o ownClient) MakeRedisClient() interface{} { return redis.NewClient(o.opt) }

// monitoring returns asynqmon behind the admin token, or nil when the Redis client cannot be
// copied.
func (a *API) monitoring() *asynqmon.HTTPHandler {
	c, isClient := a.rdb.(*redis.Client)
	if !isClient {
		return nil
	}
	return asynqmon.New(asynqmon.Options{RootPath: MonitoringPath, RedisConnOpt: ownClient{opt: c.Options()}})
}

// adminOnly lets a request through with the admin token, as a bearer token or as the password
// of HTTP basic auth (for browsers); anything else is 401. Without a configured token nothing
// gets through. Users and roles (with read-only access for operators) replace this with the
// API's authentication.
func (a *API) adminOnly(c *gin.Context) {
	token := ""
	if h := c.GetHeader("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	} else if _, pass, ok := c.Request.BasicAuth(); ok {
		token = pass
	}
	if a.cfg.AdminToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(a.cfg.AdminToken)) != 1 {
		c.Header("WWW-Authenticate", `Basic realm="filefleet monitoring"`)
		msg := "the monitoring dashboard needs the admin token (Authorization: Bearer <token>, or as basic-auth password)"
		if a.cfg.AdminToken == "" {
			msg = "the monitoring dashboard is off: set FILEFLEET_ADMIN_TOKEN on the API to use it"
		}
		a.fail(c, filefleet.Errorf(filefleet.EUNAUTHORIZED, "%s", msg))
		c.Abort()
		return
	}
	c.Next()
}

// serveMonitoring mounts asynqmon on r.
func (a *API) serveMonitoring(r *gin.Engine) {
	a.mon = a.monitoring()
	if a.mon == nil {
		return
	}
	h := gin.WrapH(a.mon)
	r.GET(MonitoringPath, a.adminOnly, func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, MonitoringPath+"/") })
	r.Any(MonitoringPath+"/*any", a.adminOnly, h)
}
