package filefleet

import "time"

// RootKind is the kind of storage a root points at.
type RootKind string

// Root kinds.
const (
	RootKindLocal RootKind = "local"
	RootKindS3    RootKind = "s3"
	RootKindSMB   RootKind = "smb"
)

// RootKinds lists the kinds this build supports.
var RootKinds = []RootKind{RootKindLocal, RootKindS3, RootKindSMB}

// Valid reports whether k is a supported kind.
func (k RootKind) Valid() bool {
	for _, x := range RootKinds {
		if k == x {
			return true
		}
	}
	return false
}

// Root is a named storage location that jobs work on.
type Root struct {
	ID   int64    `json:"id"`
	Name string   `json:"name"`
	Kind RootKind `json:"kind"`

	// Path is the directory of a local root, or the directory inside an SMB share ("" for
	// the share's top).
	Path string `json:"path,omitempty"`

	// SMB: Host and Port (default 445) of the server, Share name, Username and Domain; the
	// password is Secret.
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"`
	Share    string `json:"share,omitempty"`
	Username string `json:"username,omitempty"`
	Domain   string `json:"domain,omitempty"`

	// S3: Endpoint is host:port, Bucket and Prefix (ending in "/" or empty) choose the objects.
	Endpoint  string `json:"endpoint,omitempty"`
	Bucket    string `json:"bucket,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	Region    string `json:"region,omitempty"`
	UseSSL    bool   `json:"use_ssl,omitempty"`
	AccessKey string `json:"access_key,omitempty"`

	// Secret is the S3 secret key or the SMB password. It is stored encrypted and never
	// serialized.
	Secret string `json:"-"`

	CreatedAt time.Time `json:"created_at"`
}
