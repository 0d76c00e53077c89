package compute

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/operation"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
)

// clusterInput is what a cluster operation needs to run (or resume).
type clusterInput struct {
	ClusterID string        `json:"clusterId"`
	ComputeID string        `json:"computeId,omitempty"` // set for compute operations
	Provider  string        `json:"provider"`
	Spec      provider.Spec `json:"spec"`
	Count     int           `json:"count,omitempty"`   // scale
	Purpose   string        `json:"purpose,omitempty"` // compute create and attach
	Scoped    bool          `json:"scoped,omitempty"`  // Kubernetes attach: use kubeml's own account
	Force     bool          `json:"force,omitempty"`   // detach: even when the cluster cannot be cleaned
}

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$`)

// ProviderName maps a managed cluster id to its name at the provider: a
// DNS label, stable, and distinct for the same name in two resource groups.
func ProviderName(id api.ResourceID) string {
	n := strings.ToLower(strings.ReplaceAll(id.Name, "_", "-"))
	if len(n) > 24 {
		n = n[:24]
	}
	sum := sha256.Sum256([]byte(id.Key()))
	return strings.Trim(n, "-") + "-" + hex.EncodeToString(sum[:])[:6]
}

func resourceGroupID(sub, rg string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg
}

// CreateOrUpdateCluster creates a managed cluster or scales it. It returns
// the resource, the operation started (if any) and whether it is new.
func (m *Manager) CreateOrUpdateCluster(ctx context.Context, id api.ResourceID, mc api.ManagedCluster) (*api.ManagedCluster, string, bool, error) {
	var existing api.ManagedCluster
	if _, err := getJSON(ctx, m.cfg.Store, id.String(), &existing); err == nil {
		op, err := m.updateCluster(ctx, id, &existing, mc)
		return &existing, op, false, err
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, "", false, err
	}
	spec, p, err := m.clusterSpec(id, mc)
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
	in := clusterInput{ClusterID: id.String(), Provider: p.Name(), Spec: spec}
	opID, err := m.record(ctx, kindClusterCreate, id.String(), in, func(tx store.Tx) error {
		b, _ := json.Marshal(out)
		_, err := tx.Create(ctx, store.Resource{ID: id.String(), Type: api.TypeManagedCluster, Parent: resourceGroupID(id.Subscription, id.ResourceGroup), Body: b})
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, "", false, fault.New(fault.Conflict, "Conflict", "managed cluster %s is being created by another request", id.Name)
	}
	return &out, opID, true, err
}

// clusterNetwork is a request's networking for the provider, nil when
// the request sets none.
func clusterNetwork(mc api.ManagedCluster) *provider.Network {
	var n provider.Network
	if np := mc.Properties.NetworkProfile; np != nil {
		n.ServiceCIDR, n.DNSServiceIP, n.DockerBridgeCIDR, n.LoadBalancerSKU = np.ServiceCidr, np.DNSServiceIP, np.DockerBridgeCidr, np.LoadBalancerSku
	}
	if a := mc.Properties.APIServerAccessProfile; a != nil {
		n.PrivateCluster, n.AuthorizedIPRanges = a.EnablePrivateCluster, a.AuthorizedIPRanges
	}
	if pools := mc.Properties.AgentPoolProfiles; len(pools) > 0 {
		n.SubnetID = pools[0].VnetSubnetID
	}
	if n.ServiceCIDR == "" && n.DNSServiceIP == "" && n.DockerBridgeCIDR == "" && n.LoadBalancerSKU == "" && !n.PrivateCluster && len(n.AuthorizedIPRanges) == 0 && n.SubnetID == "" {
		return nil
	}
	return &n
}

func poolName(mc api.ManagedCluster) string {
	if len(mc.Properties.AgentPoolProfiles) > 0 && mc.Properties.AgentPoolProfiles[0].Name != "" {
		return mc.Properties.AgentPoolProfiles[0].Name
	}
	return "nodepool1"
}

// clusterSpec validates a managed cluster request into a provider spec,
// reporting every problem at once.
func (m *Manager) clusterSpec(id api.ResourceID, mc api.ManagedCluster) (provider.Spec, provider.Provider, error) {
	var details []api.ErrorDetail
	bad := func(code, target, format string, args ...any) {
		details = append(details, api.ErrorDetail{Code: code, Target: target, Message: fmt.Sprintf(format, args...)})
	}
	if !clusterNameRE.MatchString(id.Name) {
		bad("InvalidResourceName", "name", "managed cluster name %q must be 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit", id.Name)
	}
	p, err := m.ProviderFor(mc.Location)
	if ae := (*fault.Error)(nil); errors.As(err, &ae) {
		bad(ae.Code, "location", "%s", ae.Message)
	} else if err != nil {
		bad("UnknownProvider", "location", "%v", err)
	}
	spec := provider.Spec{Name: ProviderName(id), KubernetesVersion: mc.Properties.KubernetesVersion, AgentCount: 1,
		Tags: map[string]string{"kubeml.io/resource-id": id.String()}, Location: strings.ToLower(mc.Location),
		DNSPrefix: mc.Properties.DNSPrefix, Network: clusterNetwork(mc)}
	for k, v := range mc.Tags {
		if _, ok := spec.Tags[k]; !ok {
			spec.Tags[k] = v
		}
	}
	switch pools := mc.Properties.AgentPoolProfiles; {
	case len(pools) > 1:
		bad("MultipleAgentPools", "properties.agentPoolProfiles", "only one agent pool is supported; got %d", len(pools))
	case len(pools) == 1:
		if pools[0].Count != nil {
			spec.AgentCount = *pools[0].Count
		}
		spec.VMSize = pools[0].VMSize
	}
	if p != nil {
		if v, ok := p.(provider.SpecValidator); ok {
			if err := v.ValidateSpec(spec); err != nil {
				for _, e := range splitJoined(err) {
					bad("InvalidClusterSpec", "properties", "%s", strings.TrimPrefix(e.Error(), provider.ErrInvalid.Error()+": "))
				}
			}
		}
	}
	if len(details) > 0 {
		return spec, nil, &fault.Error{Kind: fault.Invalid, ErrorDetail: api.ErrorDetail{
			Code: "InvalidRequestContent", Message: fmt.Sprintf("the managed cluster request has %d problem(s)", len(details)), Details: details}}
	}
	return spec, p, nil
}

// splitJoined flattens an errors.Join tree into its leaves.
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []error{err}
}

// updateCluster handles a PUT on an existing cluster: only the node count
// may change.
func (m *Manager) updateCluster(ctx context.Context, id api.ResourceID, cur *api.ManagedCluster, mc api.ManagedCluster) (string, error) {
	if s := cur.Properties.ProvisioningState; busy(s) {
		return "", errBusy("managed cluster", id.Name, s)
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
	if err := validateScale(p, spec); err != nil {
		return "", err
	}
	cur.Properties.ProvisioningState = api.StateUpdating
	in := clusterInput{ClusterID: id.String(), Provider: p.Name(), Spec: spec, Count: spec.AgentCount}
	return m.record(ctx, kindClusterScale, id.String(), in, m.transition(ctx, id.String(), "managed cluster", cur))
}

// validateScale asks the provider whether it can have the new count, so
// that a scale it cannot do is refused before anything is recorded.
func validateScale(p provider.Provider, spec provider.Spec) error {
	v, ok := p.(provider.SpecValidator)
	if !ok {
		return nil
	}
	if err := v.ValidateSpec(spec); err != nil {
		return fault.New(fault.Invalid, "InvalidAgentCount", "%s", strings.TrimPrefix(err.Error(), provider.ErrInvalid.Error()+": "))
	}
	return nil
}

// transition returns a transaction step that writes v (the resource in its
// new, busy state) only if the stored resource is not busy: the check and
// the write are one transaction, so two requests cannot both start an
// operation on one resource.
func (m *Manager) transition(ctx context.Context, id, kind string, v any) func(tx store.Tx) error {
	return func(tx store.Tx) error {
		r, err := tx.Get(ctx, id)
		if err != nil {
			return err
		}
		var cur struct {
			Properties struct {
				ProvisioningState string `json:"provisioningState"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(r.Body, &cur); err != nil {
			return err
		}
		if s := cur.Properties.ProvisioningState; busy(s) {
			return errBusy(kind, r.ID, s)
		}
		return putJSON(ctx, tx, id, r.Type, r.Parent, v)
	}
}

// DeleteCluster starts deleting a managed cluster. A cluster that a
// compute uses is refused.
func (m *Manager) DeleteCluster(ctx context.Context, id api.ResourceID) (string, error) {
	var cur api.ManagedCluster
	if _, err := getJSON(ctx, m.cfg.Store, id.String(), &cur); err != nil {
		return "", err
	}
	if users, err := computesUsing(ctx, m.cfg.Store, id.String()); err != nil {
		return "", err
	} else if len(users) > 0 {
		return "", fault.New(fault.Conflict, "ClusterInUse", "managed cluster %s is used by compute %s: delete or detach the compute first", id.Name, strings.Join(users, ", "))
	}
	p, err := m.ProviderFor(cur.Location)
	if err != nil {
		return "", err
	}
	cur.Properties.ProvisioningState = api.StateDeleting
	in := clusterInput{ClusterID: id.String(), Provider: p.Name(), Spec: provider.Spec{Name: ProviderName(id)}}
	return m.record(ctx, kindClusterDelete, id.String(), in, m.transition(ctx, id.String(), "managed cluster", &cur))
}

// StartCluster starts whatever of a cluster is not running (after a
// reboot, or a crash of its processes): AKS's managedClusters/start.
func (m *Manager) StartCluster(ctx context.Context, id api.ResourceID) (string, error) {
	var cur api.ManagedCluster
	if _, err := getJSON(ctx, m.cfg.Store, id.String(), &cur); err != nil {
		return "", err
	}
	if s := cur.Properties.ProvisioningState; busy(s) {
		return "", errBusy("managed cluster", id.Name, s)
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
	in := clusterInput{ClusterID: id.String(), Provider: p.Name(), Spec: provider.Spec{Name: ProviderName(id)}}
	return m.record(ctx, kindClusterStart, id.String(), in, m.transition(ctx, id.String(), "managed cluster", &cur))
}

// GetCluster returns a managed cluster with its live power state.
func (m *Manager) GetCluster(ctx context.Context, id api.ResourceID) (*api.ManagedCluster, error) {
	var mc api.ManagedCluster
	if _, err := getJSON(ctx, m.cfg.Store, id.String(), &mc); err != nil {
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

// ListClusters lists a resource group's managed clusters, or a
// subscription's when rg is empty.
func (m *Manager) ListClusters(ctx context.Context, sub, rg string) ([]api.ManagedCluster, error) {
	parent := ""
	if rg != "" {
		parent = resourceGroupID(sub, rg)
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

// ClusterKubeconfig returns a cluster's kubeconfig from its provider.
func (m *Manager) ClusterKubeconfig(ctx context.Context, id api.ResourceID) ([]byte, error) {
	var mc api.ManagedCluster
	if _, err := getJSON(ctx, m.cfg.Store, id.String(), &mc); err != nil {
		return nil, err
	}
	if mc.Properties.ProvisioningState != api.StateSucceeded && mc.Properties.ProvisioningState != api.StateUpdating {
		return nil, fault.New(fault.Conflict, "ClusterNotReady", "managed cluster %s is %s", id.Name, mc.Properties.ProvisioningState)
	}
	p, err := m.ProviderFor(mc.Location)
	if err != nil {
		return nil, err
	}
	return p.Kubeconfig(ctx, ProviderName(id))
}

// Versions lists the Kubernetes versions of a location's provider.
func (m *Manager) Versions(ctx context.Context, location string) ([]provider.Version, error) {
	p, err := m.ProviderFor(location)
	if err != nil {
		return nil, err
	}
	return p.Versions(ctx)
}

// provision decodes a cluster or compute operation and carries out its
// step at the provider; each step is idempotent, so a resumed operation
// picks up where the last run stopped. For deletes the cluster is nil.
func (m *Manager) provision(ctx context.Context, op operation.Op, step providerStep, j operation.Journal, progress operation.Progress) (clusterInput, api.ResourceID, *provider.Cluster, error) {
	var in clusterInput
	if err := json.Unmarshal(op.Input, &in); err != nil {
		return in, api.ResourceID{}, nil, err
	}
	p, err := m.cfg.Providers.Get(in.Provider)
	if err != nil {
		return in, api.ResourceID{}, nil, err
	}
	id, err := api.ParseResourceID(in.ClusterID)
	if err != nil {
		return in, id, nil, err
	}
	c, err := step(provider.WithJournal(ctx, j), p, in, provider.Progress(progress))
	if c != nil {
		_ = operation.Warn(j, c.Warnings)
	}
	return in, id, c, err
}

// providerStep is what an operation on a cluster asks of its provider.
type providerStep func(ctx context.Context, p provider.Provider, in clusterInput, progress provider.Progress) (*provider.Cluster, error)

func stepCreate(ctx context.Context, p provider.Provider, in clusterInput, progress provider.Progress) (*provider.Cluster, error) {
	return ensureCluster(ctx, p, in.Spec, progress)
}

func stepScale(ctx context.Context, p provider.Provider, in clusterInput, progress provider.Progress) (*provider.Cluster, error) {
	return p.Scale(ctx, in.Spec.Name, in.Count, progress)
}

func stepStart(ctx context.Context, p provider.Provider, in clusterInput, progress provider.Progress) (*provider.Cluster, error) {
	return startCluster(ctx, p, in.Spec.Name, progress)
}

// stepDelete returns no cluster: it is gone.
func stepDelete(ctx context.Context, p provider.Provider, in clusterInput, progress provider.Progress) (*provider.Cluster, error) {
	if err := p.Delete(ctx, in.Spec.Name, progress); err != nil && !errors.Is(err, provider.ErrNotFound) {
		return nil, err
	}
	return nil, nil
}

// clusterOp is an operation on a managed cluster: one provider step, then
// the cluster's record.
type clusterOp struct {
	m    *Manager
	step providerStep
}

// Run carries out the step and records the cluster.
func (k clusterOp) Run(ctx context.Context, op operation.Op, j operation.Journal, progress operation.Progress) error {
	m := k.m
	_, id, c, err := m.provision(ctx, op, k.step, j, progress)
	switch {
	case err != nil:
		return err
	case c == nil: // deleted; a resumed delete finds the row gone
		if err := m.cfg.Store.Delete(ctx, id.String()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	return m.clusterReady(ctx, id, c)
}

// Failed records why on the cluster.
func (k clusterOp) Failed(ctx context.Context, op operation.Op, cause error) {
	k.m.clusterFailed(ctx, op, cause)
}

// startCluster restarts what of an existing cluster does not run; it
// never creates one.
func startCluster(ctx context.Context, p provider.Provider, name string, progress provider.Progress) (*provider.Cluster, error) {
	r, ok := p.(provider.Resumer)
	if !ok {
		return nil, fmt.Errorf("provider %s cannot start clusters", p.Name())
	}
	return r.Resume(ctx, name, progress)
}

// ensureCluster creates the provider's cluster, or finishes or adopts one
// that an interrupted run of the same operation began.
func ensureCluster(ctx context.Context, p provider.Provider, spec provider.Spec, progress provider.Progress) (*provider.Cluster, error) {
	c, err := p.Get(ctx, spec.Name)
	switch {
	case errors.Is(err, provider.ErrNotFound):
		return p.Create(ctx, spec, progress)
	case err != nil:
		return nil, err
	case c.State == provider.StateRunning:
		return c, nil
	}
	if r, ok := p.(provider.Resumer); ok {
		return r.Resume(ctx, spec.Name, progress)
	}
	if err := p.Delete(ctx, spec.Name, progress); err != nil {
		return nil, err
	}
	return p.Create(ctx, spec, progress)
}

// clusterReady records a cluster the provider reports made or scaled.
func (m *Manager) clusterReady(ctx context.Context, id api.ResourceID, c *provider.Cluster) error {
	return m.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var mc api.ManagedCluster
		if _, err := getJSON(ctx, tx, id.String(), &mc); err != nil {
			return err
		}
		now := m.cfg.Now().UTC()
		mc.SystemData.LastModifiedAt = &now
		mc.Properties.ProvisioningState = api.StateSucceeded
		mc.Properties.ProvisioningError = nil
		mc.Properties.KubernetesVersion, mc.Properties.CurrentKubernetesVersion = c.KubernetesVersion, c.KubernetesVersion
		mc.Properties.PowerState = &api.PowerState{Code: "Running"}
		if u, err := url.Parse(c.Server); err == nil {
			mc.Properties.Fqdn = u.Host
		}
		count := c.AgentCount
		mc.Properties.AgentPoolProfiles[0].Count = &count
		mc.Properties.AgentPoolProfiles[0].VMSize = c.VMSize
		return putJSON(ctx, tx, id.String(), api.TypeManagedCluster, resourceGroupID(id.Subscription, id.ResourceGroup), &mc)
	})
}

// clusterFailed records why a cluster operation failed.
func (m *Manager) clusterFailed(ctx context.Context, op operation.Op, cause error) {
	var in clusterInput
	if json.Unmarshal(op.Input, &in) != nil {
		return
	}
	_ = m.cfg.Store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		var mc api.ManagedCluster
		r, err := getJSON(ctx, tx, in.ClusterID, &mc)
		if err != nil {
			return err
		}
		mc.Properties.ProvisioningState = api.StateFailed
		d := ErrorDetail(cause)
		mc.Properties.ProvisioningError = &d
		return putJSON(ctx, tx, in.ClusterID, api.TypeManagedCluster, r.Parent, &mc)
	})
}

// setClusterState marks the cluster row of a compute operation, in the
// operation's transaction, so nothing else starts on the cluster meanwhile.
func setClusterState(ctx context.Context, tx store.Tx, clusterID, state string) error {
	var mc api.ManagedCluster
	r, err := getJSON(ctx, tx, clusterID, &mc)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	mc.Properties.ProvisioningState = state
	return putJSON(ctx, tx, clusterID, r.Type, r.Parent, &mc)
}
