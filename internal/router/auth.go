package router

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/kubeml/kubeml/internal/routing"
)

// Authentication failures; their text is what the client reads.
var (
	errNoCredentials = errors.New("this service requires authentication: send Authorization: Bearer <key or token>")
	errBadKey        = errors.New("the key or token is not valid for this service")
)

// authenticate checks the bearer credential of an Authorization header
// against the service's keys and tokens, whichever are enabled. A service
// with neither enabled is open.
func (s *service) authenticate(authorization string, now time.Time) error {
	if !s.cfg.AuthEnabled && !s.cfg.TokenAuthEnabled {
		return nil
	}
	cred, ok := bearer(authorization)
	if !ok {
		return errNoCredentials
	}
	if s.cfg.AuthEnabled && s.matchesKey(cred) {
		return nil
	}
	if s.cfg.TokenAuthEnabled && len(s.tokenKey) > 0 {
		err := routing.VerifyToken(s.tokenKey, s.cfg.Namespace, s.cfg.Name, cred, now)
		if err == nil {
			return nil
		}
		if errors.Is(err, routing.ErrTokenExpired) {
			return err
		}
	}
	return errBadKey
}

// matchesKey reports whether key hashes to one of the service's key
// hashes, comparing in constant time.
func (s *service) matchesKey(key string) bool {
	sum := sha256.Sum256([]byte(key))
	var got [2 * sha256.Size]byte
	hex.Encode(got[:], sum[:])
	ok := 0
	for _, h := range s.keyHashes {
		ok |= subtle.ConstantTimeCompare(got[:], h)
	}
	return ok == 1
}

// bearer extracts the credential of an "Authorization: Bearer <cred>"
// header (the scheme is case-insensitive).
func bearer(h string) (string, bool) {
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	cred := strings.TrimSpace(h[len(scheme):])
	return cred, cred != ""
}
