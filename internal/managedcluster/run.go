package managedcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/operation"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
)

// Input is what a cluster operation needs to run (or resume). Compute
// operations embed it in their own input.
type Input struct {
	ClusterID string        `json:"clusterId"`
	Provider  string        `json:"provider"`
	Spec      provider.Spec `json:"spec"`
	Count     int           `json:"count,omitempty"` // scale
}

// Provision decodes a cluster or compute operation and carries out its
// step at the provider; each step is idempotent, so a resumed operation
// picks up where the last run stopped. For deletes the cluster is nil.
func (m *Manager) Provision(ctx context.Context, op operation.Op, step Step, j operation.Journal, progress operation.Progress) (Input, api.ResourceID, *provider.Cluster, error) {
	var in Input
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
	c, err := step(ctx, provider.Bind(p, j), in, provider.Progress(progress))
	if c != nil {
		_ = operation.Warn(j, c.Warnings)
	}
	return in, id, c, err
}

// Step is what an operation on a cluster asks of its provider.
type Step func(ctx context.Context, p provider.Provider, in Input, progress provider.Progress) (*provider.Cluster, error)

func StepCreate(ctx context.Context, p provider.Provider, in Input, progress provider.Progress) (*provider.Cluster, error) {
	return ensureCluster(ctx, p, in.Spec, progress)
}

func StepScale(ctx context.Context, p provider.Provider, in Input, progress provider.Progress) (*provider.Cluster, error) {
	return p.Scale(ctx, in.Spec.Name, in.Count, progress)
}

func StepStart(ctx context.Context, p provider.Provider, in Input, progress provider.Progress) (*provider.Cluster, error) {
	return startCluster(ctx, p, in.Spec.Name, progress)
}

// StepDelete returns no cluster: it is gone.
func StepDelete(ctx context.Context, p provider.Provider, in Input, progress provider.Progress) (*provider.Cluster, error) {
	if err := p.Delete(ctx, in.Spec.Name, progress); err != nil && !errors.Is(err, provider.ErrNotFound) {
		return nil, err
	}
	return nil, nil
}

// clusterOp is an operation on a managed cluster: one provider step, then
// the cluster's record.
type clusterOp struct {
	m    *Manager
	step Step
}

// Run carries out the step and records the cluster.
func (k clusterOp) Run(ctx context.Context, op operation.Op, j operation.Journal, progress operation.Progress) error {
	m := k.m
	_, id, c, err := m.Provision(ctx, op, k.step, j, progress)
	switch {
	case err != nil:
		return err
	case c == nil: // deleted; a resumed delete finds the row gone
		if err := m.cfg.Store.Delete(ctx, id.String()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	return m.Ready(ctx, id, c)
}

// Failed records why on the cluster.
func (k clusterOp) Failed(ctx context.Context, op operation.Op, cause error) {
	k.m.MarkFailed(ctx, op, cause)
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

// Ready records a cluster the provider reports made or scaled.
func (m *Manager) Ready(ctx context.Context, id api.ResourceID, c *provider.Cluster) error {
	return m.cfg.Store.Update(ctx, func(tx store.Tx) error {
		var mc api.ManagedCluster
		if _, err := store.GetJSON(ctx, tx, id.String(), &mc); err != nil {
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
		return store.PutJSON(ctx, tx, id.String(), api.TypeManagedCluster, api.ResourceGroupID(id.Subscription, id.ResourceGroup), &mc)
	})
}

// MarkFailed records why a cluster operation failed.
func (m *Manager) MarkFailed(ctx context.Context, op operation.Op, cause error) {
	var in Input
	if json.Unmarshal(op.Input, &in) != nil {
		return
	}
	_ = m.cfg.Store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		var mc api.ManagedCluster
		r, err := store.GetJSON(ctx, tx, in.ClusterID, &mc)
		if err != nil {
			return err
		}
		mc.Properties.ProvisioningState = api.StateFailed
		d := fault.Detail(cause)
		mc.Properties.ProvisioningError = &d
		return store.PutJSON(ctx, tx, in.ClusterID, api.TypeManagedCluster, r.Parent, &mc)
	})
}

// SetState marks the cluster row of a compute operation, in the
// operation's transaction, so nothing else starts on the cluster meanwhile.
func SetState(ctx context.Context, tx store.Tx, clusterID, state string) error {
	var mc api.ManagedCluster
	r, err := store.GetJSON(ctx, tx, clusterID, &mc)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	mc.Properties.ProvisioningState = state
	return store.PutJSON(ctx, tx, clusterID, r.Type, r.Parent, &mc)
}
