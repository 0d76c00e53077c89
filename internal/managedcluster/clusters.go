package managedcluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provisioning"
	"github.com/kubeml/kubeml/internal/store"
)

// CreateOrUpdate creates a managed cluster or scales it. It returns
// the resource, the operation started (if any) and whether it is new.
func (m *Manager) CreateOrUpdate(ctx context.Context, id api.ResourceID, mc api.ManagedCluster) (*api.ManagedCluster, string, bool, error) {
	var existing api.ManagedCluster
	if _, err := store.GetJSON(ctx, m.cfg.Store, id.String(), &existing); err == nil {
		op, err := m.update(ctx, id, &existing, mc)
		return &existing, op, false, err
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, "", false, err
	}
	spec, p, err := m.Spec(id, mc)
	if err != nil {
		return nil, "", false, err
	}
	now := m.cfg.Now().UTC()
	out := api.ManagedCluster{
		ID: id.String(), Name: id.Name, Type: api.TypeManagedCluster, Location: strings.ToLower(mc.Location), Tags: mc.Tags,
		SystemData: &api.SystemData{CreatedAt: &now, LastModifiedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application"},
		Properties: api.ManagedClusterProperties{
			ProvisioningState: api.StateCreating, KubernetesVersion: spec.KubernetesVersion, DNSPrefix: mc.Properties.DNSPrefix,
			AgentPoolProfiles: []api.AgentPoolProfile{{Name: poolName(mc), Count: &spec.AgentCount, VMSize: spec.VMSize, OSType: "Linux", Mode: "System"}},
			NodeResourceGroup: "MC_" + id.ResourceGroup + "_" + id.Name + "_" + strings.ToLower(mc.Location),
		},
	}
	in := Input{ClusterID: id.String(), Provider: p.Name(), Spec: spec}
	opID, err := m.ops.Record(ctx, KindCreate, id.String(), in, func(tx store.Tx) error {
		b, _ := json.Marshal(out)
		_, err := tx.Create(ctx, store.Resource{ID: id.String(), Type: api.TypeManagedCluster, Parent: api.ResourceGroupID(id.Subscription, id.ResourceGroup), Body: b})
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, "", false, fault.New(fault.Conflict, "Conflict", "managed cluster %s is being created by another request", id.Name)
	}
	return &out, opID, true, err
}

// update handles a PUT on an existing cluster: only the node count
// may change.
func (m *Manager) update(ctx context.Context, id api.ResourceID, cur *api.ManagedCluster, mc api.ManagedCluster) (string, error) {
	if s := cur.Properties.ProvisioningState; provisioning.Busy(s) {
		return "", provisioning.ErrBusy("managed cluster", id.Name, s)
	}
	pools := mc.Properties.AgentPoolProfiles
	if len(pools) != 1 || pools[0].Count == nil {
		return "", nil
	}
	curPool := cur.Properties.AgentPoolProfiles[0]
	if pools[0].VMSize != "" && !strings.EqualFold(pools[0].VMSize, curPool.VMSize) {
		return "", fault.New(fault.Invalid, "VMSizeChange", "changing the VM size of a cluster is not supported (%s to %s): scale changes the node count only", curPool.VMSize, pools[0].VMSize)
	}
	if *pools[0].Count == *curPool.Count {
		return "", nil
	}
	p, err := m.ProviderFor(cur.Location)
	if err != nil {
		return "", err
	}
	spec := provider.Spec{Name: ProviderName(id), VMSize: curPool.VMSize, AgentCount: *pools[0].Count}
	if err := ValidateScale(p, spec); err != nil {
		return "", err
	}
	cur.Properties.ProvisioningState = api.StateUpdating
	in := Input{ClusterID: id.String(), Provider: p.Name(), Spec: spec, Count: spec.AgentCount}
	return m.ops.Record(ctx, KindScale, id.String(), in, provisioning.Transition(ctx, id.String(), "managed cluster", cur))
}

// Delete starts deleting a managed cluster. A cluster that a
// compute uses is refused.
func (m *Manager) Delete(ctx context.Context, id api.ResourceID) (string, error) {
	var cur api.ManagedCluster
	if _, err := store.GetJSON(ctx, m.cfg.Store, id.String(), &cur); err != nil {
		return "", err
	}
	if users, err := m.cfg.InUse(ctx, m.cfg.Store, id.String()); err != nil {
		return "", err
	} else if len(users) > 0 {
		return "", fault.New(fault.Conflict, "ClusterInUse", "managed cluster %s is used by compute %s: delete or detach the compute first", id.Name, strings.Join(users, ", "))
	}
	p, err := m.ProviderFor(cur.Location)
	if err != nil {
		return "", err
	}
	cur.Properties.ProvisioningState = api.StateDeleting
	in := Input{ClusterID: id.String(), Provider: p.Name(), Spec: provider.Spec{Name: ProviderName(id)}}
	return m.ops.Record(ctx, KindDelete, id.String(), in, provisioning.Transition(ctx, id.String(), "managed cluster", &cur))
}

// Start starts whatever of a cluster is not running (after a
// reboot, or a crash of its processes): AKS's managedClusters/start.
func (m *Manager) Start(ctx context.Context, id api.ResourceID) (string, error) {
	var cur api.ManagedCluster
	if _, err := store.GetJSON(ctx, m.cfg.Store, id.String(), &cur); err != nil {
		return "", err
	}
	if s := cur.Properties.ProvisioningState; provisioning.Busy(s) {
		return "", provisioning.ErrBusy("managed cluster", id.Name, s)
	}
	p, err := m.ProviderFor(cur.Location)
	if err != nil {
		return "", err
	}
	if _, ok := p.(provider.Resumer); !ok {
		return "", fault.New(fault.Invalid, "NotSupported", "clusters of provider %s cannot be started by kubeml", p.Name())
	}
	if _, err := p.Get(ctx, ProviderName(id)); errors.Is(err, provider.ErrNotFound) {
		return "", fault.New(fault.Conflict, "ClusterGone", "managed cluster %s no longer exists at provider %s: delete it", id.Name, p.Name())
	}
	cur.Properties.ProvisioningState = api.StateUpdating
	in := Input{ClusterID: id.String(), Provider: p.Name(), Spec: provider.Spec{Name: ProviderName(id)}}
	return m.ops.Record(ctx, KindStart, id.String(), in, provisioning.Transition(ctx, id.String(), "managed cluster", &cur))
}

// Get returns a managed cluster with its live power state.
func (m *Manager) Get(ctx context.Context, id api.ResourceID) (*api.ManagedCluster, error) {
	var mc api.ManagedCluster
	if _, err := store.GetJSON(ctx, m.cfg.Store, id.String(), &mc); err != nil {
		return nil, err
	}
	m.livePower(ctx, id, &mc)
	return &mc, nil
}

func (m *Manager) livePower(ctx context.Context, id api.ResourceID, mc *api.ManagedCluster) {
	if mc.Properties.ProvisioningState != api.StateSucceeded {
		return
	}
	p, err := m.ProviderFor(mc.Location)
	if err != nil {
		return
	}
	if c, err := p.Get(ctx, ProviderName(id)); err == nil {
		code := "Running"
		if c.State != provider.StateRunning {
			code = "Stopped"
		}
		mc.Properties.PowerState = &api.PowerState{Code: code}
	}
}

// List lists a resource group's managed clusters, or a
// subscription's when rg is empty.
func (m *Manager) List(ctx context.Context, sub, rg string) ([]api.ManagedCluster, error) {
	parent := ""
	if rg != "" {
		parent = api.ResourceGroupID(sub, rg)
	}
	rs, _, err := m.cfg.Store.List(ctx, api.TypeManagedCluster, parent, 0, 0)
	if err != nil {
		return nil, err
	}
	prefix := strings.ToLower("/subscriptions/" + sub + "/")
	out := []api.ManagedCluster{}
	for _, r := range rs {
		var mc api.ManagedCluster
		if json.Unmarshal(r.Body, &mc) == nil && strings.HasPrefix(strings.ToLower(mc.ID), prefix) {
			out = append(out, mc)
		}
	}
	return out, nil
}

// Kubeconfig returns a cluster's kubeconfig from its provider.
func (m *Manager) Kubeconfig(ctx context.Context, id api.ResourceID) ([]byte, error) {
	p, err := m.readyProvider(ctx, id)
	if err != nil {
		return nil, err
	}
	return p.Kubeconfig(ctx, ProviderName(id))
}

// UserKubeconfig returns the cluster user's credentials, distinct from
// the admin's: AKS's own, or on host clusters a certificate with
// read-only rights. A provider without them is refused with the reason.
func (m *Manager) UserKubeconfig(ctx context.Context, id api.ResourceID) ([]byte, error) {
	p, err := m.readyProvider(ctx, id)
	if err != nil {
		return nil, err
	}
	u, ok := p.(provider.UserCredentials)
	if !ok {
		return nil, fault.New(fault.Invalid, "NotSupported", "clusters of provider %s have no user credentials apart from the admin's: use listClusterAdminCredential", p.Name())
	}
	kc, err := u.UserKubeconfig(ctx, ProviderName(id))
	if errors.Is(err, provider.ErrInvalid) {
		return nil, fault.New(fault.Conflict, "NoUserCredentials", "%s", strings.TrimSuffix(err.Error(), ": "+provider.ErrInvalid.Error()))
	}
	return kc, err
}

// readyProvider returns the provider of a cluster whose credentials may
// be handed out (it is Succeeded or being scaled).
func (m *Manager) readyProvider(ctx context.Context, id api.ResourceID) (provider.Provider, error) {
	var mc api.ManagedCluster
	if _, err := store.GetJSON(ctx, m.cfg.Store, id.String(), &mc); err != nil {
		return nil, err
	}
	if mc.Properties.ProvisioningState != api.StateSucceeded && mc.Properties.ProvisioningState != api.StateUpdating {
		return nil, fault.New(fault.Conflict, "ClusterNotReady", "managed cluster %s is %s", id.Name, mc.Properties.ProvisioningState)
	}
	return m.ProviderFor(mc.Location)
}

// Versions lists the Kubernetes versions of a location's provider.
func (m *Manager) Versions(ctx context.Context, location string) ([]provider.Version, error) {
	p, err := m.ProviderFor(location)
	if err != nil {
		return nil, err
	}
	return p.Versions(ctx)
}
