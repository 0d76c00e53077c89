package aks

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/internal/provider"
)

// Resume finishes what a stopped kubeml left: a create whose poller
// token was journaled is resumed; a cluster Azure is still provisioning
// is waited for; a stopped cluster is started (managedClusters/start).
func (p *Provider) Resume(ctx context.Context, name string, progress provider.Progress) (*provider.Cluster, error) {
	if tok, ok := p.journaled().Load(journalCreate); ok {
		progress.Report("resuming the create of AKS cluster %s", name)
		poller, err := p.clusters.BeginCreateOrUpdate(ctx, p.cfg.ResourceGroup, name, armcontainerservice.ManagedCluster{},
			&armcontainerservice.ManagedClustersClientBeginCreateOrUpdateOptions{ResumeToken: tok})
		if err != nil {
			return nil, azureError(fmt.Sprintf("resume the create of AKS cluster %q", name), err)
		}
		return p.finishCreate(ctx, name, poller, progress)
	}
	for {
		c, err := p.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		switch c.State {
		case provider.StateRunning, provider.StateDegraded:
			if c.State == provider.StateDegraded {
				return c, fmt.Errorf("AKS cluster %s: %s", name, c.Detail)
			}
			return c, nil
		case provider.StateStopped:
			return p.start(ctx, name, progress)
		}
		progress.Report("waiting for Azure to finish provisioning %s", name)
		if err := p.sleep(ctx, p.cfg.PollInterval); err != nil {
			return nil, err
		}
	}
}

func (p *Provider) start(ctx context.Context, name string, progress provider.Progress) (*provider.Cluster, error) {
	var opts *armcontainerservice.ManagedClustersClientBeginStartOptions
	tok, resumed := p.journaled().Load(journalStart)
	if resumed {
		opts = &armcontainerservice.ManagedClustersClientBeginStartOptions{ResumeToken: tok}
	}
	progress.Report("starting AKS cluster %s", name)
	poller, err := p.clusters.BeginStart(ctx, p.cfg.ResourceGroup, name, opts)
	if err != nil {
		return nil, azureError(fmt.Sprintf("start AKS cluster %q", name), err)
	}
	if !resumed {
		if err := journal(p.journaled(), journalStart, poller); err != nil {
			return nil, err
		}
	}
	if _, err := poll(ctx, p, poller, progress, "starting "+name); err != nil {
		return nil, azureError(fmt.Sprintf("start AKS cluster %q", name), err)
	}
	return p.Get(ctx, name)
}

// Owns reports whether id is an AKS cluster in the provider's
// subscription.
func (p *Provider) Owns(id string) bool {
	r, err := arm.ParseResourceID(id)
	return err == nil && strings.EqualFold(r.SubscriptionID, p.cfg.SubscriptionID) &&
		strings.EqualFold(r.ResourceType.String(), "Microsoft.ContainerService/managedClusters")
}

// Import reads an existing AKS cluster for attach: its state, pools and
// credentials (the user's; the admin's only when asked and the cluster
// has local accounts).
func (p *Provider) Import(ctx context.Context, id string, admin bool) (*provider.Imported, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not an AKS resource id: %v", provider.ErrInvalid, id, err)
	}
	res, err := p.clusters.Get(ctx, r.ResourceGroupName, r.Name, nil)
	if err != nil {
		return nil, azureError(fmt.Sprintf("get AKS cluster %q", id), err)
	}
	mc := res.ManagedCluster
	out := &provider.Imported{Cluster: *p.cluster(&mc)}
	if mc.Properties == nil {
		return nil, fmt.Errorf("Azure returned no properties for AKS cluster %s", r.Name)
	}
	out.ProvisioningState = str(mc.Properties.ProvisioningState)
	for _, ap := range mc.Properties.AgentPoolProfiles {
		out.Pools = append(out.Pools, provider.Pool{Name: str(ap.Name), Count: int(i32(ap.Count)), VMSize: str(ap.VMSize)})
	}
	if out.ProvisioningState != "Succeeded" || out.Cluster.State != provider.StateRunning {
		return out, nil // the caller refuses it, saying why
	}
	localOff := mc.Properties.DisableLocalAccounts != nil && *mc.Properties.DisableLocalAccounts
	if admin && localOff {
		return nil, fmt.Errorf("%w: AKS cluster %s has local accounts disabled, so it has no admin credentials: attach without admin", provider.ErrInvalid, r.Name)
	}
	kc, err := p.credentials(ctx, r.ResourceGroupName, r.Name, admin)
	if err != nil {
		return nil, err
	}
	if err := usableByServer(kc); err != nil {
		return nil, fmt.Errorf("%w: AKS cluster %s: %v", provider.ErrInvalid, r.Name, err)
	}
	out.Kubeconfig = kc
	return out, nil
}

// usableByServer refuses kubeconfigs that need a plugin on a user's
// machine: Azure AD clusters hand out kubelogin exec configs.
func usableByServer(kc []byte) error {
	cfg, err := clientcmd.Load(kc)
	if err != nil {
		return fmt.Errorf("its kubeconfig does not parse: %v", err)
	}
	for name, u := range cfg.AuthInfos {
		if u.Exec != nil || u.AuthProvider != nil {
			return fmt.Errorf("its credentials (user %q) need the kubelogin plugin: the cluster uses Azure AD authentication, "+
				"which a server cannot complete interactively; attach it by kubeconfig with a service account token "+
				"(kubeml ml computetarget attach kubernetes), or enable local accounts", name)
		}
	}
	return nil
}
