package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/managedcluster"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provisioning"
	"github.com/kubeml/kubeml/internal/store"
	"github.com/kubeml/kubeml/internal/vmsize"
	"github.com/kubeml/kubeml/internal/workspace"
)

// CreateOrUpdateCompute validates and records a compute create, attach or
// scale. It returns the compute, the operation started ("" if none) and
// whether the compute is new.
func (m *Manager) CreateOrUpdateCompute(ctx context.Context, id api.ResourceID, c api.Compute) (*api.Compute, string, bool, error) {
	wsID := api.WorkspaceID(id.Subscription, id.ResourceGroup, id.Name)
	if _, err := m.cfg.Store.Get(ctx, wsID.String()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, "", false, fault.New(fault.NotFound, "ParentResourceNotFound", "workspace %s not found in resource group %s", id.Name, id.ResourceGroup)
		}
		return nil, "", false, err
	}
	var existing api.Compute
	if _, err := store.GetJSON(ctx, m.cfg.Store, id.String(), &existing); err == nil {
		op, err := m.updateCompute(ctx, id, &existing, c)
		return &existing, op, false, err
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, "", false, err
	}
	if c.Properties.ResourceID != "" || strings.EqualFold(c.Properties.ComputeType, api.ComputeKubernetes) {
		out, op, err := m.attach(ctx, id, c)
		return out, op, true, err
	}
	if computeLocation(&c) == "" {
		var ws api.Workspace
		if _, err := store.GetJSON(ctx, m.cfg.Store, wsID.String(), &ws); err == nil {
			c.Properties.ComputeLocation = ws.Location
		}
	}
	return m.createCompute(ctx, id, c)
}

// sizes adapts a location's provider sizes for the checks.
func (m *Manager) sizes(ctx context.Context) func(string) (map[string]vmsize.Size, error) {
	return func(location string) (map[string]vmsize.Size, error) {
		p, err := m.clusters.ProviderFor(location)
		if err != nil {
			return nil, err
		}
		list, err := p.VMSizes(ctx)
		if err != nil {
			return nil, err
		}
		out := make(map[string]vmsize.Size, len(list))
		for _, s := range list {
			out[strings.ToLower(s.Name)] = vmsize.Size{Name: s.Name, Cores: s.Cores, MemoryMB: s.MemoryMB, GPUs: s.GPUs}
		}
		return out, nil
	}
}

// validation turns the problems the checks found into one 400.
func validation(ps []Problem) error {
	errs := Errors(ps)
	if len(errs) == 0 {
		return nil
	}
	details := make([]api.ErrorDetail, 0, len(errs))
	msgs := make([]string, 0, len(errs))
	for _, p := range errs {
		details = append(details, api.ErrorDetail{Code: p.Code, Message: p.Message, Target: p.Target})
		msgs = append(msgs, p.Message)
	}
	return &fault.Error{Kind: fault.Invalid, ErrorDetail: api.ErrorDetail{
		Code: "BadRequest", Message: strings.Join(msgs, "\n"), Details: details}}
}

func (m *Manager) createCompute(ctx context.Context, id api.ResourceID, c api.Compute) (*api.Compute, string, bool, error) {
	loc := computeLocation(&c)
	if loc == "" {
		if locs := m.clusters.Locations(); len(locs) > 0 {
			loc = locs[0]
		}
	}
	c.Properties.ComputeLocation, c.Location = strings.ToLower(loc), strings.ToLower(loc)
	sizeOf := memoSizes(m.sizes(ctx))
	sizes, _ := sizeOf(loc)
	if c.Properties.Properties == nil {
		c.Properties.Properties = &api.AKSProperties{}
	}
	if c.Properties.Properties.AgentCount == nil && len(sizes) == 1 {
		one := 1 // a provider with one size is one machine: the host
		c.Properties.Properties.AgentCount = &one
	}
	ApplyDefaults(&c, sizes)
	taken, err := m.computeNames(ctx, id)
	if err != nil {
		return nil, "", false, err
	}
	probs := CreateChecks().Run(&Request{Name: id.ChildName, Compute: &c, Taken: func(n string) bool { return taken[strings.ToLower(n)] },
		Locations: m.clusters.Locations(), VMSizes: sizeOf})
	props := c.Properties.Properties
	clusterID := api.ManagedClusterID(id.Subscription, id.ResourceGroup, m.clusterName(id.ChildName))
	tags := map[string]string{"kubeml.io/workspace": api.WorkspaceID(id.Subscription, id.ResourceGroup, id.Name).String(), "kubeml.io/compute": id.ChildName}
	mc := api.ManagedCluster{Location: loc, Properties: api.ManagedClusterProperties{
		AgentPoolProfiles: []api.AgentPoolProfile{{Name: "agentpool", Count: props.AgentCount, VMSize: props.AgentVMSize}}}, Tags: tags}
	if n := props.AKSNetworkingConfiguration; n != nil {
		mc.Properties.AgentPoolProfiles[0].VnetSubnetID = n.SubnetID
		mc.Properties.NetworkProfile = &api.NetworkProfile{ServiceCidr: n.ServiceCidr, DNSServiceIP: n.DNSServiceIP, DockerBridgeCidr: n.DockerBridgeCidr}
	}
	spec, p, specErr := m.clusters.Spec(clusterID, mc)
	if err := validation(probs); err != nil {
		return nil, "", false, err
	}
	if specErr != nil {
		return nil, "", false, specErr
	}
	secrets := props.SSLConfiguration
	if secrets != nil && (secrets.Cert != "" || secrets.Key != "") {
		cp := *secrets
		props.SSLConfiguration = &cp
		props.SSLConfiguration.Cert, props.SSLConfiguration.Key = "", ""
	}
	now := m.cfg.Now().UTC()
	c.ID, c.Name, c.Type = id.String(), id.ChildName, api.TypeCompute
	c.SystemData = &api.SystemData{CreatedAt: &now, LastModifiedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application"}
	c.Properties.ComputeType = api.ComputeAKS
	c.Properties.ProvisioningState = api.StateCreating
	c.Properties.ProvisioningErrors = nil // read-only: never taken from a request
	props.SystemServices, props.ClusterFqdn = nil, ""
	c.Properties.ResourceID = clusterID.String()
	c.Properties.CreatedOn, c.Properties.ModifiedOn = &now, &now
	c.Properties.IsAttachedCompute = false
	mc.ID, mc.Name, mc.Type = clusterID.String(), clusterID.Name, api.TypeManagedCluster
	mc.SystemData = c.SystemData
	mc.Properties.ProvisioningState = api.StateCreating
	mc.Properties.KubernetesVersion = spec.KubernetesVersion
	in := input{Input: managedcluster.Input{ClusterID: clusterID.String(), Provider: p.Name(), Spec: spec}, ComputeID: id.String(), Purpose: props.ClusterPurpose}
	opID, err := m.record(ctx, kindComputeCreate, id.String(), in, func(tx store.Tx) error {
		if err := workspace.Require(ctx, tx, id); err != nil {
			return err
		}
		if err := store.CreateJSON(ctx, tx, id.String(), api.TypeCompute, workspaceKey(id), &c); err != nil {
			return err
		}
		if secrets != nil && secrets.Cert != "" {
			if err := tx.PutSecret(ctx, sslSecret(id.String()), joinCertKey(secrets.Cert, secrets.Key)); err != nil {
				return err
			}
		}
		return store.CreateJSON(ctx, tx, clusterID.String(), api.TypeManagedCluster, api.ResourceGroupID(id.Subscription, id.ResourceGroup), &mc)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, "", false, fault.New(fault.Conflict, "Conflict", "compute %s is being created by another request", id.ChildName)
	}
	return &c, opID, true, err
}

// clusterName names a cluster the workspace creates for a compute:
// <compute>-<5 digits>-<hex>, as Azure ML does.
func (m *Manager) clusterName(compute string) string {
	b := make([]byte, 6)
	m.cfg.Rand(b)
	digits := (int(b[0])<<16 | int(b[1])<<8 | int(b[2])) % 100000
	return fmt.Sprintf("%s-%05d-%x", compute, digits, b[3:6])
}

func workspaceKey(id api.ResourceID) string {
	return api.WorkspaceID(id.Subscription, id.ResourceGroup, id.Name).String()
}

// computeNames returns the lower-cased names of the workspace's computes.
func (m *Manager) computeNames(ctx context.Context, id api.ResourceID) (map[string]bool, error) {
	cs, err := m.ListComputes(ctx, id.Subscription, id.ResourceGroup, id.Name)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, c := range cs {
		out[strings.ToLower(c.Name)] = true
	}
	return out, nil
}

// ListComputes lists a workspace's computes.
func (m *Manager) ListComputes(ctx context.Context, sub, rg, ws string) ([]api.Compute, error) {
	rs, _, err := m.cfg.Store.List(ctx, api.TypeCompute, api.WorkspaceID(sub, rg, ws).String(), 0, 0)
	if err != nil {
		return nil, err
	}
	out := make([]api.Compute, 0, len(rs))
	for _, r := range rs {
		var c api.Compute
		if json.Unmarshal(r.Body, &c) == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// computesUsing names the computes (of any workspace) on a cluster.
func ComputesUsing(ctx context.Context, tx store.Tx, clusterID string) ([]string, error) {
	rs, _, err := tx.List(ctx, api.TypeCompute, "", 0, 0)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rs {
		var c api.Compute
		if json.Unmarshal(r.Body, &c) == nil && strings.EqualFold(c.Properties.ResourceID, clusterID) {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

// updateCompute handles a PUT on an existing compute: a scale, or nothing.
func (m *Manager) updateCompute(ctx context.Context, id api.ResourceID, cur *api.Compute, c api.Compute) (string, error) {
	switch s := cur.Properties.ProvisioningState; {
	case provisioning.Busy(s):
		return "", provisioning.ErrBusy("compute", id.ChildName, s)
	case s == api.StateFailed:
		how := "delete it (underlyingResourceAction=Delete) and create it again"
		if cur.Properties.IsAttachedCompute {
			how = "detach it (underlyingResourceAction=Detach) and attach it again"
		}
		return "", fault.New(fault.Conflict, "ComputeFailed", "compute %s failed (see provisioningErrors): %s", id.ChildName, how)
	}
	probs := UpdateChecks().Run(&Request{Name: id.ChildName, Compute: &c, Existing: cur, Locations: m.clusters.Locations(), VMSizes: memoSizes(m.sizes(ctx))})
	if err := validation(probs); err != nil {
		return "", err
	}
	if c.Properties.Properties == nil || c.Properties.Properties.AgentCount == nil || cur.Properties.Properties == nil ||
		cur.Properties.Properties.AgentCount == nil || *c.Properties.Properties.AgentCount == *cur.Properties.Properties.AgentCount {
		return "", nil
	}
	if cur.Properties.IsAttachedCompute {
		return "", fault.New(fault.Invalid, "AttachedComputeScale", "compute %s is an attached cluster: scale the cluster itself", id.ChildName)
	}
	clusterID, p, err := m.computeProvider(cur)
	if err != nil {
		return "", err
	}
	spec := provider.Spec{Name: managedcluster.ProviderName(clusterID), VMSize: cur.Properties.Properties.AgentVMSize, AgentCount: *c.Properties.Properties.AgentCount}
	if err := managedcluster.ValidateScale(p, spec); err != nil {
		return "", err
	}
	cur.Properties.ProvisioningState = api.StateUpdating
	in := input{Input: managedcluster.Input{ClusterID: clusterID.String(), Provider: p.Name(), Spec: spec, Count: spec.AgentCount}, ComputeID: id.String()}
	return m.record(ctx, kindComputeScale, id.String(), in, m.computeTransition(ctx, id.String(), clusterID.String(), cur, api.StateUpdating))
}

// computeProvider returns the cluster a workspace-created compute runs on
// and the provider of its location.
func (m *Manager) computeProvider(c *api.Compute) (api.ResourceID, provider.Provider, error) {
	clusterID, err := api.ParseResourceID(c.Properties.ResourceID)
	if err != nil {
		return clusterID, nil, err
	}
	p, err := m.clusters.ProviderFor(c.Properties.ComputeLocation)
	return clusterID, p, err
}

// computeTransition is transition for a compute whose operation also
// works on its cluster: both rows change in one transaction.
func (m *Manager) computeTransition(ctx context.Context, id, clusterID string, c *api.Compute, clusterState string) func(tx store.Tx) error {
	step := provisioning.Transition(ctx, id, "compute", c)
	return func(tx store.Tx) error {
		if err := step(tx); err != nil {
			return err
		}
		return managedcluster.SetState(ctx, tx, clusterID, clusterState)
	}
}
