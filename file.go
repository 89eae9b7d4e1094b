package filefleet

import "time"

// File is a catalog entry: one file of a root as last seen by a scan.
type File struct {
	ID          int64     `json:"id" db:"id"`
	RootID      int64     `json:"storage_root_id" db:"root_id"`
	RootName    string    `json:"storage_root_name" db:"root_name"`
	Path        string    `json:"path" db:"path"`
	Name        string    `json:"name" db:"name"`
	Ext         string    `json:"extension" db:"ext"`
	Size        int64     `json:"size" db:"size"`
	IsDirectory bool      `json:"is_directory" db:"is_directory"`
	MimeType    *string   `json:"mime_type" db:"mime_type"`
	ETag        string    `json:"etag,omitempty" db:"etag"`
	ModifiedAt  time.Time `json:"modified_at" db:"mtime"`
	CreatedAt   time.Time `json:"created_at" db:"created_at"`
	UpdatedAt   time.Time `json:"updated_at" db:"updated_at"`
	Generation  int64     `json:"scan_generation" db:"scan_gen"`
	Deleted     bool      `json:"deleted" db:"deleted"`
	// Content hashes in hex, when a hash job or dedupe scan has computed them for the file
	// as it is now.
	BLAKE3 *string `json:"blake3,omitempty" db:"blake3"`
	SHA256 *string `json:"sha256,omitempty" db:"sha256"`
	MD5    *string `json:"md5,omitempty" db:"md5"`
}
