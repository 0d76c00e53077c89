package api

// ManagedCluster is a Microsoft.ContainerService managed cluster, in the
// subset of the AKS shape that kubeml serves for its own providers.
type ManagedCluster struct {
	ID         string                   `json:"id,omitempty"`
	Name       string                   `json:"name,omitempty"`
	Type       string                   `json:"type,omitempty"`
	Location   string                   `json:"location"`
	Tags       map[string]string        `json:"tags,omitempty"`
	SystemData *SystemData              `json:"systemData,omitempty"`
	Properties ManagedClusterProperties `json:"properties"`
}

// ManagedClusterProperties are a managed cluster's properties.
type ManagedClusterProperties struct {
	ProvisioningState        string             `json:"provisioningState,omitempty"`
	PowerState               *PowerState        `json:"powerState,omitempty"`
	KubernetesVersion        string             `json:"kubernetesVersion,omitempty"`
	CurrentKubernetesVersion string             `json:"currentKubernetesVersion,omitempty"`
	DNSPrefix                string             `json:"dnsPrefix,omitempty"`
	Fqdn                     string             `json:"fqdn,omitempty"`
	AgentPoolProfiles        []AgentPoolProfile `json:"agentPoolProfiles,omitempty"`
	NodeResourceGroup        string             `json:"nodeResourceGroup,omitempty"`
	NetworkProfile           *NetworkProfile    `json:"networkProfile,omitempty"`
	// APIServerAccessProfile makes a private cluster or limits who may
	// reach the API server.
	APIServerAccessProfile *APIServerAccessProfile `json:"apiServerAccessProfile,omitempty"`
	// ProvisioningError says why provisioning failed, when it did.
	ProvisioningError *ErrorDetail `json:"provisioningError,omitempty"`
}

// PowerState is Running or Stopped.
type PowerState struct {
	Code string `json:"code"`
}

// AgentPoolProfile is one node pool.
type AgentPoolProfile struct {
	Name   string `json:"name"`
	Count  *int   `json:"count,omitempty"`
	VMSize string `json:"vmSize,omitempty"`
	OSType string `json:"osType,omitempty"`
	Mode   string `json:"mode,omitempty"`
	// VnetSubnetID puts the nodes in an existing subnet.
	VnetSubnetID string `json:"vnetSubnetID,omitempty"`
}

// NetworkProfile is a cluster's networking, as AKS names it.
type NetworkProfile struct {
	NetworkPlugin    string `json:"networkPlugin,omitempty"`
	ServiceCidr      string `json:"serviceCidr,omitempty"`
	DNSServiceIP     string `json:"dnsServiceIP,omitempty"`
	DockerBridgeCidr string `json:"dockerBridgeCidr,omitempty"`
	LoadBalancerSku  string `json:"loadBalancerSku,omitempty"`
}

// APIServerAccessProfile is who may reach a cluster's API server.
type APIServerAccessProfile struct {
	EnablePrivateCluster bool     `json:"enablePrivateCluster,omitempty"`
	AuthorizedIPRanges   []string `json:"authorizedIPRanges,omitempty"`
}

// ManagedClusterList is a page of managed clusters.
type ManagedClusterList struct {
	Value    []ManagedCluster `json:"value"`
	NextLink string           `json:"nextLink,omitempty"`
}

// CredentialResults is the answer of listClusterUserCredential and
// listClusterAdminCredential; Value is the kubeconfig (base64 in JSON).
type CredentialResults struct {
	Kubeconfigs []CredentialResult `json:"kubeconfigs"`
}

// CredentialResult is one kubeconfig.
type CredentialResult struct {
	Name  string `json:"name"`
	Value []byte `json:"value"`
}
