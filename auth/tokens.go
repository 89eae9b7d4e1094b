package auth

import (
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/filefleet/filefleet"
)

// Token lifetimes.
const (
	AccessTTLDefault  = 15 * time.Minute
	RefreshTTLDefault = 7 * 24 * time.Hour
)

// Issuer signs and checks access tokens (JWT, HS256).
type Issuer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewIssuer returns an Issuer signing with key (32 bytes or more) for tokens valid ttl
// (AccessTTLDefault when 0).
func NewIssuer(key []byte, ttl time.Duration) *Issuer {
	if ttl == 0 {
		ttl = AccessTTLDefault
	}
	return &Issuer{key: key, ttl: ttl, now: time.Now}
}

// claims are an access token's: the user and the session (refresh token id) it belongs to.
type claims struct {
	Session string `json:"sid"`
	jwt.RegisteredClaims
}

// Issue returns an access token for user userID in session sid, and when it expires.
func (i *Issuer) Issue(userID int64, sid string) (string, time.Time, error) {
	now := i.now()
	exp := now.Add(i.ttl)
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{Session: sid, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "filefleet", Subject: strconv.FormatInt(userID, 10), IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp)}})
	s, err := t.SignedString(i.key)
	return s, exp, err
}

// Verify checks an access token and returns its user and session; EUNAUTHORIZED if it is
// malformed, forged or expired.
func (i *Issuer) Verify(token string) (userID int64, sid string, err error) {
	var c claims
	_, err = jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return i.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer("filefleet"),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(i.now))
	if err != nil {
		return 0, "", filefleet.Errorf(filefleet.EUNAUTHORIZED, "access token is invalid or expired; log in again or refresh it")
	}
	userID, err = strconv.ParseInt(c.Subject, 10, 64)
	if err != nil {
		return 0, "", filefleet.Errorf(filefleet.EUNAUTHORIZED, "access token has no user")
	}
	return userID, c.Session, nil
}

// NewRefreshToken returns a refresh token rt_<id>_<secret>, its id and secret.
func NewRefreshToken() (id, secret, token string) {
	id, secret = randomToken(12), randomToken(32)
	return id, secret, fmt.Sprintf("rt_%s_%s", id, secret)
}

// ParseRefreshToken splits a refresh token.
func ParseRefreshToken(token string) (id, secret string, ok bool) {
	if len(token) < 3 || token[:3] != "rt_" {
		return "", "", false
	}
	return ParseKey(KeyPrefix + token[3:])
}
