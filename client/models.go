package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/kubeml/kubeml/api"
)

// RegisterModelOptions are a model registration's settings.
type RegisterModelOptions struct {
	// Framework is onnx, xgboost or lightgbm; empty lets the server detect it.
	Framework   string
	FileName    string
	Description string
	Tags        map[string]string
}

func modelsPath(ws api.ResourceID, parts ...string) string {
	return idPath(ws) + segs(append([]string{"models"}, parts...)...)
}

// RegisterModel uploads body as the next version of model name. The
// server loads it with the runtime that will serve it and refuses a model
// it cannot load, saying why.
func (c *Client) RegisterModel(ctx context.Context, ws api.ResourceID, name string, body io.Reader, o RegisterModelOptions) (*api.ModelVersion, error) {
	q := url.Values{}
	for k, v := range map[string]string{"framework": o.Framework, "fileName": o.FileName, "description": o.Description} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, v := range o.Tags {
		q.Add("tag", k+"="+v)
	}
	resp, err := c.raw(ctx, http.MethodPost, modelsPath(ws, name, "versions"), q, body, "application/octet-stream")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var mv api.ModelVersion
	if err := json.NewDecoder(resp.Body).Decode(&mv); err != nil {
		return nil, fmt.Errorf("register model %s: decoding the response: %w", name, err)
	}
	return &mv, nil
}

// GetModel reads one version of a model; version 0 is the latest.
func (c *Client) GetModel(ctx context.Context, ws api.ResourceID, name string, version int) (*api.ModelVersion, error) {
	var mv api.ModelVersion
	_, err := c.Do(ctx, http.MethodGet, modelsPath(ws, name, "versions", versionSeg(version)), nil, nil, &mv)
	return &mv, err
}

// ListModels lists a model's versions, or with name "" the latest
// version of every model of the workspace.
func (c *Client) ListModels(ctx context.Context, ws api.ResourceID, name string) ([]api.ModelVersion, error) {
	p := idPath(ws) + segs("models")
	if name != "" {
		p = modelsPath(ws, name, "versions")
	}
	var l api.ModelVersionList
	_, err := c.Do(ctx, http.MethodGet, p, nil, nil, &l)
	return l.Value, err
}

// DeleteModel deletes a model version; the server refuses while a web
// service deploys it.
func (c *Client) DeleteModel(ctx context.Context, ws api.ResourceID, name string, version int) error {
	_, err := c.Do(ctx, http.MethodDelete, modelsPath(ws, name, "versions", versionSeg(version)), nil, nil, nil)
	return err
}

// DownloadModel writes a model version's file to w and returns the
// version; the bytes are checked against the registered SHA-256.
func (c *Client) DownloadModel(ctx context.Context, ws api.ResourceID, name string, version int, w io.Writer) (*api.ModelVersion, error) {
	mv, err := c.GetModel(ctx, ws, name, version)
	if err != nil {
		return nil, err
	}
	resp, err := c.raw(ctx, http.MethodGet, modelsPath(ws, name, "versions", strconv.Itoa(mv.Properties.Version), "content"), nil, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	h := newSHA256()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	if err != nil {
		return nil, fmt.Errorf("download model %s: %w", name, err)
	}
	if got := h.hex(); got != mv.Properties.SHA256 || n != mv.Properties.Size {
		return nil, fmt.Errorf("download model %s version %d: got %d bytes with sha256 %s, want %d bytes with %s", name, mv.Properties.Version, n, got, mv.Properties.Size, mv.Properties.SHA256)
	}
	return mv, nil
}

func versionSeg(v int) string {
	if v <= 0 {
		return "latest"
	}
	return strconv.Itoa(v)
}
