// Package workspace keeps the workspace resources
// (Microsoft.MachineLearningServices/workspaces): created and changed at
// once, without an operation, and deleted only when no compute is left in
// them.
package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/store"
)

// Manager creates, reads and deletes workspaces.
type Manager struct {
	Store store.Store
	Now   func() time.Time
	// Rand supplies the randomness of workspace ids.
	Rand func(b []byte)
	// Locations lists the configured locations; a workspace made without
	// one takes the first.
	Locations func() []string
	// CheckLocation refuses a location that is not configured.
	CheckLocation func(location string) error
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$`)

// Put creates or updates a workspace (at once: no operation).
func (m *Manager) Put(ctx context.Context, id api.ResourceID, ws api.Workspace) (*api.Workspace, bool, error) {
	if !nameRE.MatchString(id.Name) {
		return nil, false, fault.New(fault.Invalid, "InvalidResourceName", "workspace name %q must be 3-33 letters, digits, '-' or '_', starting with a letter or digit", id.Name)
	}
	if ws.Location != "" {
		if err := m.CheckLocation(ws.Location); err != nil {
			return nil, false, err
		}
	}
	var out api.Workspace
	created := false
	err := m.Store.Update(ctx, func(tx store.Tx) error {
		now := m.Now().UTC()
		if _, err := store.GetJSON(ctx, tx, id.String(), &out); errors.Is(err, store.ErrNotFound) {
			created = true
			out = api.Workspace{ID: id.String(), Name: id.Name, Type: api.TypeWorkspace,
				SystemData: &api.SystemData{CreatedAt: &now, CreatedBy: "kubeml", CreatedByType: "Application"}}
			var b [16]byte
			m.Rand(b[:])
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
		_, err := tx.Put(ctx, store.Resource{ID: id.String(), Type: api.TypeWorkspace, Parent: api.ResourceGroupID(id.Subscription, id.ResourceGroup), Body: b}, "")
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return &out, created, nil
}

// Get returns a workspace.
func (m *Manager) Get(ctx context.Context, id api.ResourceID) (*api.Workspace, error) {
	var ws api.Workspace
	if _, err := store.GetJSON(ctx, m.Store, id.String(), &ws); err != nil {
		return nil, err
	}
	return &ws, nil
}

// List lists a resource group's workspaces.
func (m *Manager) List(ctx context.Context, sub, rg string) ([]api.Workspace, error) {
	rs, _, err := m.Store.List(ctx, api.TypeWorkspace, api.ResourceGroupID(sub, rg), 0, 0)
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

// Delete deletes an empty workspace; one with computes is refused
// so that nothing is lost. The check and the delete are one transaction,
// and every compute write checks its workspace in its own.
func (m *Manager) Delete(ctx context.Context, id api.ResourceID) error {
	return m.Store.Update(ctx, func(tx store.Tx) error {
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

// Require fails a compute write whose workspace is gone; call it in the
// write's transaction.
func Require(ctx context.Context, tx store.Tx, computeID api.ResourceID) error {
	ws := api.WorkspaceID(computeID.Subscription, computeID.ResourceGroup, computeID.Name)
	if _, err := tx.Get(ctx, ws.String()); errors.Is(err, store.ErrNotFound) {
		return fault.New(fault.NotFound, "ParentResourceNotFound", "workspace %s not found in resource group %s", computeID.Name, computeID.ResourceGroup)
	} else if err != nil {
		return err
	}
	return nil
}
