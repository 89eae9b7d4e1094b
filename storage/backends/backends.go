// Package backends opens the storage.Backend of a filefleet.Root by its kind.
package backends

import (
	"context"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/storage"
	"github.com/filefleet/filefleet/storage/local"
	"github.com/filefleet/filefleet/storage/s3"
	"github.com/filefleet/filefleet/storage/smb"
)

// Open returns the backend of root without contacting it (see Check). It returns EINVALID
// for an unknown kind or bad settings, and ENOTFOUND for a missing local directory.
func Open(root filefleet.Root) (storage.Backend, error) {
	switch root.Kind {
	case filefleet.RootKindLocal:
		b, err := local.New(root.Path)
		if err != nil {
			return nil, err
		}
		return b, nil
	case filefleet.RootKindS3:
		b, err := s3.New(s3.Config{
			Endpoint:  root.Endpoint,
			Bucket:    root.Bucket,
			Prefix:    root.Prefix,
			Region:    root.Region,
			AccessKey: root.AccessKey,
			SecretKey: root.Secret,
			UseSSL:    root.UseSSL,
		})
		if err != nil {
			return nil, err
		}
		return b, nil
	case filefleet.RootKindSMB:
		b, err := smb.New(smb.Config{
			Host:     root.Host,
			Port:     root.Port,
			Share:    root.Share,
			Path:     root.Path,
			Username: root.Username,
			Password: root.Secret,
			Domain:   root.Domain,
		})
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, filefleet.Errorf(filefleet.EINVALID, "unknown root kind %q", root.Kind)
}

// Checker is a backend that can verify it is reachable and usable.
type Checker interface {
	Check(ctx context.Context) error
}

// Check makes sure b's root is reachable: it calls b's Check method when it has one, else
// Stat of the root.
func Check(ctx context.Context, b storage.Backend) error {
	if c, ok := b.(Checker); ok {
		return c.Check(ctx)
	}
	_, err := b.Stat(ctx, "")
	return err
}
