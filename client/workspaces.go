package client

import (
	"context"
	"net/http"

	"github.com/kubeml/kubeml/api"
)

func workspacePath(sub, rg, name string) string { return idPath(api.WorkspaceID(sub, rg, name)) }

// CreateOrUpdateWorkspace creates or updates a workspace; the server
// answers at once.
func (c *Client) CreateOrUpdateWorkspace(ctx context.Context, sub, rg, name string, ws api.Workspace) (*api.Workspace, error) {
	var out api.Workspace
	if _, err := c.Do(ctx, http.MethodPut, workspacePath(sub, rg, name), nil, ws, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetWorkspace reads a workspace.
func (c *Client) GetWorkspace(ctx context.Context, sub, rg, name string) (*api.Workspace, error) {
	var out api.Workspace
	if _, err := c.Do(ctx, http.MethodGet, workspacePath(sub, rg, name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListWorkspaces lists the workspaces of a resource group, every page.
func (c *Client) ListWorkspaces(ctx context.Context, sub, rg string) ([]api.Workspace, error) {
	return listAll[api.Workspace](ctx, c, groupPath(sub, rg, api.NamespaceML)+segs("workspaces"), nil)
}

// DeleteWorkspace deletes a workspace, waiting if the server answers with
// an operation. Deleting an absent workspace is not an error.
func (c *Client) DeleteWorkspace(ctx context.Context, sub, rg, name string) error {
	resp, err := c.Do(ctx, http.MethodDelete, workspacePath(sub, rg, name), nil, nil, nil)
	if err != nil {
		return err
	}
	_, err = newPoller[struct{}](c, resp, "", nil).PollUntilDone(ctx, nil)
	return err
}
