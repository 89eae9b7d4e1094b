package auth

import (
	"github.com/alexedwards/argon2id"

	"github.com/filefleet/filefleet"
)

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 12

// passwordParams are argon2id's costs: RFC 9106's second recommended option (64 MiB, 3 passes).
var passwordParams = &argon2id.Params{Memory: 64 * 1024, Iterations: 3, Parallelism: 2, SaltLength: 16, KeyLength: 32}

// HashPassword returns the argon2id hash of password (PHC string format); EINVALID if it is too short.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", filefleet.Errorf(filefleet.EINVALID, "password must be at least %d characters", MinPasswordLength)
	}
	return argon2id.CreateHash(password, passwordParams)
}

// CheckPassword reports whether password matches hash, in constant time.
func CheckPassword(password, hash string) bool {
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	return err == nil && ok
}

// dummyHash is compared against when a user does not exist, so that a login takes as long
// for an unknown user as for a wrong password.
var dummyHash, _ = argon2id.CreateHash("filefleet-no-such-user", passwordParams)

// CheckNoUser spends the time of one password check.
func CheckNoUser(password string) { CheckPassword(password, dummyHash) }
