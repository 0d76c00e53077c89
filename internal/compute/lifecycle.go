package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/cluster"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/operation"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
)

// managedSource attaches a managed cluster of this server by its id.
type managedSource struct{}

// resolve checks the managed cluster is this server's and ready, and
// that no other compute of the server has it.
func (managedSource) resolve(ctx context.Context, m *Manager, id api.ResourceID, c api.Compute) (*attachPlan, error) {
	if err := m.checkAttachRequest(ctx, id, &c); err != nil {
		return nil, err
	}
	cid, err := api.ParseResourceID(c.Properties.ResourceID)
	if err != nil || cid.Type != "managedClusters" {
		return nil, fault.New(fault.Invalid, "InvalidResourceId", "properties.resourceId %q is not a managed cluster id", c.Properties.ResourceID)
	}
	if !strings.EqualFold(cid.Subscription, id.Subscription) {
		return nil, fault.New(fault.Invalid, "SubscriptionMismatch", "cluster %s is in subscription %s, but the workspace is in %s: a cluster can only be attached in the workspace's subscription", cid.Name, cid.Subscription, id.Subscription)
	}
	var mc api.ManagedCluster
	if _, err := getJSON(ctx, m.cfg.Store, cid.String(), &mc); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault.New(fault.NotFound, "ResourceNotFound", "managed cluster %s not found", cid.String())
		}
		return nil, err
	}
	if mc.Properties.ProvisioningState != api.StateSucceeded {
		return nil, fault.New(fault.Conflict, "ClusterNotReady", "managed cluster %s is %s", cid.Name, mc.Properties.ProvisioningState)
	}
	cs, _, err := m.clusterClient(ctx, cid)
	if err != nil {
		return nil, err
	}
	pool := mc.Properties.AgentPoolProfiles[0]
	now := m.cfg.Now().UTC()
	purpose := api.PurposeFastProd
	if c.Properties.Properties != nil && c.Properties.Properties.ClusterPurpose != "" {
		purpose = c.Properties.Properties.ClusterPurpose
	}
	out := &api.Compute{ID: id.String(), Name: id.ChildName, Type: api.TypeCompute, Location: mc.Location, Tags: c.Tags,
		SystemData: &api.SystemData{CreatedAt: &now, LastModifiedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application"},
		Properties: api.ComputeProperties{ComputeType: api.ComputeAKS, ComputeLocation: mc.Location, Description: c.Properties.Description,
			ResourceID: cid.String(), ProvisioningState: api.StateCreating, CreatedOn: &now, ModifiedOn: &now, IsAttachedCompute: true,
			Properties: &api.AKSProperties{ClusterFqdn: mc.Properties.Fqdn, AgentCount: pool.Count, AgentVMSize: pool.VMSize, ClusterPurpose: purpose,
				SSLConfiguration: sslIn(c)}}}
	return &attachPlan{compute: out, cs: cs,
		input: clusterInput{ClusterID: cid.String(), ComputeID: id.String(), Spec: provider.Spec{Name: ProviderName(cid)}, Purpose: purpose},
		guard: func(ctx context.Context, tx store.Tx) error {
			if users, err := computesUsing(ctx, tx, cid.String()); err != nil {
				return err
			} else if len(users) > 0 {
				return fault.New(fault.Conflict, "AlreadyAttached", "managed cluster %s is already attached as %s: detach it there first", cid.Name, strings.Join(users, ", "))
			}
			return nil
		}}, nil
}

// GetCompute returns a compute; secrets are never part of it.
func (m *Manager) GetCompute(ctx context.Context, id api.ResourceID) (*api.Compute, error) {
	var c api.Compute
	if _, err := getJSON(ctx, m.cfg.Store, id.String(), &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteCompute detaches a compute (its cluster stays) or deletes it with
// the cluster the workspace created for it. It returns the operation
// started, or "" when it finished at once.
func (m *Manager) DeleteCompute(ctx context.Context, id api.ResourceID, action string, force bool) (string, error) {
	switch {
	case strings.EqualFold(action, ActionDelete):
		action = ActionDelete
	case strings.EqualFold(action, ActionDetach):
		action = ActionDetach
	default:
		return "", fault.New(fault.Invalid, "InvalidUnderlyingResourceAction", "underlyingResourceAction must be Delete or Detach, got %q", action)
	}
	var c api.Compute
	if _, err := getJSON(ctx, m.cfg.Store, id.String(), &c); err != nil {
		return "", err
	}
	if s := c.Properties.ProvisioningState; busy(s) {
		return "", errBusy("compute", id.ChildName, s)
	}
	if !force {
		if err := m.noLiveServices(ctx, &c); err != nil {
			return "", err
		}
	}
	if action == ActionDetach {
		c.Properties.ProvisioningState = api.StateDeleting
		in := clusterInput{ClusterID: c.Properties.ResourceID, ComputeID: id.String(), Force: force}
		return m.record(ctx, kindComputeDetach, id.String(), in, m.transition(ctx, id.String(), "compute", &c))
	}
	if c.Properties.IsAttachedCompute {
		return "", fault.New(fault.Conflict, "AttachedComputeDelete", "compute %s is an attached cluster, which kubeml did not create and will not delete: detach it instead (underlyingResourceAction=Detach)", id.ChildName)
	}
	clusterID, p, err := m.computeProvider(&c)
	if err != nil {
		return "", err
	}
	c.Properties.ProvisioningState = api.StateDeleting
	in := clusterInput{ClusterID: clusterID.String(), ComputeID: id.String(), Provider: p.Name(), Spec: provider.Spec{Name: ProviderName(clusterID)}}
	return m.record(ctx, kindComputeDelete, id.String(), in, m.computeTransition(ctx, id.String(), clusterID.String(), &c, api.StateDeleting))
}

// noLiveServices refuses to detach or delete a compute while models are
// deployed on its cluster (force overrides). A cluster that cannot be
// asked does not block: its health already says why.
func (m *Manager) noLiveServices(ctx context.Context, c *api.Compute) error {
	if c.Properties.ProvisioningState != api.StateSucceeded {
		return nil
	}
	cs, _, err := m.computeCluster(ctx, c)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	live, err := cluster.ServiceDeployments(ctx, cs)
	if err != nil || len(live) == 0 {
		return nil
	}
	names := make([]string, 0, len(live))
	for _, o := range live {
		names = append(names, o.Namespace+"/"+o.Name)
	}
	return fault.New(fault.Conflict, "DeploymentsExist", "compute %s still serves %d deployment(s) (%s): delete them first, or force it (--force; force=true)", c.Name, len(live), strings.Join(names, ", "))
}

// ComputeKeys returns the kubeconfig of a compute's cluster.
func (m *Manager) ComputeKeys(ctx context.Context, id api.ResourceID) (*api.ComputeSecrets, error) {
	kc, err := m.computeKubeconfig(ctx, id)
	if err != nil {
		return nil, err
	}
	return &api.ComputeSecrets{ComputeType: api.ComputeAKS, UserKubeConfig: string(kc), AdminKubeConfig: string(kc)}, nil
}

func (m *Manager) computeKubeconfig(ctx context.Context, id api.ResourceID) ([]byte, error) {
	c, err := m.GetCompute(ctx, id)
	if err != nil {
		return nil, err
	}
	if kc, ok, err := m.storedKubeconfig(ctx, c); err != nil || ok {
		return kc, err
	}
	cid, err := api.ParseResourceID(c.Properties.ResourceID)
	if err != nil {
		return nil, err
	}
	return m.ClusterKubeconfig(ctx, cid)
}

// ComputeNodes lists the nodes of a compute's cluster, read from the
// cluster itself.
func (m *Manager) ComputeNodes(ctx context.Context, id api.ResourceID) (*api.ComputeNodes, error) {
	if c, err := m.GetCompute(ctx, id); err != nil {
		return nil, err
	} else if err := healthy(c); err != nil {
		return nil, err
	}
	kc, err := m.computeKubeconfig(ctx, id)
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	list, err := cs.CoreV1().Nodes().List(lctx, metav1.ListOptions{})
	if err != nil {
		return nil, fault.New(fault.Unavailable, "ClusterUnreachable", "failed to list the cluster's nodes: %v", err)
	}
	out := &api.ComputeNodes{Nodes: []api.ComputeNode{}}
	for _, n := range list.Items {
		cn := api.ComputeNode{NodeID: n.Name, NodeState: "notReady", VMSize: n.Labels["node.kubernetes.io/instance-type"],
			CPU: n.Status.Allocatable.Cpu().String(), Memory: n.Status.Allocatable.Memory().String()}
		if g, ok := n.Status.Allocatable["nvidia.com/gpu"]; ok {
			cn.GPU = g.String()
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				cn.NodeState = "idle"
			}
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				cn.PrivateIPAddress = a.Address
			}
		}
		out.Nodes = append(out.Nodes, cn)
	}
	return out, nil
}

// computeOp is an operation on a created compute: one provider step on
// its cluster, then the compute's record (and for a create, kubeml's
// services in the new cluster).
type computeOp struct {
	m      *Manager
	step   providerStep
	create bool
}

// Run carries out the step, then records the compute's new state.
func (k computeOp) Run(ctx context.Context, op operation.Op, j operation.Journal, progress operation.Progress) error {
	m := k.m
	in, clusterID, c, err := m.provision(ctx, op, k.step, j, progress)
	if err != nil {
		return err
	}
	if c == nil { // deleted: the compute and its cluster go together
		return m.cfg.Store.Update(ctx, func(tx store.Tx) error {
			for _, id := range []string{in.ComputeID, in.ClusterID} {
				if err := tx.Delete(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			return nil
		})
	}
	if err := m.clusterReady(ctx, clusterID, c); err != nil {
		return err
	}
	if k.create {
		if err := m.installServices(ctx, in.ComputeID, in.Purpose); err != nil {
			return err
		}
	}
	return m.updateComputeJSON(ctx, in.ComputeID, func(cp *api.Compute) {
		cp.Properties.ProvisioningState = api.StateSucceeded
		cp.Properties.ProvisioningErrors = nil
		count := c.AgentCount
		cp.Properties.Properties.AgentCount = &count
		cp.Properties.Properties.ClusterFqdn = strings.TrimPrefix(c.Server, "https://")
	})
}

// Failed records why on the compute and its cluster. A failed create
// leaves no cluster behind (providers roll back), so its cluster record
// goes too.
func (k computeOp) Failed(ctx context.Context, op operation.Op, cause error) {
	m := k.m
	in, ok := m.computeFailed(ctx, op, cause)
	if !ok {
		return
	}
	if k.create {
		if p, err := m.cfg.Providers.Get(in.Provider); err == nil {
			if _, err := p.Get(ctx, in.Spec.Name); errors.Is(err, provider.ErrNotFound) {
				_ = m.cfg.Store.Delete(ctx, in.ClusterID)
				return
			}
		}
	}
	m.clusterFailed(ctx, op, cause)
}

// attachOp installs kubeml's services in an attached compute's cluster.
type attachOp struct{ m *Manager }

// Run scopes the credentials if asked, installs the services and marks
// the compute Succeeded.
func (k attachOp) Run(ctx context.Context, op operation.Op, _ operation.Journal, _ operation.Progress) error {
	m := k.m
	var in clusterInput
	if err := json.Unmarshal(op.Input, &in); err != nil {
		return err
	}
	if in.Scoped {
		if err := m.scopeCredentials(ctx, in.ComputeID); err != nil {
			return err
		}
	}
	if err := m.installServices(ctx, in.ComputeID, in.Purpose); err != nil {
		return err
	}
	return m.updateComputeJSON(ctx, in.ComputeID, func(c *api.Compute) {
		c.Properties.ProvisioningState = api.StateSucceeded
		c.Properties.ProvisioningErrors = nil
	})
}

// Failed marks the compute failed and removes what the attach installed,
// leaving the cluster as it was so a retry can attach.
func (k attachOp) Failed(ctx context.Context, op operation.Op, cause error) {
	if in, ok := k.m.computeFailed(ctx, op, cause); ok {
		if err := k.m.removeServices(ctx, in.ComputeID); err != nil {
			k.m.cfg.Log.Warn("failed to clean up a failed attach", "compute", in.ComputeID, "err", err)
		}
	}
}

// detachOp removes kubeml's services from a compute's cluster; the
// detached compute leaves the workspace.
type detachOp struct{ m *Manager }

// Run removes the services (forgetting the compute anyway when forced)
// and deletes the compute.
func (k detachOp) Run(ctx context.Context, op operation.Op, _ operation.Journal, _ operation.Progress) error {
	m := k.m
	var in clusterInput
	if err := json.Unmarshal(op.Input, &in); err != nil {
		return err
	}
	if err := m.removeServices(ctx, in.ComputeID); err != nil {
		if !in.Force {
			return fmt.Errorf("%w (detach with --force to forget the compute anyway)", err)
		}
		m.cfg.Log.Warn("forced detach: could not clean the cluster", "compute", in.ComputeID, "err", err)
	}
	if err := m.cfg.Store.Delete(ctx, in.ComputeID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// Failed marks the compute failed.
func (k detachOp) Failed(ctx context.Context, op operation.Op, cause error) {
	k.m.computeFailed(ctx, op, cause)
}

func (m *Manager) updateComputeJSON(ctx context.Context, id string, fn func(*api.Compute)) error {
	return m.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var c api.Compute
		r, err := getJSON(ctx, tx, id, &c)
		if err != nil {
			return err
		}
		fn(&c)
		now := m.cfg.Now().UTC()
		c.Properties.ModifiedOn = &now
		return putJSON(ctx, tx, id, api.TypeCompute, r.Parent, &c)
	})
}

// computeFailed records on the compute why its operation failed, and
// returns the operation's input.
func (m *Manager) computeFailed(ctx context.Context, op operation.Op, cause error) (clusterInput, bool) {
	var in clusterInput
	if json.Unmarshal(op.Input, &in) != nil {
		return in, false
	}
	_ = m.updateComputeJSON(ctx, in.ComputeID, func(c *api.Compute) {
		c.Properties.ProvisioningState = api.StateFailed
		c.Properties.ProvisioningErrors = append(c.Properties.ProvisioningErrors, api.ProvisioningError{Error: ErrorDetail(cause)})
	})
	return in, true
}

// sslIn is the request's SSL configuration (with its secrets, which
// takeSSL moves out before the compute is stored).
func sslIn(c api.Compute) *api.SSLConfiguration {
	if c.Properties.Properties == nil {
		return nil
	}
	return c.Properties.Properties.SSLConfiguration
}
