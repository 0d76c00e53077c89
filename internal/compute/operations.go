package compute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/managedcluster"
	"github.com/kubeml/kubeml/internal/operation"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
)

// The manager's operation kinds.
const (
	kindComputeCreate = "compute.create"
	kindComputeScale  = "compute.scale"
	kindComputeDelete = "compute.delete"
	kindComputeAttach = "compute.attach"
	kindComputeDetach = "compute.detach"
)

// input is what a compute operation needs to run (or resume): its
// cluster's operation input and the compute's own.
type input struct {
	managedcluster.Input
	ComputeID string `json:"computeId"`
	Purpose   string `json:"purpose,omitempty"` // create and attach
	Scoped    bool   `json:"scoped,omitempty"`  // Kubernetes attach: use kubeml's own account
	Force     bool   `json:"force,omitempty"`   // detach: even when the cluster cannot be cleaned
}

// register adds the manager's operation kinds to its engine.
func (m *Manager) register() error {
	kinds := map[string]operation.Kind{
		kindComputeCreate: computeOp{m, managedcluster.StepCreate, true},
		kindComputeScale:  computeOp{m, managedcluster.StepScale, false},
		kindComputeDelete: computeOp{m, managedcluster.StepDelete, false},
		kindComputeAttach: attachOp{m},
		kindComputeDetach: detachOp{m},
	}
	var errs []error
	for name, k := range kinds {
		errs = append(errs, m.ops.Register(name, k))
	}
	return errors.Join(errs...)
}

// computeOp is an operation on a created compute: one provider step on
// its cluster, then the compute's record (and for a create, kubeml's
// services in the new cluster).
type computeOp struct {
	m      *Manager
	step   managedcluster.Step
	create bool
}

// Run carries out the step, then records the compute's new state.
func (k computeOp) Run(ctx context.Context, op operation.Op, j operation.Journal, progress operation.Progress) error {
	m := k.m
	var in input
	if err := json.Unmarshal(op.Input, &in); err != nil {
		return err
	}
	_, clusterID, c, err := m.clusters.Provision(ctx, op, k.step, j, progress)
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
	if err := m.clusters.Ready(ctx, clusterID, c); err != nil {
		return err
	}
	if k.create {
		if err := m.installRouter(ctx, in.ComputeID, in.Purpose); err != nil {
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
	m.clusters.MarkFailed(ctx, op, cause)
}

// attachOp installs the scoring router in an attached compute's cluster.
type attachOp struct{ m *Manager }

// Run scopes the credentials if asked, installs the router and marks
// the compute Succeeded.
func (k attachOp) Run(ctx context.Context, op operation.Op, _ operation.Journal, _ operation.Progress) error {
	m := k.m
	var in input
	if err := json.Unmarshal(op.Input, &in); err != nil {
		return err
	}
	if in.Scoped {
		if err := m.scopeCredentials(ctx, in.ComputeID); err != nil {
			return err
		}
	}
	if err := m.installRouter(ctx, in.ComputeID, in.Purpose); err != nil {
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
		if err := k.m.removeRouter(ctx, in.ComputeID); err != nil {
			k.m.cfg.Log.Warn("failed to clean up a failed attach", "compute", in.ComputeID, "err", err)
		}
	}
}

// detachOp removes the router and the attachment record from a compute's
// cluster; the detached compute leaves the workspace.
type detachOp struct{ m *Manager }

// Run removes them (forgetting the compute anyway when forced)
// and deletes the compute.
func (k detachOp) Run(ctx context.Context, op operation.Op, _ operation.Journal, _ operation.Progress) error {
	m := k.m
	var in input
	if err := json.Unmarshal(op.Input, &in); err != nil {
		return err
	}
	if err := m.removeRouter(ctx, in.ComputeID); err != nil {
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
