// Package provider defines the small interface every source of Kubernetes
// clusters implements (local processes on this host, simulated kwok nodes,
// Azure Kubernetes Service) and the explicit registry that selects one.
package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Provider creates and manages Kubernetes clusters of one kind.
type Provider interface {
	// Name is the provider's registry key, e.g. "local".
	Name() string
	// Create makes a cluster from spec and returns when it is ready for
	// workloads. A failed create leaves nothing behind.
	Create(ctx context.Context, spec Spec, progress Progress) (*Cluster, error)
	// Get returns one cluster, or an error wrapping ErrNotFound.
	Get(ctx context.Context, name string) (*Cluster, error)
	// List returns every cluster the provider knows, sorted by name.
	List(ctx context.Context) ([]Cluster, error)
	// Delete removes the cluster and everything it made. Deleting a cluster
	// that does not exist returns an error wrapping ErrNotFound.
	Delete(ctx context.Context, name string, progress Progress) error
	// Scale sets the cluster's agent (node) count.
	Scale(ctx context.Context, name string, count int, progress Progress) (*Cluster, error)
	// Kubeconfig returns admin credentials for the cluster as a kubeconfig.
	Kubeconfig(ctx context.Context, name string) ([]byte, error)
	// Versions lists the Kubernetes versions the provider can create.
	Versions(ctx context.Context) ([]Version, error)
	// VMSizes lists the node sizes the provider accepts.
	VMSizes(ctx context.Context) ([]VMSize, error)
}

// Resumer is implemented by providers whose clusters are made of processes
// that a restart of kubeml or of the host may have stopped. Resume brings a
// recorded cluster back to running, restarting what is missing, and is safe
// to call on a healthy cluster.
type Resumer interface {
	Resume(ctx context.Context, name string, progress Progress) (*Cluster, error)
}

// UserCredentials is implemented by providers that hand out a cluster
// user's credentials distinct from the admin's (AKS's
// listClusterUserCredential): a kubeconfig with only the rights the
// cluster grants its users.
type UserCredentials interface {
	UserKubeconfig(ctx context.Context, name string) ([]byte, error)
}

// Spec describes a cluster to create.
type Spec struct {
	Name              string            `json:"name"`
	KubernetesVersion string            `json:"kubernetesVersion,omitempty"`
	VMSize            string            `json:"vmSize,omitempty"`
	AgentCount        int               `json:"agentCount"`
	Tags              map[string]string `json:"tags,omitempty"`
	// Location is the region for providers that have regions (aks).
	Location  string   `json:"location,omitempty"`
	DNSPrefix string   `json:"dnsPrefix,omitempty"`
	Network   *Network `json:"network,omitempty"`
}

// Network is how a cloud cluster is wired; host providers ignore it.
type Network struct {
	SubnetID         string `json:"subnetId,omitempty"`
	ServiceCIDR      string `json:"serviceCidr,omitempty"`
	DNSServiceIP     string `json:"dnsServiceIP,omitempty"`
	DockerBridgeCIDR string `json:"dockerBridgeCidr,omitempty"`
	// LoadBalancerSKU is "standard" (the default) or "basic" (refused:
	// Azure retired it).
	LoadBalancerSKU    string   `json:"loadBalancerSku,omitempty"`
	PrivateCluster     bool     `json:"privateCluster,omitempty"`
	AuthorizedIPRanges []string `json:"authorizedIpRanges,omitempty"`
}

// Cluster is what a provider reports about one cluster.
type Cluster struct {
	Name              string `json:"name"`
	Provider          string `json:"provider"`
	KubernetesVersion string `json:"kubernetesVersion"`
	VMSize            string `json:"vmSize"`
	AgentCount        int    `json:"agentCount"`
	// State is one of the State constants.
	State State `json:"state"`
	// Server is the API server URL.
	Server    string            `json:"server"`
	Tags      map[string]string `json:"tags,omitempty"`
	CreatedAt time.Time         `json:"createdAt"`
	// KubemlImage is kubeml's own image, preloaded on the nodes when the
	// provider can do that without a registry.
	KubemlImage string `json:"kubemlImage,omitempty"`
	// Detail says why a cluster is not Running, when it is not.
	Detail string `json:"detail,omitempty"`
	// Private is set for clusters whose API server has no public address,
	// and AuthorizedIPRanges when only some addresses may reach it.
	Private            bool     `json:"private,omitempty"`
	AuthorizedIPRanges []string `json:"authorizedIpRanges,omitempty"`
	// Warnings are things the user asked for that the provider ignored.
	Warnings []string `json:"warnings,omitempty"`
}

// State is the coarse condition of a cluster.
type State string

// Cluster states.
const (
	StateCreating State = "Creating"
	StateRunning  State = "Running"
	StateStopped  State = "Stopped"
	StateDegraded State = "Degraded"
)

// Version is one Kubernetes version a provider offers.
type Version struct {
	Version   string   `json:"version"`
	IsDefault bool     `json:"isDefault"`
	IsPreview bool     `json:"isPreview"`
	Upgrades  []string `json:"upgrades,omitempty"`
}

// VMSize is a node size: what one agent node offers.
type VMSize struct {
	Name     string `json:"name"`
	Cores    int    `json:"cores"`
	MemoryMB int64  `json:"memoryMB"`
	GPUs     int    `json:"gpus"`
}

// Progress receives human-readable steps of a long operation. Nil is
// allowed and discards them.
type Progress func(step string)

// Report calls p when it is not nil.
func (p Progress) Report(format string, args ...any) {
	if p != nil {
		p(fmt.Sprintf(format, args...))
	}
}

// Errors that callers branch on.
var (
	ErrNotFound      = errors.New("cluster not found")
	ErrAlreadyExists = errors.New("cluster already exists")
	ErrInvalid       = errors.New("invalid cluster spec")
)

// Registry selects providers by name. It is a plain value made by the
// caller: there is no global registry.
type Registry map[string]Provider

// NewRegistry returns a registry of the given providers, keyed by Name.
func NewRegistry(ps ...Provider) Registry {
	r := make(Registry, len(ps))
	for _, p := range ps {
		r[p.Name()] = p
	}
	return r
}

// Get returns the named provider or an error listing the known ones.
func (r Registry) Get(name string) (Provider, error) {
	if p, ok := r[name]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("unknown provider %q (known: %s)", name, strings.Join(r.Names(), ", "))
}

// Names returns the registered provider names, sorted.
func (r Registry) Names() []string {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SpecValidator is implemented by providers that can check a spec without
// creating anything, so that a request is refused before it is recorded.
type SpecValidator interface {
	ValidateSpec(spec Spec) error
}
