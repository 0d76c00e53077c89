package compute

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/deploy"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/managedcluster"
	"github.com/kubeml/kubeml/internal/operation"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/provisioning"
	"github.com/kubeml/kubeml/internal/store"
)

// GetCompute returns a compute; secrets are never part of it.
func (m *Manager) GetCompute(ctx context.Context, id api.ResourceID) (*api.Compute, error) {
	var c api.Compute
	if _, err := store.GetJSON(ctx, m.cfg.Store, id.String(), &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteCompute detaches a compute (its cluster stays) or deletes it with
// the cluster the workspace created for it. It returns the operation
// started, or "" when it finished at once.
func (m *Manager) DeleteCompute(ctx context.Context, id api.ResourceID, given string, force bool) (string, error) {
	action, ok := api.DeleteAction(given)
	if !ok {
		return "", fault.New(fault.Invalid, "InvalidUnderlyingResourceAction", "underlyingResourceAction must be %s or %s, got %q", api.ActionDelete, api.ActionDetach, given)
	}
	var c api.Compute
	if _, err := store.GetJSON(ctx, m.cfg.Store, id.String(), &c); err != nil {
		return "", err
	}
	if s := c.Properties.ProvisioningState; provisioning.Busy(s) {
		return "", provisioning.ErrBusy("compute", id.ChildName, s)
	}
	if !force {
		if err := m.noLiveServices(ctx, &c); err != nil {
			return "", err
		}
	}
	if action == api.ActionDetach {
		c.Properties.ProvisioningState = api.StateDeleting
		in := input{Input: managedcluster.Input{ClusterID: c.Properties.ResourceID}, ComputeID: id.String(), Force: force}
		return m.record(ctx, kindComputeDetach, id.String(), in, provisioning.Transition(ctx, id.String(), "compute", &c))
	}
	if c.Properties.IsAttachedCompute {
		return "", fault.New(fault.Conflict, "AttachedComputeDelete", "compute %s is an attached cluster, which kubeml did not create and will not delete: detach it instead (underlyingResourceAction=Detach)", id.ChildName)
	}
	clusterID, p, err := m.computeProvider(&c)
	if err != nil {
		return "", err
	}
	c.Properties.ProvisioningState = api.StateDeleting
	in := input{Input: managedcluster.Input{ClusterID: clusterID.String(), Provider: p.Name(), Spec: provider.Spec{Name: managedcluster.ProviderName(clusterID)}}, ComputeID: id.String()}
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
	live, err := deploy.ServiceDeployments(ctx, cs, WorkloadNamespace(c))
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
	c, err := m.GetCompute(ctx, id)
	if err != nil {
		return nil, err
	}
	if kc, ok, err := m.storedKubeconfig(ctx, c); err != nil || ok { // attached by kubeconfig: what it keeps
		if err != nil {
			return nil, err
		}
		return &api.ComputeSecrets{ComputeType: api.ComputeAKS, UserKubeConfig: string(kc), AdminKubeConfig: string(kc)}, nil
	}
	cid, err := api.ParseResourceID(c.Properties.ResourceID)
	if err != nil {
		return nil, err
	}
	admin, err := m.clusters.Kubeconfig(ctx, cid)
	if err != nil {
		return nil, err
	}
	user, err := m.clusters.UserKubeconfig(ctx, cid)
	if fault.Is(err, fault.Invalid) || fault.Is(err, fault.Conflict) { // the provider has none apart from the admin's
		user, err = admin, nil
	}
	if err != nil {
		return nil, err
	}
	return &api.ComputeSecrets{ComputeType: api.ComputeAKS, UserKubeConfig: string(user), AdminKubeConfig: string(admin)}, nil
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
	return m.clusters.Kubeconfig(ctx, cid)
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

func (m *Manager) updateComputeJSON(ctx context.Context, id string, fn func(*api.Compute)) error {
	return m.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var c api.Compute
		r, err := store.GetJSON(ctx, tx, id, &c)
		if err != nil {
			return err
		}
		fn(&c)
		now := m.cfg.Now().UTC()
		c.Properties.ModifiedOn = &now
		return store.PutJSON(ctx, tx, id, api.TypeCompute, r.Parent, &c)
	})
}

// computeFailed records on the compute why its operation failed, and
// returns the operation's input.
func (m *Manager) computeFailed(ctx context.Context, op operation.Op, cause error) (input, bool) {
	var in input
	if json.Unmarshal(op.Input, &in) != nil {
		return in, false
	}
	_ = m.updateComputeJSON(ctx, in.ComputeID, func(c *api.Compute) {
		c.Properties.ProvisioningState = api.StateFailed
		c.Properties.ProvisioningErrors = append(c.Properties.ProvisioningErrors, api.ProvisioningError{Error: fault.Detail(cause)})
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
