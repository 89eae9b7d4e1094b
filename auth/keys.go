package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// KeyPrefix starts every API key: fo_<id>_<secret>.
const KeyPrefix = "fo_"

// NewKey returns a new API key: its public id, its secret and the whole key to hand out once.
func NewKey() (id, secret, key string) {
	id, secret = randomToken(9), randomToken(32)
	return id, secret, KeyPrefix + id + "_" + secret
}

// ParseKey splits an API key into id and secret; ok is false when it has not the shape of one.
func ParseKey(key string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, KeyPrefix)
	if !found {
		return "", "", false
	}
	id, secret, found = strings.Cut(rest, "_")
	return id, secret, found && id != "" && len(secret) >= 16
}

// HashSecret returns what is stored of a high-entropy secret (API key or refresh token): its
// SHA-256. A slow KDF is not needed for 256 random bits.
func HashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// SecretMatches compares a presented secret with a stored hash in constant time.
func SecretMatches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(HashSecret(secret), hash) == 1
}

// randomToken returns n random bytes, URL-safe base64 without padding and without "_" (which
// separates the parts of a key).
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ReplaceAll(base64.RawURLEncoding.EncodeToString(b), "_", "-")
}
