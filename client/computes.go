package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/kubeml/kubeml/api"
)

func computePath(id api.ResourceID) (string, error) {
	if err := checkID(id, api.NamespaceML, "workspaces", "computes"); err != nil {
		return "", err
	}
	return idPath(id), nil
}

// BeginCreateOrUpdateCompute PUTs a compute: it creates one (no
// properties.resourceId), attaches a cluster (properties.resourceId set)
// or updates one (e.g. a new agentCount). The poller waits for the
// operation and returns the compute.
func (c *Client) BeginCreateOrUpdateCompute(ctx context.Context, id api.ResourceID, comp api.Compute) (*Poller[api.Compute], error) {
	p, err := computePath(id)
	if err != nil {
		return nil, err
	}
	var out api.Compute
	resp, err := c.Do(ctx, http.MethodPut, p, nil, comp, &out)
	if err != nil {
		return nil, err
	}
	return newPoller(c, resp, p, &out), nil
}

// GetCompute reads a compute (never its secrets).
func (c *Client) GetCompute(ctx context.Context, id api.ResourceID) (*api.Compute, error) {
	p, err := computePath(id)
	if err != nil {
		return nil, err
	}
	var out api.Compute
	if _, err := c.Do(ctx, http.MethodGet, p, nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListComputes lists a workspace's computes, following nextLink.
func (c *Client) ListComputes(ctx context.Context, sub, rg, ws string) ([]api.Compute, error) {
	return listAll[api.Compute](ctx, c, workspacePath(sub, rg, ws)+segs("computes"), nil)
}

// BeginDeleteCompute removes a compute: action api.ActionDelete deletes
// the cluster it created too, api.ActionDetach only detaches it. An absent
// compute is done at once. The server refuses while models are deployed
// on the cluster, unless Force is given.
func (c *Client) BeginDeleteCompute(ctx context.Context, id api.ResourceID, action string, opts ...DeleteOption) (*Poller[struct{}], error) {
	p, err := computePath(id)
	if err != nil {
		return nil, err
	}
	a, ok := api.DeleteAction(action)
	if !ok {
		return nil, fmt.Errorf("underlying resource action %q: want %s or %s", action, api.ActionDelete, api.ActionDetach)
	}
	q := url.Values{"underlyingResourceAction": {a}}
	for _, o := range opts {
		if o == Force {
			q.Set("force", "true")
		}
	}
	resp, err := c.Do(ctx, http.MethodDelete, p, q, nil, nil)
	if err != nil {
		return nil, err
	}
	return newPoller[struct{}](c, resp, "", nil), nil
}

// DeleteOption changes a compute delete or detach.
type DeleteOption int

// Force detaches or deletes a compute even while models are deployed on
// its cluster.
const Force DeleteOption = 1

// ListComputeKeys returns a compute's kubeconfigs and image pull secret.
func (c *Client) ListComputeKeys(ctx context.Context, id api.ResourceID) (*api.ComputeSecrets, error) {
	p, err := computePath(id)
	if err != nil {
		return nil, err
	}
	var out api.ComputeSecrets
	if _, err := c.Do(ctx, http.MethodPost, p+"/listKeys", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListComputeNodes returns a compute's nodes, every page.
func (c *Client) ListComputeNodes(ctx context.Context, id api.ResourceID) (*api.ComputeNodes, error) {
	p, err := computePath(id)
	if err != nil {
		return nil, err
	}
	all := &api.ComputeNodes{Nodes: []api.ComputeNode{}}
	for path, seen := p+"/listNodes", map[string]bool{}; path != ""; {
		if seen[path] {
			return nil, fmt.Errorf("listNodes: nextLink %q repeats", path)
		}
		seen[path] = true
		var pg api.ComputeNodes
		if _, err := c.Do(ctx, http.MethodPost, path, nil, nil, &pg); err != nil {
			return nil, err
		}
		all.Nodes = append(all.Nodes, pg.Nodes...)
		path = pg.NextLink
	}
	return all, nil
}
