package secret

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
)

func TestSealOpen(t *testing.T) {
	box, err := NewBox("0123456789abcdef-test-key")
	require.NoError(t, err)
	sealed := box.Seal([]byte("s3cret-value"))
	require.False(t, bytes.Contains(sealed, []byte("s3cret-value")), "ciphertext must not contain the plaintext")
	plain, err := box.Open(sealed)
	require.NoError(t, err)
	require.Equal(t, "s3cret-value", string(plain))
	require.NotEqual(t, sealed, box.Seal([]byte("s3cret-value")), "nonces must differ")

	other, err := NewBox("another-key-of-enough-length")
	require.NoError(t, err)
	_, err = other.Open(sealed)
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err))

	sealed[len(sealed)-1] ^= 1
	_, err = box.Open(sealed)
	require.Error(t, err)

	_, err = NewBox("short")
	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(err))
}
