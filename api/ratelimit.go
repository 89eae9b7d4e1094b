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
// jobs) and api (everything else), both per user or API key. The auth limit also bounds
// failed logins per username and failed /monitoring logins per client address.
const (
	LimitAuth   = "auth"
	LimitSubmit = "submit"
	LimitAPI    = "api"
)

// RateLimitsDefault are requests per minute of each group.
var RateLimitsDefault = map[string]int{LimitAuth: 10, LimitSubmit: 600, LimitAPI: 3000}

// limiterTimeout bounds each call to the limiter.
const limiterTimeout = 300 * time.Millisecond

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
		ctx, cancel := context.WithTimeout(c.Request.Context(), limiterTimeout)
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
			a.fail(c, rateLimited(c, perMinute, "requests a minute ("+group+")", res.RetryAfter))
			c.Abort()
			return
		}
		c.Next()
	}
}

// rateLimited sets Retry-After and returns the ERATELIMITED error of a limit of perMinute
// what, to retry after retry.
func rateLimited(c *gin.Context, perMinute int, what string, retry time.Duration) error {
	secs := max(int(math.Ceil(retry.Seconds())), 1)
	c.Header("Retry-After", strconv.Itoa(secs))
	return filefleet.Errorf(filefleet.ERATELIMITED, "rate limit of %d %s reached; retry in %d s", perMinute, what, secs).
		WithDetails(map[string]any{"limit": perMinute, "retry_after": secs})
}

// failureKey is where the failed attempts of who are counted.
func failureKey(who string) string { return "filefleet:ratelimit:" + LimitAuth + ":failed:" + who }

// checkFailures returns an ERATELIMITED error when who has failed the auth group's limit of
// attempts in the last minute; nil otherwise, or without Redis (logged). It spends nothing:
// failed does.
func (a *API) checkFailures(c *gin.Context, who string) error {
	perMinute := a.cfg.RateLimits[LimitAuth]
	if perMinute <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), limiterTimeout)
	defer cancel()
	res, err := a.limiter.AllowN(ctx, failureKey(who), redis_rate.PerMinute(perMinute), 0)
	if err != nil {
		a.log.Warn("rate limiter unavailable; attempt let through", "who", who, "err", err)
		return nil
	}
	if res.Remaining >= 1 {
		return nil
	}
	// A cost of 0 spends nothing: the next attempt fits once one emission interval is free.
	interval := time.Minute / time.Duration(perMinute)
	return rateLimited(c, perMinute, "failed attempts a minute", res.ResetAfter-time.Duration(perMinute-1)*interval)
}

// failed spends one failed attempt of who.
func (a *API) failed(c *gin.Context, who string) {
	perMinute := a.cfg.RateLimits[LimitAuth]
	if perMinute <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), limiterTimeout)
	defer cancel()
	if _, err := a.limiter.Allow(ctx, failureKey(who), redis_rate.PerMinute(perMinute)); err != nil {
		a.log.Warn("rate limiter unavailable; failed attempt not counted", "who", who, "err", err)
	}
}
