// Package routing is the contract between kubeml's control plane and the
// scoring router it installs in each attached cluster: what the workspace
// server writes for each web service and the router reads. One Secret per
// service in the router's namespace (Namespace) holds the service's
// routing as JSON; model objects carry the service and version labels;
// model pods listen on ModelPort; keys are kept as their hashes and tokens
// are signed with the service's token key. Both sides import this package
// and nothing else of each other.
package routing

// Namespace is the router's namespace, where the routing Secrets live
// (so only the router's own Role can read them).
const Namespace = "kubeml-system"

// RouterAccount is the router's ServiceAccount in Namespace. In each
// namespace model services run in, the Role and RoleBinding named
// RouterModelsRole give it what it needs there: watching EndpointSlices
// and scaling the model Deployments, by name.
const (
	RouterAccount    = "kubeml-router"
	RouterModelsRole = "kubeml-router-models"
)

// Labels, keys and ports both sides agree on.
const (
	// SecretLabel marks the routing Secrets ("true").
	SecretLabel = "kubeml.io/routing"
	// ServiceLabel names the web service on every object of a service.
	ServiceLabel = "kubeml.io/service"
	// VersionLabel names the endpoint version on its Deployment, Service
	// and pods.
	VersionLabel = "kubeml.io/version"
	// SecretKey is the routing Secret's data key holding the Service JSON.
	SecretKey = "routing.json"
	// ModelPort is the port `kubeml serve-model` listens on in model pods.
	ModelPort = 5001
)

// SecretName names the routing Secret of a service.
func SecretName(service string) string { return "kubeml-svc-" + service }

// Service is how the router serves one web service. Service names are
// unique in a cluster: the scoring URL carries only the name.
type Service struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// AuthEnabled requires one of the keys (Authorization: Bearer <key>);
	// KeyHashes are hex SHA-256 of the primary and secondary keys.
	AuthEnabled bool     `json:"authEnabled"`
	KeyHashes   []string `json:"keyHashes,omitempty"`
	// TokenAuthEnabled requires a token signed with TokenKey (base64).
	TokenAuthEnabled bool   `json:"tokenAuthEnabled"`
	TokenKey         string `json:"tokenKey,omitempty"`
	// PodToken is what the router sends model pods in PodTokenHeader: the
	// pods answer only requests that carry it (or the next token), so no
	// other process in the cluster can score around the router's keys.
	PodToken string `json:"podToken,omitempty"`
	// ScoringTimeoutMs bounds one scoring request end to end.
	ScoringTimeoutMs int `json:"scoringTimeoutMs"`
	// MaxConcurrentRequestsPerContainer bounds what one model pod gets at
	// once; excess requests queue up to MaxQueueWaitMs, then get 503.
	MaxConcurrentRequestsPerContainer int `json:"maxConcurrentRequestsPerContainer"`
	MaxQueueWaitMs                    int `json:"maxQueueWaitMs"`
	// Versions are the endpoint's versions (at most 6).
	Versions []Version `json:"versions"`
}

// Version is one version of a service: a Deployment of model pods and the
// Kubernetes Service whose EndpointSlices list them.
type Version struct {
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

// PodTokenHeader carries the service's pod token from the router to its
// model pods.
const PodTokenHeader = "X-Kubeml-Pod-Token"

// MetricsTokenEnv is the router's environment variable holding the token
// its /metrics wants; MetricsSecret (key "token", in Namespace) holds it.
const (
	MetricsTokenEnv = "KUBEML_ROUTER_METRICS_TOKEN"
	MetricsSecret   = "kubeml-router-metrics"
)
