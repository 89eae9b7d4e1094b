// Package client is a Go client of the filefleet REST API (/api/v1).
//
//	c := client.New("http://127.0.0.1:8080", client.WithAPIKey(os.Getenv("FILEFLEET_API_KEY")))
//	job, err := c.Jobs.Submit(ctx, client.SubmitRequest{Type: filefleet.JobTypeScan, Root: "media"})
//	err = c.Jobs.Watch(ctx, job.ID, 0, func(ev filefleet.Event) error { ...; return nil })
//
// Calls are grouped by area, as in the Python and JavaScript clients: c.Roots, c.Jobs,
// c.Files, c.Dedupe, c.Organize, c.Conversions, c.Keys and c.Auth, plus c.Search and
// c.Archive. They return the domain types of package filefleet where the API sends them
// (filefleet.Job, filefleet.File, filefleet.Event, filefleet.Root...).
//
// A failed call returns an *APIError (a *RateLimitError for 429). Idempotent calls (GET,
// PUT, DELETE) are retried on network errors, 502, 503, 504 and 429; POSTs never are.
package client

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Defaults of New.
const (
	DefaultURL     = "http://127.0.0.1:8080"
	DefaultTimeout = 30 * time.Second
	DefaultRetries = 3
)

// Client calls one filefleet API. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[:port], without /api/v1
	http      *http.Client
	apiKey    string
	timeout   time.Duration
	retries   int
	userAgent string
	// streamIdle is how long an event stream may stay silent before it is taken for stalled.
	streamIdle time.Duration

	mu    sync.RWMutex
	token string // access token, sent as Bearer when there is no API key

	Roots       *RootsService
	Jobs        *JobsService
	Files       *FilesService
	Dedupe      *DedupeService
	Organize    *OrganizeService
	Conversions *ConversionsService
	Keys        *KeysService
	Auth        *AuthService
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sends key (fo_<id>_<secret>) as X-API-Key.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithToken sends an access token (from Auth.Login) as Authorization: Bearer.
func WithToken(accessToken string) Option { return func(c *Client) { c.token = accessToken } }

// WithHTTPClient uses hc for every request (its Timeout, if any, applies on top of WithTimeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithTimeout bounds each HTTP request of a JSON call (default 30 s; 0 for none). Streams
// (Download, Upload, Watch) are bounded by their context only.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithRetries sets how many times an idempotent call is retried (default 3; 0 for never).
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(n, 0) } }

// WithStreamIdle sets how long Watch and WatchAll wait on a silent stream before they
// reconnect; defaults to StreamIdleDefault.
func WithStreamIdle(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.streamIdle = d
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the API at baseURL (e.g. http://127.0.0.1:8080; a trailing
// /api/v1 is accepted too).
func New(baseURL string, opts ...Option) *Client {
	base := strings.TrimRight(baseURL, "/")
	base = strings.TrimSuffix(base, "/api/v1")
	c := &Client{base: base, http: http.DefaultClient, timeout: DefaultTimeout, retries: DefaultRetries,
		userAgent: "filefleet-go-client", streamIdle: StreamIdleDefault}
	for _, o := range opts {
		o(c)
	}
	c.Roots = &RootsService{c}
	c.Jobs = &JobsService{c}
	c.Files = &FilesService{c}
	c.Dedupe = &DedupeService{c}
	c.Organize = &OrganizeService{c}
	c.Conversions = &ConversionsService{c}
	c.Keys = &KeysService{c}
	c.Auth = &AuthService{c}
	return c
}

// FromEnv returns a client of FILEFLEET_API_URL (default http://127.0.0.1:8080) with the
// API key FILEFLEET_API_KEY, if set, and opts.
func FromEnv(opts ...Option) *Client {
	u := os.Getenv("FILEFLEET_API_URL")
	if u == "" {
		u = DefaultURL
	}
	if k := os.Getenv("FILEFLEET_API_KEY"); k != "" {
		opts = append([]Option{WithAPIKey(k)}, opts...)
	}
	return New(u, opts...)
}

// setToken replaces the access token (after Login or Refresh).
func (c *Client) setToken(t string) {
	c.mu.Lock()
	c.token = t
	c.mu.Unlock()
}

// Page is the paging of a list: items matching over every page, and the page asked for.
type Page struct {
	Total  int64 `json:"total"`
	Limit  int   `json:"limit"`
	Offset int   `json:"offset"`
}
