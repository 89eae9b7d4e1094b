// Package secret seals storage credentials with AES-256-GCM under the server's secret key.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"

	"github.com/filefleet/filefleet"
)

// MinKeyLength is the shortest secret key accepted.
const MinKeyLength = 16

// Box seals and opens small secrets.
type Box struct {
	aead cipher.AEAD
	key  string
}

// NewBox derives an AES-256 key from key (any string of at least MinKeyLength bytes, e.g. the
// output of `openssl rand -hex 32`) with HKDF-SHA256.
func NewBox(key string) (*Box, error) {
	if len(key) < MinKeyLength {
		return nil, filefleet.Errorf(filefleet.EINVALID,
			"FILEFLEET_SECRET_KEY must be at least %d characters (generate one with `openssl rand -hex 32`)", MinKeyLength)
	}
	derived, err := hkdf.Key(sha256.New, []byte(key), nil, "filefleet storage credentials v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(derived)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead, key: key}, nil
}

// DeriveKey returns a 32-byte key for purpose (e.g. signing access tokens), derived from the
// secret key with HKDF-SHA256: each purpose gets its own, none reveals the others.
func (b *Box) DeriveKey(purpose string) []byte {
	k, _ := hkdf.Key(sha256.New, []byte(b.key), nil, "filefleet "+purpose+" v1", 32)
	return k
}

// Seal encrypts plaintext; the result holds a random nonce followed by the ciphertext.
func (b *Box) Seal(plaintext []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, nil)
}

// Open decrypts what Seal returned; EINVALID when it was sealed under another key or altered.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, filefleet.Errorf(filefleet.EINVALID, "sealed secret is too short")
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, filefleet.Errorf(filefleet.EINVALID,
			"cannot decrypt stored credentials: FILEFLEET_SECRET_KEY differs from the key they were stored with")
	}
	return plain, nil
}
