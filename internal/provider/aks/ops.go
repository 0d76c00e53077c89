package aks

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"

	"github.com/kubeml/kubeml/internal/provider"
)

// createdTag marks clusters kubeml created (the compute layer tags every
// cluster it creates with its resource id); only those are deleted.
const createdTag = "kubeml.io/resource-id"

// cluster maps an AKS cluster to what kubeml reports.
func (p *Provider) cluster(mc *armcontainerservice.ManagedCluster) *provider.Cluster {
	c := &provider.Cluster{Name: str(mc.Name), Provider: p.Name(), State: provider.StateRunning, Tags: map[string]string{}}
	for k, v := range mc.Tags {
		c.Tags[k] = str(v)
	}
	if mc.SystemData != nil && mc.SystemData.CreatedAt != nil {
		c.CreatedAt = *mc.SystemData.CreatedAt
	}
	pr := mc.Properties
	if pr == nil {
		c.State, c.Detail = provider.StateDegraded, "Azure returned no cluster properties"
		return c
	}
	c.KubernetesVersion = str(pr.CurrentKubernetesVersion)
	if c.KubernetesVersion == "" {
		c.KubernetesVersion = str(pr.KubernetesVersion)
	}
	for _, ap := range pr.AgentPoolProfiles {
		if ap.Mode != nil && *ap.Mode == armcontainerservice.AgentPoolModeSystem || c.VMSize == "" {
			c.VMSize = str(ap.VMSize)
			c.AgentCount = int(i32(ap.Count))
		}
	}
	if a := pr.APIServerAccessProfile; a != nil {
		c.Private = a.EnablePrivateCluster != nil && *a.EnablePrivateCluster
		for _, r := range a.AuthorizedIPRanges {
			c.AuthorizedIPRanges = append(c.AuthorizedIPRanges, str(r))
		}
	}
	host := str(pr.Fqdn)
	if host == "" {
		host = str(pr.PrivateFQDN)
	}
	if host != "" {
		c.Server = "https://" + host + ":443"
	}
	state := str(pr.ProvisioningState)
	switch {
	case state == "Creating":
		c.State = provider.StateCreating
	case state == "Failed" || state == "Canceled":
		c.State, c.Detail = provider.StateDegraded, "provisioning state "+state
	case pr.PowerState != nil && pr.PowerState.Code != nil && *pr.PowerState.Code == armcontainerservice.CodeStopped:
		c.State, c.Detail = provider.StateStopped, "the cluster is stopped (az aks start starts it)"
	}
	return c
}

// Get returns a cluster of the provider's resource group.
func (p *Provider) Get(ctx context.Context, name string) (*provider.Cluster, error) {
	res, err := p.clusters.Get(ctx, p.cfg.ResourceGroup, name, nil)
	if err != nil {
		return nil, azureError(fmt.Sprintf("get AKS cluster %q", name), err)
	}
	return p.cluster(&res.ManagedCluster), nil
}

// List returns the clusters kubeml created in the resource group.
func (p *Provider) List(ctx context.Context) ([]provider.Cluster, error) {
	var out []provider.Cluster
	pager := p.clusters.NewListByResourceGroupPager(p.cfg.ResourceGroup, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azureError("list AKS clusters", err)
		}
		for _, mc := range page.Value {
			if mc.Tags[createdTag] != nil {
				out = append(out, *p.cluster(mc))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete deletes a cluster kubeml created; others are refused.
func (p *Provider) Delete(ctx context.Context, name string, progress provider.Progress) error {
	j := p.journaled()
	if tok, ok := j.Load(journalDelete); ok {
		poller, err := p.clusters.BeginDelete(ctx, p.cfg.ResourceGroup, name, &armcontainerservice.ManagedClustersClientBeginDeleteOptions{ResumeToken: tok})
		if err == nil {
			_, err = poll(ctx, p, poller, progress, "deleting "+name)
			return deleteErr(name, err)
		}
	}
	res, err := p.clusters.Get(ctx, p.cfg.ResourceGroup, name, nil)
	if err != nil {
		return azureError(fmt.Sprintf("delete AKS cluster %q", name), err)
	}
	if res.Tags[createdTag] == nil {
		return fmt.Errorf("%w: AKS cluster %s was not created by kubeml (no %s tag): kubeml deletes only clusters it created", provider.ErrInvalid, name, createdTag)
	}
	poller, err := p.clusters.BeginDelete(ctx, p.cfg.ResourceGroup, name, nil)
	if err != nil {
		return deleteErr(name, err)
	}
	if err := journal(p.journaled(), journalDelete, poller); err != nil {
		return err
	}
	_, err = poll(ctx, p, poller, progress, "deleting "+name)
	return deleteErr(name, err)
}

func deleteErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return azureError(fmt.Sprintf("delete AKS cluster %q", name), err)
}

// Scale sets the system pool's node count; nothing else changes.
func (p *Provider) Scale(ctx context.Context, name string, count int, progress provider.Progress) (*provider.Cluster, error) {
	if count < 1 || count > 1000 {
		return nil, fmt.Errorf("%w: agent count %d must be between 1 and 1000", provider.ErrInvalid, count)
	}
	j := p.journaled()
	var opts *armcontainerservice.AgentPoolsClientBeginCreateOrUpdateOptions
	var pool armcontainerservice.AgentPool
	if tok, ok := j.Load(journalScale); ok {
		opts = &armcontainerservice.AgentPoolsClientBeginCreateOrUpdateOptions{ResumeToken: tok}
	} else {
		cur, err := p.systemPool(ctx, name)
		if err != nil {
			return nil, err
		}
		pool = *cur
		pool.Properties.Count = to.Ptr(int32(count))
		progress.Report("scaling AKS cluster %s pool %s to %d nodes", name, str(pool.Name), count)
	}
	poller, err := p.pools.BeginCreateOrUpdate(ctx, p.cfg.ResourceGroup, name, poolNameOf(pool), pool, opts)
	if err != nil {
		return nil, azureError(fmt.Sprintf("scale AKS cluster %q", name), err)
	}
	if opts == nil {
		if err := journal(p.journaled(), journalScale, poller); err != nil {
			return nil, err
		}
	}
	if _, err := poll(ctx, p, poller, progress, "scaling "+name); err != nil {
		return nil, azureError(fmt.Sprintf("scale AKS cluster %q", name), err)
	}
	return p.Get(ctx, name)
}

func poolNameOf(pool armcontainerservice.AgentPool) string {
	if pool.Name != nil {
		return *pool.Name
	}
	return poolName
}

// systemPool returns the cluster's system pool (the one kubeml made).
func (p *Provider) systemPool(ctx context.Context, name string) (*armcontainerservice.AgentPool, error) {
	pager := p.pools.NewListPager(p.cfg.ResourceGroup, name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azureError(fmt.Sprintf("list node pools of AKS cluster %q", name), err)
		}
		for _, ap := range page.Value {
			if ap.Properties != nil && ap.Properties.Mode != nil && *ap.Properties.Mode == armcontainerservice.AgentPoolModeSystem {
				return &armcontainerservice.AgentPool{Name: ap.Name, Properties: ap.Properties}, nil
			}
		}
	}
	return nil, fmt.Errorf("AKS cluster %s has no system node pool", name)
}

// Kubeconfig returns the cluster user's kubeconfig.
func (p *Provider) Kubeconfig(ctx context.Context, name string) ([]byte, error) {
	return p.credentials(ctx, p.cfg.ResourceGroup, name, false)
}

// UserKubeconfig implements provider.UserCredentials: Azure's own cluster
// user credentials.
func (p *Provider) UserKubeconfig(ctx context.Context, name string) ([]byte, error) {
	return p.credentials(ctx, p.cfg.ResourceGroup, name, false)
}

func (p *Provider) credentials(ctx context.Context, rg, name string, admin bool) ([]byte, error) {
	var kcs []*armcontainerservice.CredentialResult
	if admin {
		res, err := p.clusters.ListClusterAdminCredentials(ctx, rg, name, nil)
		if err != nil {
			return nil, azureError(fmt.Sprintf("get admin credentials of AKS cluster %q", name), err)
		}
		kcs = res.Kubeconfigs
	} else {
		res, err := p.clusters.ListClusterUserCredentials(ctx, rg, name, nil)
		if err != nil {
			return nil, azureError(fmt.Sprintf("get credentials of AKS cluster %q", name), err)
		}
		kcs = res.Kubeconfigs
	}
	if len(kcs) == 0 || len(kcs[0].Value) == 0 {
		return nil, fmt.Errorf("Azure returned no kubeconfig for AKS cluster %s", name)
	}
	return kcs[0].Value, nil
}

// Versions lists the region's Kubernetes versions, one per patch.
func (p *Provider) Versions(ctx context.Context) ([]provider.Version, error) {
	res, err := p.clusters.ListKubernetesVersions(ctx, p.cfg.Region, nil)
	if err != nil {
		return nil, azureError("list Kubernetes versions in "+p.cfg.Region, err)
	}
	var out []provider.Version
	for _, kv := range res.Values {
		patches := make([]string, 0, len(kv.PatchVersions))
		for v := range kv.PatchVersions {
			patches = append(patches, v)
		}
		sort.Slice(patches, func(i, j int) bool { return versionLess(patches[i], patches[j]) })
		for i, v := range patches {
			pv := provider.Version{Version: v, IsPreview: kv.IsPreview != nil && *kv.IsPreview,
				IsDefault: kv.IsDefault != nil && *kv.IsDefault && i == len(patches)-1}
			for _, u := range kv.PatchVersions[v].Upgrades {
				pv.Upgrades = append(pv.Upgrades, str(u))
			}
			out = append(out, pv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return versionLess(out[i].Version, out[j].Version) })
	return out, nil
}

// VMSizes lists the sizes of kubeml's Azure catalog.
func (p *Provider) VMSizes(context.Context) ([]provider.VMSize, error) {
	var out []provider.VMSize
	for _, s := range p.sizes.All() {
		out = append(out, provider.VMSize{Name: s.Name, Cores: s.Cores, MemoryMB: s.MemoryMB, GPUs: s.GPUs})
	}
	return out, nil
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		var x, y int
		fmt.Sscan(pa[i], &x)
		fmt.Sscan(pb[i], &y)
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}
