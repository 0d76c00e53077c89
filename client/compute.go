package client

import (
	"errors"

	"github.com/kubeml/kubeml/api"
)

// ProvisioningConfiguration describes an AKS inference cluster for the
// workspace to create, like the Python SDK's
// AksCompute.provisioning_configuration. Zero fields take the server's
// defaults: cluster purpose FastProd, 3 nodes (1 for DevTest), VM size
// Standard_D3_v2, the first configured location, a public IP load
// balancer, TLS disabled.
type ProvisioningConfiguration struct {
	AgentCount     int
	VMSize         string
	ClusterPurpose string // api.PurposeFastProd, PurposeDenseProd or PurposeDevTest
	Location       string
	// LoadBalancerType is api.LoadBalancerPublicIP or
	// api.LoadBalancerInternal; LoadBalancerSubnet goes with the latter.
	LoadBalancerType, LoadBalancerSubnet string
	SSL                                  *api.SSLConfiguration
	Networking                           *api.AKSNetworkingConfig
	Description                          string
}

// Compute is the PUT body creating the cluster.
func (p ProvisioningConfiguration) Compute() api.Compute {
	props := &api.AKSProperties{
		AgentVMSize:                p.VMSize,
		ClusterPurpose:             p.ClusterPurpose,
		LoadBalancerType:           p.LoadBalancerType,
		LoadBalancerSubnet:         p.LoadBalancerSubnet,
		SSLConfiguration:           p.SSL,
		AKSNetworkingConfiguration: p.Networking,
	}
	if p.AgentCount != 0 {
		n := p.AgentCount
		props.AgentCount = &n
	}
	return api.Compute{Properties: api.ComputeProperties{
		ComputeType:     api.ComputeAKS,
		ComputeLocation: p.Location,
		Description:     p.Description,
		Properties:      props,
	}}
}

// AttachConfiguration describes an existing managed cluster to attach,
// like the Python SDK's AksCompute.attach_configuration: either
// ResourceID, or ResourceGroup and ClusterName (in the workspace's
// subscription).
type AttachConfiguration struct {
	ResourceGroup, ClusterName string
	ResourceID                 string
	ClusterPurpose             string // default FastProd
	// LoadBalancerType and LoadBalancerSubnet as in ProvisioningConfiguration.
	LoadBalancerType, LoadBalancerSubnet string
	SSL                                  *api.SSLConfiguration
	Description                          string
	// AdminCredentials attaches an Azure AKS cluster with its admin
	// credentials rather than the user's.
	AdminCredentials bool
}

// Validate reports a configuration that names no cluster, or names one
// twice. Without it a PUT would create a cluster instead of attaching.
func (a AttachConfiguration) Validate() error {
	switch {
	case a.ResourceID != "" && (a.ResourceGroup != "" || a.ClusterName != ""):
		return errors.New("attach: give the cluster's resource id, or its resource group and name, not both")
	case a.ResourceID == "" && (a.ResourceGroup == "" || a.ClusterName == ""):
		return errors.New("attach: give the cluster's resource id, or its resource group and name")
	}
	return nil
}

// Compute is the PUT body attaching the cluster; sub is the workspace's
// subscription, used when ResourceID is not given.
func (a AttachConfiguration) Compute(sub string) api.Compute {
	id := a.ResourceID
	if id == "" {
		id = api.ManagedClusterID(sub, a.ResourceGroup, a.ClusterName).String()
	}
	return api.Compute{Properties: api.ComputeProperties{
		ComputeType: api.ComputeAKS,
		ResourceID:  id,
		Description: a.Description,
		Properties: &api.AKSProperties{
			ClusterPurpose:     a.ClusterPurpose,
			LoadBalancerType:   a.LoadBalancerType,
			LoadBalancerSubnet: a.LoadBalancerSubnet,
			SSLConfiguration:   a.SSL,
			AdminCredentials:   a.AdminCredentials,
		},
	}}
}
