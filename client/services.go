package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/kubeml/kubeml/api"
)

func servicePath(ws api.ResourceID, name string, action ...string) string {
	return idPath(ws) + segs(append([]string{"services", name}, action...)...)
}

// BeginDeployService creates or updates a web service; the poller waits
// for its deploy and returns the service.
func (c *Client) BeginDeployService(ctx context.Context, ws api.ResourceID, name string, s api.Service) (*Poller[api.Service], error) {
	p := servicePath(ws, name)
	var out api.Service
	resp, err := c.Do(ctx, http.MethodPut, p, nil, s, &out)
	if err != nil {
		return nil, err
	}
	return newPoller(c, resp, p, &out), nil
}

// GetService reads a web service.
func (c *Client) GetService(ctx context.Context, ws api.ResourceID, name string) (*api.Service, error) {
	var out api.Service
	_, err := c.Do(ctx, http.MethodGet, servicePath(ws, name), nil, nil, &out)
	return &out, err
}

// ListServices lists a workspace's web services.
func (c *Client) ListServices(ctx context.Context, ws api.ResourceID) ([]api.Service, error) {
	var l api.ServiceList
	_, err := c.Do(ctx, http.MethodGet, idPath(ws)+segs("services"), nil, nil, &l)
	return l.Value, err
}

// BeginDeleteService deletes a web service from its cluster and the
// workspace.
func (c *Client) BeginDeleteService(ctx context.Context, ws api.ResourceID, name string) (*Poller[struct{}], error) {
	resp, err := c.Do(ctx, http.MethodDelete, servicePath(ws, name), nil, nil, nil)
	if err != nil {
		return nil, err
	}
	return newPoller[struct{}](c, resp, "", nil), nil
}

// ServiceKeys returns a service's keys.
func (c *Client) ServiceKeys(ctx context.Context, ws api.ResourceID, name string) (*api.ServiceKeys, error) {
	var k api.ServiceKeys
	_, err := c.Do(ctx, http.MethodPost, servicePath(ws, name, "listKeys"), nil, nil, &k)
	return &k, err
}

// RegenerateServiceKey replaces the Primary or Secondary key.
func (c *Client) RegenerateServiceKey(ctx context.Context, ws api.ResourceID, name, keyType string) (*api.ServiceKeys, error) {
	var k api.ServiceKeys
	_, err := c.Do(ctx, http.MethodPost, servicePath(ws, name, "regenerateKeys"), nil, map[string]string{"keyType": keyType}, &k)
	return &k, err
}

// ServiceToken returns a token for a service with token auth.
func (c *Client) ServiceToken(ctx context.Context, ws api.ResourceID, name string) (*api.ServiceToken, error) {
	var t api.ServiceToken
	_, err := c.Do(ctx, http.MethodPost, servicePath(ws, name, "token"), nil, nil, &t)
	return &t, err
}

// ServiceLogs returns the last lines of a version's model containers
// (the default version when version is "").
func (c *Client) ServiceLogs(ctx context.Context, ws api.ResourceID, name, version string, tail int) (string, error) {
	q := url.Values{"tail": {strconv.Itoa(tail)}}
	if version != "" {
		q.Set("version", version)
	}
	var out struct {
		Content string `json:"content"`
	}
	_, err := c.Do(ctx, http.MethodGet, servicePath(ws, name, "logs"), q, nil, &out)
	return out.Content, err
}
