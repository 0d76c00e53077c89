package router

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

// What the workspace server writes into a cluster for each web service
// and the router reads: one Secret per service in the router's namespace
// (kubeml-system), so only the router's own Role can read it.
const (
	// RoutingLabel marks the routing Secrets ("true").
	RoutingLabel = "kubeml.io/routing"
	// ServiceLabel names the web service on every object of a service.
	ServiceLabel = "kubeml.io/service"
	// VersionLabel names the endpoint version on its Deployment, Service
	// and pods.
	VersionLabel = "kubeml.io/version"
	// RoutingKey is the Secret's data key holding the ServiceRouting JSON.
	RoutingKey = "routing.json"
	// ModelPort is the port `kubeml serve-model` listens on in model pods.
	ModelPort = 5001
)

// RoutingSecretName names the routing Secret of a service.
func RoutingSecretName(service string) string { return "kubeml-svc-" + service }

// ServiceRouting is how the router serves one web service. Service names
// are unique in a cluster: the scoring URL carries only the name.
type ServiceRouting struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// AuthEnabled requires one of the keys (Authorization: Bearer <key>);
	// KeyHashes are hex SHA-256 of the primary and secondary keys.
	AuthEnabled bool     `json:"authEnabled"`
	KeyHashes   []string `json:"keyHashes,omitempty"`
	// TokenAuthEnabled requires a token signed with TokenKey (base64).
	TokenAuthEnabled bool   `json:"tokenAuthEnabled"`
	TokenKey         string `json:"tokenKey,omitempty"`
	// ScoringTimeoutMs bounds one scoring request end to end.
	ScoringTimeoutMs int `json:"scoringTimeoutMs"`
	// MaxConcurrentRequestsPerContainer bounds what one model pod gets at
	// once; excess requests queue up to MaxQueueWaitMs, then get 503.
	MaxConcurrentRequestsPerContainer int `json:"maxConcurrentRequestsPerContainer"`
	MaxQueueWaitMs                    int `json:"maxQueueWaitMs"`
	// Versions are the endpoint's versions (at most 6).
	Versions []VersionRouting `json:"versions"`
}

// VersionRouting is one version of a service: a Deployment of model pods
// and the Kubernetes Service whose EndpointSlices list them.
type VersionRouting struct {
	Name string `json:"name"`
	// Deployment and Service name the version's objects in Namespace.
	Deployment string `json:"deployment"`
	Service    string `json:"service"`
	// TrafficPercentile is the version's share (0-100). The default
	// version takes what the others leave.
	TrafficPercentile float64   `json:"trafficPercentile"`
	IsDefault         bool      `json:"isDefault"`
	Port              int       `json:"port"`
	Autoscale         Autoscale `json:"autoscale"`
}

// Autoscale is how the router scales a version's Deployment.
type Autoscale struct {
	Enabled bool `json:"enabled"`
	// MinReplicas..MaxReplicas bound the replicas; TargetUtilization is
	// the percentage of capacity (replicas x max concurrent requests) the
	// in-flight plus queued requests should use.
	MinReplicas       int `json:"minReplicas"`
	MaxReplicas       int `json:"maxReplicas"`
	TargetUtilization int `json:"targetUtilization"`
}

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
