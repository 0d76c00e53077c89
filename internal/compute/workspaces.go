package compute

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/store"
)

var workspaceNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$`)

// PutWorkspace creates or updates a workspace (at once: no operation).
func (m *Manager) PutWorkspace(ctx context.Context, id api.ResourceID, ws api.Workspace) (*api.Workspace, bool, error) {
	if !workspaceNameRE.MatchString(id.Name) {
		return nil, false, fault.New(fault.Invalid, "InvalidResourceName", "workspace name %q must be 3-33 letters, digits, '-' or '_', starting with a letter or digit", id.Name)
	}
	if ws.Location != "" {
		if _, err := m.ProviderFor(ws.Location); err != nil {
			return nil, false, err
		}
	}
	var out api.Workspace
	created := false
	err := m.cfg.Store.Update(ctx, func(tx store.Tx) error {
		now := m.cfg.Now().UTC()
		if _, err := getJSON(ctx, tx, id.String(), &out); errors.Is(err, store.ErrNotFound) {
			created = true
			out = api.Workspace{ID: id.String(), Name: id.Name, Type: api.TypeWorkspace,
				SystemData: &api.SystemData{CreatedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application"}}
			var b [16]byte
			m.cfg.Rand(b[:])
			out.Properties.WorkspaceID = api.GUID(b)
		} else if err != nil {
			return err
		}
		out.Location, out.Tags = strings.ToLower(ws.Location), ws.Tags
		if out.Location == "" {
			if locs := m.Locations(); len(locs) > 0 {
				out.Location = locs[0]
			}
		}
		out.Properties.Description, out.Properties.FriendlyName = ws.Properties.Description, ws.Properties.FriendlyName
		out.Properties.ProvisioningState = api.StateSucceeded
		out.SystemData.LastModifiedAt = &now
		b, _ := json.Marshal(out)
		_, err := tx.Put(ctx, store.Resource{ID: id.String(), Type: api.TypeWorkspace, Parent: resourceGroupID(id.Subscription, id.ResourceGroup), Body: b}, "")
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return &out, created, nil
}

// GetWorkspace returns a workspace.
func (m *Manager) GetWorkspace(ctx context.Context, id api.ResourceID) (*api.Workspace, error) {
	var ws api.Workspace
	if _, err := getJSON(ctx, m.cfg.Store, id.String(), &ws); err != nil {
		return nil, err
	}
	return &ws, nil
}

// ListWorkspaces lists a resource group's workspaces.
func (m *Manager) ListWorkspaces(ctx context.Context, sub, rg string) ([]api.Workspace, error) {
	rs, _, err := m.cfg.Store.List(ctx, api.TypeWorkspace, resourceGroupID(sub, rg), 0, 0)
	if err != nil {
		return nil, err
	}
	out := []api.Workspace{}
	for _, r := range rs {
		var ws api.Workspace
		if json.Unmarshal(r.Body, &ws) == nil {
			out = append(out, ws)
		}
	}
	return out, nil
}

// DeleteWorkspace deletes an empty workspace; one with computes is refused
// so that nothing is lost. The check and the delete are one transaction,
// and every compute write checks its workspace in its own.
func (m *Manager) DeleteWorkspace(ctx context.Context, id api.ResourceID) error {
	return m.cfg.Store.Update(ctx, func(tx store.Tx) error {
		_, n, err := tx.List(ctx, api.TypeCompute, id.String(), 0, 1)
		if err != nil {
			return err
		}
		if n > 0 {
			return fault.New(fault.Conflict, "WorkspaceNotEmpty", "workspace %s still has %d compute(s): delete or detach them first", id.Name, n)
		}
		return tx.Delete(ctx, id.String())
	})
}

// requireWorkspace fails a compute write whose workspace is gone.
func requireWorkspace(ctx context.Context, tx store.Tx, computeID api.ResourceID) error {
	ws := api.WorkspaceID(computeID.Subscription, computeID.ResourceGroup, computeID.Name)
	if _, err := tx.Get(ctx, ws.String()); errors.Is(err, store.ErrNotFound) {
		return fault.New(fault.NotFound, "ParentResourceNotFound", "workspace %s not found in resource group %s", computeID.Name, computeID.ResourceGroup)
	} else if err != nil {
		return err
	}
	return nil
}
