package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/filefleet/filefleet"
)

// statusOf maps error codes to HTTP statuses and envelope codes, in one table.
var statusOf = map[string]struct {
	status int
	code   string
}{
	filefleet.EINVALID:       {http.StatusBadRequest, "INVALID_REQUEST"},
	filefleet.EUNAUTHORIZED:  {http.StatusUnauthorized, "UNAUTHORIZED"},
	filefleet.EFORBIDDEN:     {http.StatusForbidden, "FORBIDDEN"},
	filefleet.ERATELIMITED:   {http.StatusTooManyRequests, "RATE_LIMITED"},
	filefleet.ENOTFOUND:      {http.StatusNotFound, "NOT_FOUND"},
	filefleet.ECONFLICT:      {http.StatusConflict, "CONFLICT"},
	filefleet.EUNPROCESSABLE: {http.StatusUnprocessableEntity, "UNPROCESSABLE"},
	filefleet.EUNAVAILABLE:   {http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE"},
	filefleet.EINTERNAL:      {http.StatusInternalServerError, "INTERNAL_ERROR"},
	// A storage server named in the request refused the credentials or could not be reached:
	// the client must fix the request, so these are 422, not 401/403/503.
	codeStorageAuth:        {http.StatusUnprocessableEntity, "STORAGE_AUTH_FAILED"},
	codeStorageUnreachable: {http.StatusUnprocessableEntity, "STORAGE_UNREACHABLE"},
	codeTooLarge:           {http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE"},
}

// Codes of storage failures while checking a root or connection the client described, and
// of a request body over its limit.
const (
	codeStorageAuth        = "storage_auth"
	codeStorageUnreachable = "storage_unreachable"
	codeTooLarge           = "too_large"
)

// clientStorageError turns the failure of a storage location described by the request into an
// error the client can act on; other errors pass through.
func clientStorageError(err error, hint string) error {
	var code string
	switch filefleet.ErrorCode(err) {
	case filefleet.EFORBIDDEN, filefleet.EUNAUTHORIZED:
		code = codeStorageAuth
	case filefleet.EUNAVAILABLE:
		code = codeStorageUnreachable
	case filefleet.ENOTFOUND:
		code = filefleet.EUNPROCESSABLE
	default:
		return err
	}
	return filefleet.Errorf(code, "%s%s", filefleet.ErrorMessage(err), hint)
}

// ErrorBody is the error part of the envelope.
type ErrorBody struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// Envelope is every JSON response: data and meta on success, error on failure.
type Envelope struct {
	Success bool           `json:"success"`
	Data    any            `json:"data,omitempty"`
	Meta    map[string]any `json:"meta,omitempty"`
	Error   *ErrorBody     `json:"error,omitempty"`
}

// ok writes a success envelope.
func ok(c *gin.Context, status int, data any, meta map[string]any) {
	c.JSON(status, Envelope{Success: true, Data: data, Meta: meta})
}

// fail writes err as an error envelope; internal errors are logged, not shown.
func (a *API) fail(c *gin.Context, err error) {
	code := filefleet.ErrorCode(err)
	m, found := statusOf[code]
	if !found {
		m = statusOf[filefleet.EINTERNAL]
	}
	body := &ErrorBody{Code: m.code, Message: filefleet.ErrorMessage(err)}
	var fe *filefleet.Error
	if errors.As(err, &fe) {
		body.Details = fe.Details
	}
	if m.status >= 500 {
		a.log.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "route", c.FullPath(), "code", code, "err", err)
	}
	if m.status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	c.AbortWithStatusJSON(m.status, Envelope{Success: false, Error: body})
}

// maxBody is the largest JSON request body accepted.
const maxBody = 8 << 20

// bindJSON decodes the request body into v strictly: malformed JSON, unknown fields, a key
// given twice in one object or a second value are EINVALID; a body over maxBody is a 413.
func bindJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return filefleet.Errorf(codeTooLarge, "the request body is over %d MiB; send less at once (several requests)", maxBody>>20)
	} else if err != nil {
		return filefleet.Errorf(filefleet.EINVALID, "could not read the request body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return filefleet.Errorf(filefleet.EINVALID, "request body is empty; send a JSON object")
		}
		return filefleet.Errorf(filefleet.EINVALID, "malformed JSON body: %v", err)
	}
	if dec.More() {
		return filefleet.Errorf(filefleet.EINVALID, "request body holds more than one JSON value")
	}
	return noDuplicateKeys(json.NewDecoder(bytes.NewReader(body)))
}

// noDuplicateKeys reads the next JSON value of dec, valid JSON, and returns EINVALID when an
// object in it has a key twice (encoding/json would keep the last). Keys that differ only in
// case count as the same: encoding/json fills a struct field from either.
func noDuplicateKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return err
			}
			k := strings.ToLower(key.(string))
			if seen[k] {
				return filefleet.Errorf(filefleet.EINVALID, "key %q appears twice in one JSON object; give each field once", key)
			}
			seen[k] = true
			if err := noDuplicateKeys(dec); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for dec.More() {
			if err := noDuplicateKeys(dec); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// Page limits.
const (
	limitDefault = 100
	limitMax     = 1000
)

// page reads limit and offset query parameters.
func page(c *gin.Context) (limit, offset int, err error) {
	limit, offset = limitDefault, 0
	if s := c.Query("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > limitMax {
			return 0, 0, filefleet.Errorf(filefleet.EINVALID, "limit must be a whole number from 1 to %d", limitMax)
		}
	}
	if s := c.Query("offset"); s != "" {
		if offset, err = strconv.Atoi(s); err != nil || offset < 0 {
			return 0, 0, filefleet.Errorf(filefleet.EINVALID, "offset must be a whole number of 0 or more")
		}
	}
	return limit, offset, nil
}

// oneOf checks that v, when set, is one of allowed.
func oneOf(name, v string, allowed []string) error {
	if v == "" {
		return nil
	}
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return filefleet.Errorf(filefleet.EINVALID, "%s must be one of %v, not %q", name, allowed, v)
}

func pageMeta(total int64, limit, offset int) map[string]any {
	return map[string]any{"total": total, "limit": limit, "offset": offset}
}

// idParam parses the id path parameter of a resource numbered from 1 (what names it in the
// error): EINVALID unless it is a positive integer.
func idParam(c *gin.Context, what string) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, filefleet.Errorf(filefleet.EINVALID, "%s id %q is not a positive integer", what, c.Param("id"))
	}
	return id, nil
}
