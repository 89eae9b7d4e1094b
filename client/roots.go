package client

import (
	"context"
	"net/http"

	"github.com/filefleet/filefleet"
)

// RootsService manages storage roots (/roots).
type RootsService struct{ c *Client }

// RootSpec is the body of POST /roots. local: Path (absolute). s3: Endpoint (host:port),
// Bucket, Prefix, Region, UseSSL, AccessKey, SecretKey. smb: Host, Port (default 445), Share,
// Path, Username, Password, Domain.
type RootSpec struct {
	Name      string             `json:"name"`
	Kind      filefleet.RootKind `json:"kind"`
	Path      string             `json:"path,omitempty"`
	Endpoint  string             `json:"endpoint,omitempty"`
	Bucket    string             `json:"bucket,omitempty"`
	Prefix    string             `json:"prefix,omitempty"`
	Region    string             `json:"region,omitempty"`
	UseSSL    bool               `json:"use_ssl,omitempty"`
	AccessKey string             `json:"access_key,omitempty"`
	SecretKey string             `json:"secret_key,omitempty"`
	Host      string             `json:"host,omitempty"`
	Port      int                `json:"port,omitempty"`
	Share     string             `json:"share,omitempty"`
	Username  string             `json:"username,omitempty"`
	Password  string             `json:"password,omitempty"`
	Domain    string             `json:"domain,omitempty"`
	// SkipVerify skips the server's reachability check (?verify=false).
	SkipVerify bool `json:"-"`
}

// Create adds a root; the server checks it first unless spec.SkipVerify.
func (s *RootsService) Create(ctx context.Context, spec RootSpec) (*filefleet.Root, error) {
	q := ""
	if spec.SkipVerify {
		q = "?verify=false"
	}
	return call[filefleet.Root](ctx, s.c, http.MethodPost, "/roots"+q, spec)
}

// List returns every root.
func (s *RootsService) List(ctx context.Context) ([]filefleet.Root, error) {
	var out struct {
		Roots []filefleet.Root `json:"roots"`
	}
	err := s.c.get(ctx, "/roots", &out)
	return out.Roots, err
}

// Get returns the root called name.
func (s *RootsService) Get(ctx context.Context, name string) (*filefleet.Root, error) {
	return call[filefleet.Root](ctx, s.c, http.MethodGet, "/roots/"+pathEscape(name), nil)
}

// Delete removes the root from filefleet (its files stay on storage). It is a conflict
// while a job works on the root, or while a plan could still undo its changes there.
func (s *RootsService) Delete(ctx context.Context, name string) error {
	return s.c.del(ctx, "/roots/"+pathEscape(name), nil)
}

// ForceDelete is Delete even though a plan could still undo its changes in the root: the
// plan's journal of that root goes (the files stay where they are now).
func (s *RootsService) ForceDelete(ctx context.Context, name string) error {
	return s.c.del(ctx, "/roots/"+pathEscape(name)+"?force=true", nil)
}
