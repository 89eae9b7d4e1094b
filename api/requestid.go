package api

import (
	"log/slog"
	"regexp"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/filefleet/filefleet/internal/logctx"
)

// requestIDPattern is what a client-sent X-Request-ID may be; anything else is replaced.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestID gives every request an id — the client's X-Request-ID when it sends a sane one —
// echoed in the response and logged with the request.
func requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if !requestIDPattern.MatchString(id) {
		id = uuid.NewString()
	}
	c.Set("request_id", id)
	c.Header("X-Request-ID", id)
	c.Request = c.Request.WithContext(logctx.With(c.Request.Context(), slog.String("request_id", id)))
	c.Next()
}

// corsMiddleware lets browsers on origins call the API (gin-contrib/cors), with the headers
// filefleet reads and the rate limit headers it sets; nil when origins is empty.
func corsMiddleware(origins []string) gin.HandlerFunc {
	if len(origins) == 0 {
		return nil
	}
	cfg := cors.DefaultConfig()
	if len(origins) == 1 && origins[0] == "*" {
		cfg.AllowAllOrigins = true
	} else {
		cfg.AllowOrigins = origins
	}
	cfg.AllowHeaders = append(cfg.AllowHeaders, "Authorization", "X-API-Key", "X-Request-ID", "Last-Event-ID")
	cfg.ExposeHeaders = []string{"X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
		"Retry-After", "Location"}
	return cors.New(cfg)
}
