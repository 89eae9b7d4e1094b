package api

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"

	"github.com/filefleet/filefleet"
)

// Rate limit groups: auth (login, refresh: per client address), submit (endpoints that start
// jobs) and api (everything else), both per user or API key.
const (
	LimitAuth   = "auth"
	LimitSubmit = "submit"
	LimitAPI    = "api"
)

// RateLimitsDefault are requests per minute of each group.
var RateLimitsDefault = map[string]int{LimitAuth: 10, LimitSubmit: 600, LimitAPI: 3000}

// limit applies the per-minute limit of group, shared by every API replica through Redis
// (GCRA, go-redis/redis_rate): X-RateLimit-Limit, -Remaining and -Reset on every answer,
// 429 with Retry-After past it. Without Redis the request goes through (logged): the limiter
// must not take the API down with it.
func (a *API) limit(group string) gin.HandlerFunc {
	perMinute := a.cfg.RateLimits[group]
	return func(c *gin.Context) {
		if perMinute <= 0 {
			c.Next()
			return
		}
		who := "ip:" + c.ClientIP()
		if p := principalOf(c); p != nil {
			who = "user:" + strconv.FormatInt(p.UserID, 10)
			if p.KeyID != "" {
				who = "key:" + p.KeyID
			}
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), 300*time.Millisecond)
		res, err := a.limiter.Allow(ctx, "filefleet:ratelimit:"+group+":"+who, redis_rate.PerMinute(perMinute))
		cancel()
		if err != nil {
			a.log.Warn("rate limiter unavailable; request let through", "group", group, "err", err)
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(perMinute))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(res.Remaining))
		h.Set("X-RateLimit-Reset", strconv.Itoa(int(math.Ceil(res.ResetAfter.Seconds()))))
		if res.Allowed == 0 {
			retry := int(math.Ceil(res.RetryAfter.Seconds()))
			h.Set("Retry-After", strconv.Itoa(max(retry, 1)))
			a.fail(c, filefleet.Errorf(filefleet.ERATELIMITED, "rate limit of %d requests a minute (%s) reached; retry in %d s",
				perMinute, group, max(retry, 1)).WithDetails(map[string]any{"limit": perMinute, "retry_after": max(retry, 1)}))
			c.Abort()
			return
		}
		c.Next()
	}
}
