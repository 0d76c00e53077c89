package compute

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
)

// importerFor returns the provider that can attach the cluster id names
// when it is not one of this server's managed clusters (an AKS cluster
// in Azure), or nil.
func (m *Manager) importerFor(ctx context.Context, resourceID string) provider.Importer {
	if resourceID == "" {
		return nil
	}
	if cid, err := api.ParseResourceID(resourceID); err != nil {
		return nil
	} else if _, err := m.cfg.Store.Get(ctx, cid.String()); !errors.Is(err, store.ErrNotFound) {
		return nil
	}
	for _, name := range m.cfg.Providers.Names() {
		if imp, ok := m.cfg.Providers[name].(provider.Importer); ok && imp.Owns(resourceID) {
			return imp
		}
	}
	return nil
}

// importSource attaches a cluster kubeml did not create, read from its
// provider: state, version and pools are checked before the cluster is
// touched, then it is attached with the credentials the provider hands
// out, like a Kubernetes compute; the provider's access checks join the
// preflight report.
type importSource struct{ imp provider.Importer }

func (s importSource) resolve(ctx context.Context, m *Manager, id api.ResourceID, c api.Compute) (*attachPlan, error) {
	imp := s.imp
	if err := m.checkAttachRequest(ctx, id, &c); err != nil {
		return nil, err
	}
	cid, err := api.ParseResourceID(c.Properties.ResourceID)
	if err != nil {
		return nil, fault.New(fault.Invalid, "InvalidResourceId", "properties.resourceId %q is not a managed cluster id", c.Properties.ResourceID)
	}
	if !strings.EqualFold(cid.Subscription, id.Subscription) {
		return nil, fault.New(fault.Invalid, "SubscriptionMismatch", "cluster %s is in subscription %s, but the workspace is in %s: a cluster can only be attached in the workspace's subscription", cid.Name, cid.Subscription, id.Subscription)
	}
	in := c.Properties.Properties
	if in == nil {
		in = &api.AKSProperties{}
	}
	got, err := imp.Import(ctx, cid.String(), in.AdminCredentials)
	if err != nil {
		return nil, importError(cid, err)
	}
	if err := m.importable(cid, got); err != nil {
		return nil, err
	}
	kc, rc, err := parseKubeconfig(string(got.Kubeconfig), "")
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	now := m.cfg.Now().UTC()
	props := &api.AKSProperties{ClusterPurpose: in.ClusterPurpose, ScopedCredentials: in.ScopedCredentials, SSLConfiguration: in.SSLConfiguration, Namespace: "default"}
	if props.ClusterPurpose == "" {
		props.ClusterPurpose = api.PurposeFastProd
	}
	if u, err := url.Parse(got.Cluster.Server); err == nil {
		props.ClusterFqdn = u.Host
	}
	count := 0
	for _, p := range got.Pools {
		count += p.Count
	}
	props.AgentCount = &count
	if len(got.Pools) > 0 {
		props.AgentVMSize = got.Pools[0].VMSize
	}
	loc := m.locationOf(imp)
	out := &api.Compute{ID: id.String(), Name: id.ChildName, Type: api.TypeCompute, Location: loc, Tags: c.Tags,
		SystemData: &api.SystemData{CreatedAt: &now, LastModifiedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application"},
		Properties: api.ComputeProperties{ComputeType: api.ComputeAKS, ComputeLocation: loc, Description: c.Properties.Description,
			ResourceID: cid.String(), ProvisioningState: api.StateCreating, CreatedOn: &now, ModifiedOn: &now, IsAttachedCompute: true, Properties: props}}
	return &attachPlan{compute: out, cs: cs, kubeconfig: kc, extra: accessChecks(got), input: scopedInput(id, props)}, nil
}

// importable refuses clusters that are not ready or run a Kubernetes
// version kubeml does not support, before anything is asked of them.
func (m *Manager) importable(cid api.ResourceID, got *provider.Imported) error {
	if got.ProvisioningState != "Succeeded" {
		return fault.New(fault.Conflict, "ClusterNotReady", "AKS cluster %s is %s: attach it once its provisioning state is Succeeded", cid.Name, got.ProvisioningState)
	}
	if got.Cluster.State == provider.StateStopped {
		return fault.New(fault.Conflict, "ClusterStopped", "AKS cluster %s is stopped: start it (az aks start -n %s -g %s) and attach it again", cid.Name, cid.Name, cid.ResourceGroup)
	}
	if got.Cluster.State != provider.StateRunning {
		return fault.New(fault.Conflict, "ClusterNotReady", "AKS cluster %s is not running: %s", cid.Name, got.Cluster.Detail)
	}
	v, err := version.ParseGeneric(got.Cluster.KubernetesVersion)
	lo, _ := version.ParseGeneric(m.cfg.MinVersion)
	hi, _ := version.ParseGeneric(m.cfg.MaxVersion)
	if err != nil || lo == nil || hi == nil {
		return nil // the preflight reads the live version
	}
	mm := version.MajorMinor(v.Major(), v.Minor())
	if mm.LessThan(version.MajorMinor(lo.Major(), lo.Minor())) || mm.GreaterThan(version.MajorMinor(hi.Major(), hi.Minor())) {
		return fault.New(fault.Invalid, "VersionUnsupported", "AKS cluster %s runs Kubernetes %s; kubeml supports %s to %s: upgrade the cluster (az aks upgrade)",
			cid.Name, got.Cluster.KubernetesVersion, m.cfg.MinVersion, m.cfg.MaxVersion)
	}
	return nil
}

// accessChecks warn when the API server is private or limited: the
// kubeml server must be on a network the cluster lets in.
func accessChecks(got *provider.Imported) []api.PreflightCheck {
	switch {
	case got.Cluster.Private:
		return []api.PreflightCheck{{Name: "APIServerAccess", Status: "Warn", Reason: "PrivateCluster",
			Message: "The cluster's API server is private: the kubeml server must keep reaching it from the cluster's virtual network (or a peered one)."}}
	case len(got.Cluster.AuthorizedIPRanges) > 0:
		return []api.PreflightCheck{{Name: "APIServerAccess", Status: "Warn", Reason: "AuthorizedIPRanges",
			Message: fmt.Sprintf("The cluster's API server accepts only %s: the kubeml server's address must stay in those ranges.", strings.Join(got.Cluster.AuthorizedIPRanges, ", "))}}
	}
	return nil
}

// importError maps a provider's failure to read a cluster to an API error.
func importError(cid api.ResourceID, err error) error {
	var ce *provider.CodedError
	switch {
	case errors.Is(err, provider.ErrNotFound):
		return fault.New(fault.NotFound, "ResourceNotFound", "managed cluster %s not found", cid.String())
	case errors.Is(err, provider.ErrInvalid):
		return fault.New(fault.Invalid, "ClusterNotAttachable", "%s", strings.TrimPrefix(err.Error(), provider.ErrInvalid.Error()+": "))
	case errors.As(err, &ce):
		return fault.New(fault.Unavailable, ce.Code, "%s", ce.Message)
	}
	return fmt.Errorf("failed to read cluster %s: %w", cid.Name, err)
}

// locationOf is the first location served by the provider.
func (m *Manager) locationOf(imp provider.Importer) string {
	p, ok := imp.(provider.Provider)
	if !ok {
		return ""
	}
	return m.clusters.LocationOf(p.Name())
}
