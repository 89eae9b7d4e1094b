package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Backoff between retries: exponential from backoffBase, at most backoffMax, with jitter.
const (
	backoffBase = 100 * time.Millisecond
	backoffMax  = 5 * time.Second
)

const apiPrefix = "/api/v1"

// request is one API call as send makes it.
type request struct {
	method     string
	path       string // below /api/v1, with its query
	body       []byte // JSON, sent again on a retry
	stream     io.Reader
	header     http.Header
	idempotent bool // may be retried
	timeout    bool // bounded by the client's timeout
}

// do makes a JSON call and decodes the envelope's data into out (nil: ignored; a *dataMeta:
// data and meta). Idempotent calls are retried; see send.
func (c *Client) do(ctx context.Context, method, path string, body, out any, idempotent bool) error {
	r := request{method: method, path: path, idempotent: idempotent, timeout: true}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("filefleet: encode request: %w", err)
		}
		r.body = b
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decode(resp, out)
}

// Shorthands of do.
func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodGet, path, nil, out, true)
}

func (c *Client) post(ctx context.Context, path string, body, out any) error {
	return c.do(ctx, http.MethodPost, path, body, out, false)
}

func (c *Client) del(ctx context.Context, path string, out any) error {
	return c.do(ctx, http.MethodDelete, path, nil, out, true)
}

// dataMeta receives both parts of a success envelope.
type dataMeta struct{ data, meta any }

// decode reads a success envelope into out.
func decode(resp *http.Response, out any) error {
	var env struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
		Meta    json.RawMessage `json:"meta"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("filefleet: decode %d response: %w", resp.StatusCode, err)
	}
	data := out
	if dm, ok := out.(*dataMeta); ok {
		data = dm.data
		if dm.meta != nil && len(env.Meta) > 0 {
			if err := json.Unmarshal(env.Meta, dm.meta); err != nil {
				return fmt.Errorf("filefleet: decode meta: %w", err)
			}
		}
	}
	if data != nil && len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, data); err != nil {
			return fmt.Errorf("filefleet: decode data: %w", err)
		}
	}
	return nil
}

// send makes r and returns a 2xx response (the caller closes its body) or the error: an
// *APIError for other statuses. An idempotent request is retried up to the client's retries
// on network errors, 502, 503 and 504 (exponential backoff with jitter) and 429 (after its
// RetryAfter), never past ctx: a wait that would outlast ctx's deadline returns the last error.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := c.attempt(ctx, r)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		wait, retry := retryable(err, attempt)
		if !retry || !r.idempotent || attempt >= c.retries {
			return nil, err
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < wait {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// attempt makes r once.
func (c *Client) attempt(ctx context.Context, r request) (*http.Response, error) {
	cancel := context.CancelFunc(func() {})
	if r.timeout && c.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	body := r.stream
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.base+apiPrefix+r.path, body)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("filefleet: %w", err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	c.mu.RLock()
	token := c.token
	c.mu.RUnlock()
	switch {
	case c.apiKey != "":
		req.Header.Set("X-API-Key", c.apiKey)
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, &netError{fmt.Errorf("filefleet: %s %s: %w", r.method, r.path, err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		resp.Body = &cancelBody{resp.Body, cancel}
		return resp, nil
	}
	defer cancel()
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, errorFrom(resp, b)
}

// netError marks a failure to get a response: retryable.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// cancelBody ends a request's timeout context when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// retryable says whether err may be retried, and after how long.
func retryable(err error, attempt int) (time.Duration, bool) {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return max(rl.RetryAfter, backoffBase), true
	}
	var ne *netError
	if errors.As(err, &ne) {
		return backoff(attempt), true
	}
	if ae := AsAPIError(err); ae != nil {
		switch ae.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return backoff(attempt), true
		}
	}
	return 0, false
}

// backoff is the wait before retry attempt+1: base·2^attempt capped at backoffMax, of which
// a random half is taken off (jitter).
func backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt < 16 {
		d = min(backoffBase<<attempt, backoffMax)
	}
	return d/2 + rand.N(d/2+1)
}

// query builds "?k=v&..." of the non-empty values, or "".
func query(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// itoa formats n, "" for 0 (so query leaves it out).
func itoa[T ~int | ~int64](n T) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(int64(n), 10)
}

// pathEscape escapes one path segment.
func pathEscape(s string) string { return url.PathEscape(s) }

// call makes a JSON call and returns its data as a T (nil on error). Everything but POST is
// idempotent.
func call[T any](ctx context.Context, c *Client, method, path string, body any) (*T, error) {
	var v T
	if err := c.do(ctx, method, path, body, &v, method != http.MethodPost); err != nil {
		return nil, err
	}
	return &v, nil
}
