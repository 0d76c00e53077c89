package api

import (
	"strings"
	"time"
)

// Compute types.
const (
	ComputeAKS        = "AKS"
	ComputeKubernetes = "Kubernetes"
)

// Underlying resource actions of a compute delete (the
// underlyingResourceAction query parameter).
const (
	ActionDelete = "Delete" // delete the cluster the workspace created too
	ActionDetach = "Detach" // only remove the attachment; the cluster stays
)

// DeleteAction returns the underlying resource action that s names in
// any case, or false if it names none.
func DeleteAction(s string) (string, bool) {
	for _, a := range []string{ActionDelete, ActionDetach} {
		if strings.EqualFold(s, a) {
			return a, true
		}
	}
	return "", false
}

// Compute is a workspace's compute target (ComputeResource).
type Compute struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	SystemData *SystemData       `json:"systemData,omitempty"`
	Properties ComputeProperties `json:"properties"`
}

// ComputeProperties are the properties every compute type shares.
type ComputeProperties struct {
	ComputeType        string              `json:"computeType"`
	ComputeLocation    string              `json:"computeLocation,omitempty"`
	Description        string              `json:"description,omitempty"`
	ResourceID         string              `json:"resourceId,omitempty"`
	DisableLocalAuth   bool                `json:"disableLocalAuth,omitempty"`
	ProvisioningState  string              `json:"provisioningState,omitempty"`
	ProvisioningErrors []ProvisioningError `json:"provisioningErrors,omitempty"`
	CreatedOn          *time.Time          `json:"createdOn,omitempty"`
	ModifiedOn         *time.Time          `json:"modifiedOn,omitempty"`
	IsAttachedCompute  bool                `json:"isAttachedCompute"`
	Properties         *AKSProperties      `json:"properties,omitempty"`
}

// ProvisioningError is one entry of provisioningErrors.
type ProvisioningError struct {
	Error ErrorDetail `json:"error"`
}

// AKSProperties are the AKS (and Kubernetes) compute's own properties.
type AKSProperties struct {
	ClusterFqdn                string                  `json:"clusterFqdn,omitempty"`
	SystemServices             []SystemService         `json:"systemServices,omitempty"`
	AgentCount                 *int                    `json:"agentCount,omitempty"`
	AgentVMSize                string                  `json:"agentVmSize,omitempty"`
	ClusterPurpose             string                  `json:"clusterPurpose,omitempty"`
	SSLConfiguration           *SSLConfiguration       `json:"sslConfiguration,omitempty"`
	AKSNetworkingConfiguration *AKSNetworkingConfig    `json:"aksNetworkingConfiguration,omitempty"`
	LoadBalancerType           string                  `json:"loadBalancerType,omitempty"`
	LoadBalancerSubnet         string                  `json:"loadBalancerSubnet,omitempty"`
	Namespace                  string                  `json:"namespace,omitempty"`
	DefaultInstanceType        string                  `json:"defaultInstanceType,omitempty"`
	InstanceTypes              map[string]InstanceType `json:"instanceTypes,omitempty"`
	// Kubeconfig attaches a Kubernetes compute: write-only (kept
	// encrypted, never returned). Context picks one of its contexts.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
	// ScopedCredentials (default true) makes kubeml replace the given
	// credentials with a service account of its own that has only the
	// rights kubeml needs.
	ScopedCredentials *bool `json:"scopedCredentials,omitempty"`
	// AdminCredentials makes an AKS attach use the cluster's admin
	// credentials instead of the user's (needs local accounts).
	AdminCredentials bool `json:"adminCredentials,omitempty"`
	// Preflight is the report of the checks run against the cluster when
	// it was attached.
	Preflight *PreflightReport `json:"preflight,omitempty"`
	// Health is the latest state of the server's probes of the cluster.
	Health *Health `json:"health,omitempty"`
}

// PreflightReport is what the attach preflight found.
type PreflightReport struct {
	Checks            []PreflightCheck `json:"checks"`
	KubernetesVersion string           `json:"kubernetesVersion,omitempty"`
	Nodes             int              `json:"nodes"`
	VCPUs             int              `json:"vCPUs"`
	GPUs              int              `json:"gpus"`
	Time              *time.Time       `json:"time,omitempty"`
}

// PreflightCheck is one named check: Status is Pass, Warn or Fail, Reason
// a stable code.
type PreflightCheck struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Health is a condition on an attached cluster, from periodic probes.
type Health struct {
	// Status is Healthy, Unhealthy or Unknown.
	Status              string     `json:"status"`
	Reason              string     `json:"reason"`
	Message             string     `json:"message,omitempty"`
	LastProbe           *time.Time `json:"lastProbe,omitempty"`
	LastSuccess         *time.Time `json:"lastSuccess,omitempty"`
	ConsecutiveFailures int        `json:"consecutiveFailures"`
}

// SystemService is something kubeml runs in the cluster.
type SystemService struct {
	SystemServiceType string `json:"systemServiceType"`
	PublicIPAddress   string `json:"publicIpAddress,omitempty"`
	Version           string `json:"version,omitempty"`
}

// SSL statuses.
const (
	SSLDisabled = "Disabled"
	SSLEnabled  = "Enabled"
	SSLAuto     = "Auto"
)

// SSLConfiguration is the scoring endpoint's TLS setup. Cert and Key are
// secrets: accepted on PUT, never returned.
type SSLConfiguration struct {
	Status                  string `json:"status,omitempty"`
	Cert                    string `json:"cert,omitempty"`
	Key                     string `json:"key,omitempty"`
	Cname                   string `json:"cname,omitempty"`
	LeafDomainLabel         string `json:"leafDomainLabel,omitempty"`
	OverwriteExistingDomain bool   `json:"overwriteExistingDomain,omitempty"`
}

// AKSNetworkingConfig is the cluster's network (create only).
type AKSNetworkingConfig struct {
	SubnetID         string `json:"subnetId,omitempty"`
	ServiceCidr      string `json:"serviceCidr,omitempty"`
	DNSServiceIP     string `json:"dnsServiceIP,omitempty"`
	DockerBridgeCidr string `json:"dockerBridgeCidr,omitempty"`
}

// Load balancer types.
const (
	LoadBalancerPublicIP = "PublicIp"
	LoadBalancerInternal = "InternalLoadBalancer"
)

// InstanceType is a named resource shape of a Kubernetes compute.
type InstanceType struct {
	NodeSelector map[string]string      `json:"nodeSelector,omitempty"`
	Resources    *InstanceTypeResources `json:"resources,omitempty"`
}

// InstanceTypeResources are requests and limits (cpu, memory, nvidia.com/gpu).
type InstanceTypeResources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// ComputeList is a page of computes.
type ComputeList struct {
	Value    []Compute `json:"value"`
	NextLink string    `json:"nextLink,omitempty"`
}

// ComputeSecrets is the listKeys answer of an AKS compute.
type ComputeSecrets struct {
	ComputeType         string `json:"computeType"`
	UserKubeConfig      string `json:"userKubeConfig,omitempty"`
	AdminKubeConfig     string `json:"adminKubeConfig,omitempty"`
	ImagePullSecretName string `json:"imagePullSecretName,omitempty"`
}

// ComputeNode is one node of listNodes.
type ComputeNode struct {
	NodeID           string `json:"nodeId"`
	PrivateIPAddress string `json:"privateIpAddress,omitempty"`
	NodeState        string `json:"nodeState"`
	VMSize           string `json:"vmSize,omitempty"`
	CPU              string `json:"cpu,omitempty"`
	Memory           string `json:"memory,omitempty"`
	GPU              string `json:"gpu,omitempty"`
}

// ComputeNodes is the listNodes answer.
type ComputeNodes struct {
	Nodes    []ComputeNode `json:"nodes"`
	NextLink string        `json:"nextLink,omitempty"`
}
