// Package filefleet holds the domain types shared by every filefleet package: jobs, storage
// roots, catalog files, events and coded errors. It imports only the standard library.
package filefleet

import (
	"errors"
	"fmt"
)

// Error codes. The api package maps each to an HTTP status and the envelope's error code.
const (
	EINVALID       = "invalid"       // malformed request or argument (400)
	EUNPROCESSABLE = "unprocessable" // well-formed but cannot be applied (422)
	ENOTFOUND      = "not_found"     // no such resource (404)
	ECONFLICT      = "conflict"      // already exists or state does not allow it (409)
	EUNAUTHORIZED  = "unauthorized"  // missing or bad credentials (401)
	EFORBIDDEN     = "forbidden"     // authenticated but not allowed (403)
	ERATELIMITED   = "rate_limited"  // too many requests; retry after a while (429)
	EUNAVAILABLE   = "unavailable"   // a dependency (Redis, PostgreSQL, storage) is unreachable (503)
	EINTERNAL      = "internal"      // anything else (500)
)

// Error is an error with a code and a message safe to show to users.
type Error struct {
	Code    string
	Message string
	Details map[string]any
	Err     error // wrapped cause, never shown to users
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError returns an *Error with the code and message that keeps err as its cause.
func WrapError(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// WithDetails returns e with details added (e is changed and returned for chaining).
func (e *Error) WithDetails(kv map[string]any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	for k, v := range kv {
		e.Details[k] = v
	}
	return e
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the first *Error in err's chain, or a generic
// message for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
