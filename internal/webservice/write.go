package webservice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/compute"
	"github.com/kubeml/kubeml/internal/deploy"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/store"
)

// CreateOrUpdate validates a service request (every problem at once),
// checks that its models exist and, for new versions, that the cluster
// has room for them, then records the service and the deploy operation.
func (m *Manager) CreateOrUpdate(ctx context.Context, id api.ResourceID, s api.Service) (*api.Service, string, bool, error) {
	ws := workspaceOf(id)
	sid := serviceID(ws, id.ChildName)
	cur, err := m.Get(ctx, id)
	var ae *fault.Error
	if err != nil && !(errors.As(err, &ae) && ae.Kind == fault.NotFound) {
		return nil, "", false, err
	}
	if cur != nil {
		if s.Properties.ComputeName == "" {
			s.Properties.ComputeName = cur.Properties.ComputeName
		}
		if s.Properties.Namespace == "" {
			s.Properties.Namespace = cur.Properties.Namespace
		}
	}
	asked := s.Properties.Namespace
	p, ps := makePlan(id.ChildName, &s.Properties)
	if cur != nil {
		if !strings.EqualFold(cur.Properties.ComputeName, s.Properties.ComputeName) {
			ps.add("ComputeChange", "properties.computeName", "service %s runs on compute %s; it cannot move to %s: delete it and deploy again", id.ChildName, cur.Properties.ComputeName, s.Properties.ComputeName)
		}
		if old, _ := makePlan(cur.Name, &cur.Properties); old.Namespace != p.Namespace {
			ps.add("NamespaceChange", "properties.namespace", "service %s runs in namespace %s; it cannot move to %s", id.ChildName, old.Namespace, p.Namespace)
		}
	}
	for _, v := range p.Versions {
		if v.Model.Name == "" {
			continue
		}
		if _, err := m.Models.Get(ctx, ws, v.Model.Name, v.Model.Version); err != nil {
			ps.add("ModelNotFound", "properties.versions."+v.Name+".models", "model %s version %d is not registered in workspace %s", v.Model.Name, v.Model.Version, ws.Name)
		}
	}
	if len(ps) > 0 {
		return nil, "", false, &fault.Error{Kind: fault.Invalid, ErrorDetail: api.ErrorDetail{Code: "InvalidDeploymentConfiguration",
			Message: summary(ps), Details: ps}}
	}
	computeID := api.ComputeID(id.Subscription, id.ResourceGroup, id.Name, s.Properties.ComputeName)
	c, cs, _, err := m.Compute.ComputeClient(ctx, computeID)
	if err != nil {
		return nil, "", false, err
	}
	if c.Properties.ProvisioningState != api.StateSucceeded {
		return nil, "", false, fault.New(fault.Conflict, "ComputeNotReady", "compute %s is %s", c.Name, c.Properties.ProvisioningState)
	}
	if asked == "" {
		p.Namespace = compute.WorkloadNamespace(c)
	}
	ns, scoped, err := m.Compute.ScopedNamespace(ctx, c)
	if err != nil {
		return nil, "", false, err
	}
	if scoped && p.Namespace != ns {
		return nil, "", false, fault.New(fault.Invalid, "InvalidNamespace", "compute %s holds rights in namespace %s only (its scoped credentials, set at attach): deploy there, or attach the cluster again with --namespace %s",
			c.Name, ns, p.Namespace)
	}
	if err := m.checkCapacity(ctx, cs, cur, p); err != nil {
		return nil, "", false, err
	}
	now := m.Now().UTC()
	out := s
	out.ID, out.Name, out.Type = sid, id.ChildName, api.TypeService
	out.Properties.ComputeType, out.Properties.Namespace = c.Properties.ComputeType, p.Namespace
	out.Properties.State, out.Properties.Error = "Transitioning", nil
	out.Properties.ScoringURI, out.Properties.SwaggerURI = "", ""
	out.Properties.UpdatedOn = &now
	out.Properties.ProvisioningState = api.StateCreating
	out.SystemData = &api.SystemData{CreatedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application", LastModifiedAt: &now}
	out.Properties.CreatedOn = &now
	if cur != nil {
		out.Properties.ProvisioningState, out.SystemData, out.Properties.CreatedOn = api.StateUpdating, cur.SystemData, cur.Properties.CreatedOn
		out.Properties.ScoringURI, out.Properties.SwaggerURI = cur.Properties.ScoringURI, cur.Properties.SwaggerURI
	}
	in := input{ServiceID: sid, ComputeID: computeID.String()}
	opID, err := m.Ops.Record(ctx, kindDeploy, sid, in, func(tx store.Tx) error {
		if _, err := tx.Get(ctx, ws.String()); err != nil {
			return err
		}
		for _, v := range p.Versions { // a model deleted meanwhile fails here
			if _, err := tx.Get(ctx, ws.String()+"/models/"+v.Model.Name+"/versions/"+fmt.Sprint(v.Model.Version)); err != nil {
				return fault.New(fault.Invalid, "ModelNotFound", "model %s version %d is not registered", v.Model.Name, v.Model.Version)
			}
		}
		b, _ := json.Marshal(out)
		if cur == nil {
			keys, _ := json.Marshal(api.ServiceKeys{PrimaryKey: newKey(), SecondaryKey: newKey()})
			if err := tx.PutSecret(ctx, keysSecret(sid), keys); err != nil {
				return err
			}
			if err := tx.PutSecret(ctx, tokenSecret(sid), []byte(newKey())); err != nil {
				return err
			}
			_, err := tx.Create(ctx, store.Resource{ID: sid, Type: api.TypeService, Parent: ws.String(), Body: b})
			return err
		}
		return busyPut(ctx, tx, sid, b)
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, "", false, fault.New(fault.Conflict, "Conflict", "service %s is being created by another request", id.ChildName)
	}
	if err != nil {
		return nil, "", false, err
	}
	return &out, opID, cur == nil, nil
}

// busyPut replaces a service unless an operation runs on it.
func busyPut(ctx context.Context, tx store.Tx, id string, body []byte) error {
	r, err := tx.Get(ctx, id)
	if err != nil {
		return err
	}
	var s api.Service
	if err := json.Unmarshal(r.Body, &s); err != nil {
		return err
	}
	switch s.Properties.ProvisioningState {
	case api.StateCreating, api.StateUpdating, api.StateDeleting:
		return fault.New(fault.Conflict, "OperationInProgress", "service %s is %s: wait for it to finish", s.Name, s.Properties.ProvisioningState)
	}
	r.Body = body
	_, err = tx.Put(ctx, r, "")
	return err
}

func summary(ps problems) string {
	msgs := make([]string, 0, len(ps))
	for _, p := range ps {
		msgs = append(msgs, p.Message)
	}
	return fmt.Sprintf("the deployment configuration has %d problem(s): %s", len(ps), strings.Join(msgs, "; "))
}

// Delete starts deleting a service from its cluster and the workspace.
func (m *Manager) Delete(ctx context.Context, id api.ResourceID) (string, error) {
	cur, err := m.Get(ctx, id)
	if err != nil {
		return "", err
	}
	cur.Properties.ProvisioningState, cur.Properties.State = api.StateDeleting, "Transitioning"
	b, _ := json.Marshal(cur)
	in := input{ServiceID: cur.ID, ComputeID: api.ComputeID(id.Subscription, id.ResourceGroup, id.Name, cur.Properties.ComputeName).String()}
	return m.Ops.Record(ctx, kindDelete, cur.ID, in, func(tx store.Tx) error { return busyPut(ctx, tx, cur.ID, b) })
}

// checkCapacity refuses versions the cluster has no room for, before
// anything is created; versions already running are not counted again.
func (m *Manager) checkCapacity(ctx context.Context, cs clusterClient, cur *api.Service, p plan) error {
	running := map[string]bool{}
	if cur != nil {
		old, _ := makePlan(cur.Name, &cur.Properties)
		for _, v := range old.Versions {
			running[v.Name] = true
		}
	}
	var needs []deploy.Need
	for _, v := range p.Versions {
		if !running[v.Name] {
			needs = append(needs, deploy.Need{CPU: cpuQuantity(v.CPU), Memory: memoryQuantity(v.MemoryGB), Replicas: v.Replicas})
		}
	}
	if len(needs) == 0 {
		return nil
	}
	if err := deploy.CheckCapacity(ctx, cs, needs); err != nil {
		var ce *deploy.CapacityError
		if errors.As(err, &ce) {
			return fault.New(fault.Invalid, "InsufficientCapacity", "%v", err)
		}
		return fmt.Errorf("failed to check the cluster's capacity: %w", err)
	}
	return nil
}
