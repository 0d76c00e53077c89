package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/kubeml/kubeml/api"
)

func clusterPath(id api.ResourceID) (string, error) {
	if err := checkID(id, api.NamespaceAKS, "managedClusters", ""); err != nil {
		return "", err
	}
	return idPath(id), nil
}

// BeginCreateOrUpdateManagedCluster creates a managed cluster, or scales
// it via Properties.AgentPoolProfiles[0].Count.
func (c *Client) BeginCreateOrUpdateManagedCluster(ctx context.Context, id api.ResourceID, mc api.ManagedCluster) (*Poller[api.ManagedCluster], error) {
	p, err := clusterPath(id)
	if err != nil {
		return nil, err
	}
	var out api.ManagedCluster
	resp, err := c.Do(ctx, http.MethodPut, p, nil, mc, &out)
	if err != nil {
		return nil, err
	}
	return newPoller(c, resp, p, &out), nil
}

// GetManagedCluster reads a managed cluster.
func (c *Client) GetManagedCluster(ctx context.Context, id api.ResourceID) (*api.ManagedCluster, error) {
	p, err := clusterPath(id)
	if err != nil {
		return nil, err
	}
	var out api.ManagedCluster
	if _, err := c.Do(ctx, http.MethodGet, p, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListManagedClusters lists the managed clusters of a resource group, or
// of the whole subscription when rg is "".
func (c *Client) ListManagedClusters(ctx context.Context, sub, rg string) ([]api.ManagedCluster, error) {
	p := segs("subscriptions", sub, "providers", api.NamespaceAKS, "managedClusters")
	if rg != "" {
		p = groupPath(sub, rg, api.NamespaceAKS) + segs("managedClusters")
	}
	return listAll[api.ManagedCluster](ctx, c, p, nil)
}

// BeginDeleteManagedCluster deletes a managed cluster.
func (c *Client) BeginDeleteManagedCluster(ctx context.Context, id api.ResourceID) (*Poller[struct{}], error) {
	p, err := clusterPath(id)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, http.MethodDelete, p, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	return newPoller[struct{}](c, resp, "", nil), nil
}

// ListClusterCredentials returns the user (or, with admin, the admin)
// kubeconfigs of a managed cluster.
func (c *Client) ListClusterCredentials(ctx context.Context, id api.ResourceID, admin bool) (*api.CredentialResults, error) {
	p, err := clusterPath(id)
	if err != nil {
		return nil, err
	}
	action := "/listClusterUserCredential"
	if admin {
		action = "/listClusterAdminCredential"
	}
	var out api.CredentialResults
	if _, err := c.Do(ctx, http.MethodPost, p+action, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func locationPath(sub, location, what string) string {
	return segs("subscriptions", sub, "providers", api.NamespaceAKS, "locations", location, what)
}

// KubernetesVersions lists the Kubernetes versions a location offers.
func (c *Client) KubernetesVersions(ctx context.Context, sub, location string) (*api.KubernetesVersionList, error) {
	var out api.KubernetesVersionList
	if _, err := c.Do(ctx, http.MethodGet, locationPath(sub, location, "kubernetesVersions"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Orchestrators lists the versions in the older orchestrators shape that
// `az aks get-versions` shows.
func (c *Client) Orchestrators(ctx context.Context, sub, location string) (*api.OrchestratorVersionProfileList, error) {
	var out api.OrchestratorVersionProfileList
	q := url.Values{"resource-type": {"managedClusters"}}
	if _, err := c.Do(ctx, http.MethodGet, locationPath(sub, location, "orchestrators"), q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BeginStartManagedCluster starts whatever of a cluster is not running
// (AKS's managedClusters/start); kubeml's local clusters use it after a
// reboot.
func (c *Client) BeginStartManagedCluster(ctx context.Context, id api.ResourceID) (*Poller[struct{}], error) {
	p, err := clusterPath(id)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, http.MethodPost, p+"/start", nil, nil, nil)
	if err != nil {
		return nil, err
	}
	return newPoller[struct{}](c, resp, "", nil), nil
}
