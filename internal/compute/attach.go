package compute

import (
	"context"
	"errors"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/managedcluster"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
	"github.com/kubeml/kubeml/internal/workspace"
)

// attachSource is one way an attach request names its cluster: a managed
// cluster of this server, a kubeconfig, or a cluster of a provider that
// imports clusters (AKS). Every source shares one path after it:
// preflight, claim, record, and release if the record fails.
type attachSource interface {
	// resolve validates the request and returns what to attach, touching
	// nothing in the cluster.
	resolve(ctx context.Context, m *Manager, id api.ResourceID, c api.Compute) (*attachPlan, error)
}

// attachPlan is a resolved attach.
type attachPlan struct {
	// compute is the compute to record (Creating).
	compute *api.Compute
	// cs reaches the cluster.
	cs kubernetes.Interface
	// kubeconfig is the credentials the compute keeps (encrypted); nil
	// for this server's managed clusters, whose provider hands them out.
	kubeconfig []byte
	// extra are the source's own checks for the preflight report.
	extra []api.PreflightCheck
	// input is what the attach operation needs to run.
	input input
	// guard, if set, runs in the transaction that records the compute.
	guard func(ctx context.Context, tx store.Tx) error
}

// sourceFor picks how c names its cluster: a Kubernetes compute by
// kubeconfig, otherwise by resource id (a provider's cluster when no
// managed cluster of this server has that id).
func (m *Manager) sourceFor(ctx context.Context, c api.Compute) attachSource {
	if strings.EqualFold(c.Properties.ComputeType, api.ComputeKubernetes) {
		return kubeconfigSource{}
	}
	if imp := m.importerFor(ctx, c.Properties.ResourceID); imp != nil {
		return importSource{imp}
	}
	return managedSource{}
}

// report runs the preflight of a plan against its cluster.
func (m *Manager) report(ctx context.Context, id api.ResourceID, plan *attachPlan) *api.PreflightReport {
	p := plan.compute.Properties.Properties
	rep := m.preflight(ctx, plan.cs, id, attach.PreflightOptions{Purpose: p.ClusterPurpose, Namespace: p.Namespace, Scoped: plan.input.Scoped})
	rep.Checks = append(rep.Checks, plan.extra...)
	return rep
}

// PreflightCompute runs an attach's checks and returns the report without
// attaching (the API's dryRun).
func (m *Manager) PreflightCompute(ctx context.Context, id api.ResourceID, c api.Compute) (*api.PreflightReport, error) {
	plan, err := m.sourceFor(ctx, c).resolve(ctx, m, id, c)
	if err != nil {
		return nil, err
	}
	return m.report(ctx, id, plan), nil
}

// attach makes a compute of an existing cluster: the preflight checks run
// against the live cluster and the cluster is claimed (exactly one of
// concurrent attaches wins) before anything is recorded; the router is
// installed by the operation.
func (m *Manager) attach(ctx context.Context, id api.ResourceID, c api.Compute) (*api.Compute, string, error) {
	plan, err := m.sourceFor(ctx, c).resolve(ctx, m, id, c)
	if err != nil {
		return nil, "", err
	}
	if err := m.takeBackOrphanedClaim(ctx, plan.cs); err != nil {
		return nil, "", err
	}
	out, p := plan.compute, plan.compute.Properties.Properties
	p.Preflight = m.report(ctx, id, plan)
	if err := preflightError(p.Preflight); err != nil {
		return nil, "", err
	}
	if plan.kubeconfig != nil && (p.AgentCount == nil || *p.AgentCount == 0) {
		n := p.Preflight.Nodes // a cluster kubeml did not make: count what is there
		p.AgentCount = &n
	}
	att := m.attachment(id)
	claimed, err := attach.ClaimNew(ctx, plan.cs, att)
	if err != nil {
		if errors.Is(err, attach.ErrAttached) {
			return nil, "", fault.New(fault.Conflict, "AlreadyAttached", "%v", err)
		}
		return nil, "", err
	}
	pem := takeSSL(p)
	opID, err := m.record(ctx, kindComputeAttach, id.String(), plan.input, func(tx store.Tx) error {
		if err := workspace.Require(ctx, tx, id); err != nil {
			return err
		}
		if plan.guard != nil {
			if err := plan.guard(ctx, tx); err != nil {
				return err
			}
		}
		if err := store.CreateJSON(ctx, tx, id.String(), api.TypeCompute, workspaceKey(id), out); err != nil {
			return err
		}
		if pem != nil {
			if err := tx.PutSecret(ctx, sslSecret(id.String()), pem); err != nil {
				return err
			}
		}
		if plan.kubeconfig != nil {
			return tx.PutSecret(ctx, kubeconfigSecret(id.String()), plan.kubeconfig)
		}
		return nil
	})
	if err != nil {
		if claimed { // a concurrent request for this compute may own the record otherwise
			_ = attach.Release(context.WithoutCancel(ctx), plan.cs, att)
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, "", fault.New(fault.Conflict, "Conflict", "compute %s exists already or is being created by another request", id.ChildName)
		}
		return nil, "", err
	}
	return out, opID, nil
}

// claimGrace is how old this server's claim on a cluster must be, with
// no compute of its name recorded, before an attach takes it back: a
// server that stopped between claiming the cluster and recording the
// compute (milliseconds apart) left it, and nothing else would remove it.
const claimGrace = time.Minute

// takeBackOrphanedClaim releases the cluster's attachment record when it
// is this server's, older than claimGrace, for a compute the server has
// no record of.
func (m *Manager) takeBackOrphanedClaim(ctx context.Context, cs kubernetes.Interface) error {
	cur, err := attach.ReadAttachment(ctx, cs)
	if err != nil || cur == nil || cur.ServerID != m.cfg.ServerID || m.cfg.Now().Sub(cur.Time) < claimGrace {
		return err
	}
	ws, err := api.ParseResourceID(cur.WorkspaceID)
	if err != nil {
		return nil // not a record this server wrote
	}
	cid := api.ComputeID(ws.Subscription, ws.ResourceGroup, ws.Name, cur.ComputeName)
	if _, err := m.cfg.Store.Get(ctx, cid.String()); !errors.Is(err, store.ErrNotFound) {
		return err // the compute exists (nil), or the store failed
	}
	m.cfg.Log.Warn("taking back this server's claim on a cluster: no compute was recorded for it", "compute", cid.String(), "claimed", cur.Time)
	if err := attach.Release(ctx, cs, *cur); err != nil && !errors.Is(err, attach.ErrAttached) {
		return err // a concurrent attach that took it first wins: its claim answers this one with 409
	}
	return nil
}

// checkAttachRequest runs the attach chain on the request.
func (m *Manager) checkAttachRequest(ctx context.Context, id api.ResourceID, c *api.Compute) error {
	taken, err := m.computeNames(ctx, id)
	if err != nil {
		return err
	}
	return validation(AttachChecks().Run(&Request{Name: id.ChildName, Compute: c, Taken: func(n string) bool { return taken[strings.ToLower(n)] },
		Locations: m.clusters.Locations(), VMSizes: memoSizes(m.sizes(ctx))}))
}

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
	if _, err := store.GetJSON(ctx, m.cfg.Store, cid.String(), &mc); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault.New(fault.NotFound, "ResourceNotFound", "managed cluster %s not found", cid.String())
		}
		return nil, err
	}
	if mc.Properties.ProvisioningState != api.StateSucceeded {
		return nil, fault.New(fault.Conflict, "ClusterNotReady", "managed cluster %s is %s", cid.Name, mc.Properties.ProvisioningState)
	}
	cs, _, err := m.clusters.Client(ctx, cid)
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
		input: input{Input: managedcluster.Input{ClusterID: cid.String(), Spec: provider.Spec{Name: managedcluster.ProviderName(cid)}}, ComputeID: id.String(), Purpose: purpose},
		guard: func(ctx context.Context, tx store.Tx) error {
			if users, err := ComputesUsing(ctx, tx, cid.String()); err != nil {
				return err
			} else if len(users) > 0 {
				return fault.New(fault.Conflict, "AlreadyAttached", "managed cluster %s is already attached as %s: detach it there first", cid.Name, strings.Join(users, ", "))
			}
			return nil
		}}, nil
}
