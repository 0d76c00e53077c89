package routing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// HashKey is how keys are kept: hex SHA-256.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

type tokenClaims struct {
	Service string `json:"svc"` // namespace/name
	Expiry  int64  `json:"exp"` // unix seconds
}

// SignToken makes a token for a service that expires at exp:
// base64url(claims) "." base64url(HMAC-SHA256(key, claims)).
func SignToken(key []byte, namespace, service string, exp time.Time) string {
	claims, _ := json.Marshal(tokenClaims{Service: namespace + "/" + service, Expiry: exp.Unix()})
	p := base64.RawURLEncoding.EncodeToString(claims)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(p))
	return p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Token errors.
var (
	ErrTokenInvalid = errors.New("invalid token")
	ErrTokenExpired = errors.New("token expired")
)

// VerifyToken checks a token's signature, service and expiry.
func VerifyToken(key []byte, namespace, service, token string, now time.Time) error {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return ErrTokenInvalid
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(p))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return ErrTokenInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	var c tokenClaims
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Service != namespace+"/"+service {
		return ErrTokenInvalid
	}
	if now.Unix() >= c.Expiry {
		return fmt.Errorf("%w at %s", ErrTokenExpired, time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	}
	return nil
}
