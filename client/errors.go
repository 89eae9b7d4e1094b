package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error codes of the envelope.
const (
	CodeInvalidRequest     = "INVALID_REQUEST"
	CodeUnauthorized       = "UNAUTHORIZED"
	CodeForbidden          = "FORBIDDEN"
	CodeNotFound           = "NOT_FOUND"
	CodeConflict           = "CONFLICT"
	CodeUnprocessable      = "UNPROCESSABLE"
	CodeRateLimited        = "RATE_LIMITED"
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"
	CodeInternal           = "INTERNAL_ERROR"
)

// APIError is a failed response: its HTTP status, the envelope's error and the request's
// X-Request-ID. Code is empty when the body was not an envelope (e.g. from a proxy).
type APIError struct {
	Status    int
	Code      string
	Message   string
	Details   map[string]any
	RequestID string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("filefleet: %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// RateLimitError is a 429: RetryAfter says how long to wait.
type RateLimitError struct {
	APIError
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s; retry after %s", e.APIError.Error(), e.RetryAfter)
}

// Unwrap lets errors.As find the *APIError.
func (e *RateLimitError) Unwrap() error { return &e.APIError }

// AsAPIError returns the *APIError in err's chain (also that of a *RateLimitError), or nil.
func AsAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

func hasStatus(err error, status int, code string) bool {
	ae := AsAPIError(err)
	return ae != nil && (ae.Status == status || ae.Code == code)
}

// IsNotFound reports whether err is a 404 / NOT_FOUND.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound, CodeNotFound) }

// IsConflict reports whether err is a 409 / CONFLICT.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict, CodeConflict) }

// IsForbidden reports whether err is a 403 / FORBIDDEN.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden, CodeForbidden) }

// IsRateLimited reports whether err is a 429 / RATE_LIMITED.
func IsRateLimited(err error) bool {
	return hasStatus(err, http.StatusTooManyRequests, CodeRateLimited)
}

// errorFrom builds the error of a non-2xx response from its body (read in full by the caller).
func errorFrom(resp *http.Response, body []byte) error {
	e := APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-ID")}
	var env struct {
		Error *struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		e.Code, e.Message, e.Details = env.Error.Code, env.Error.Message, env.Error.Details
	} else {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "..."
		}
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return &RateLimitError{APIError: e, RetryAfter: retryAfter(resp.Header, e.Details)}
	}
	return &e
}

// retryAfter reads Retry-After (seconds or an HTTP date), else X-RateLimit-Reset, else the
// details' retry_after; 1 s when none says.
func retryAfter(h http.Header, details map[string]any) time.Duration {
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
			return seconds(n)
		}
		if t, err := http.ParseTime(s); err == nil {
			return max(time.Until(t), 0)
		}
	}
	if n, err := strconv.ParseFloat(h.Get("X-RateLimit-Reset"), 64); err == nil && n > 0 {
		return seconds(n)
	}
	if n, ok := details["retry_after"].(float64); ok && n > 0 {
		return seconds(n)
	}
	return time.Second
}

func seconds(n float64) time.Duration {
	return time.Duration(math.Min(n, 24*3600) * float64(time.Second))
}
