package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/store"
)

func notFound(format string, args ...any) error {
	return &fault.Error{Kind: fault.NotFound, ErrorDetail: api.ErrorDetail{Code: "ModelNotFound", Message: fmt.Sprintf(format, args...)}}
}

// ParseVersion reads a version in a path: a number, or "latest".
func ParseVersion(s string) (int, error) {
	if strings.EqualFold(s, "latest") {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		return 0, bad("InvalidModelVersion", "model version %q must be a positive number or latest", s)
	}
	return v, nil
}

func (r *Registry) get(ctx context.Context, ws api.ResourceID, name string, version int) (*stored, error) {
	if version == 0 {
		all, err := r.versions(ctx, ws, name)
		if err != nil {
			return nil, err
		}
		if len(all) == 0 {
			return nil, notFound("model %s has no versions in workspace %s", name, ws.Name)
		}
		return &all[len(all)-1], nil
	}
	res, err := r.Store.Get(ctx, versionID(ws, name, version))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("model %s version %d not found in workspace %s", name, version, ws.Name)
	}
	if err != nil {
		return nil, err
	}
	var mv stored
	if err := json.Unmarshal(res.Body, &mv); err != nil {
		return nil, err
	}
	return &mv, nil
}

// Get returns one version (0 = the latest).
func (r *Registry) Get(ctx context.Context, ws api.ResourceID, name string, version int) (*api.ModelVersion, error) {
	mv, err := r.get(ctx, ws, name, version)
	if err != nil {
		return nil, err
	}
	return &mv.ModelVersion, nil
}

// versions lists a model's versions, oldest first.
func (r *Registry) versions(ctx context.Context, ws api.ResourceID, name string) ([]stored, error) {
	rs, _, err := r.Store.List(ctx, api.TypeModelVersion, ModelID(ws, name), 0, 0)
	if err != nil {
		return nil, err
	}
	out := make([]stored, 0, len(rs))
	for _, res := range rs {
		var mv stored
		if json.Unmarshal(res.Body, &mv) == nil {
			out = append(out, mv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Properties.Version < out[j].Properties.Version })
	return out, nil
}

// List returns a model's versions, or with name "" the latest version of
// every model of the workspace.
func (r *Registry) List(ctx context.Context, ws api.ResourceID, name string) ([]api.ModelVersion, error) {
	out := []api.ModelVersion{}
	if name != "" {
		all, err := r.versions(ctx, ws, name)
		for _, mv := range all {
			out = append(out, mv.ModelVersion)
		}
		return out, err
	}
	rs, _, err := r.Store.List(ctx, api.TypeModelVersion, "", 0, 0)
	if err != nil {
		return nil, err
	}
	prefix := strings.ToLower(ws.String() + "/models/")
	latest := map[string]api.ModelVersion{}
	for _, res := range rs {
		var mv stored
		if !strings.HasPrefix(strings.ToLower(res.ID), prefix) || json.Unmarshal(res.Body, &mv) != nil {
			continue
		}
		k := strings.ToLower(mv.Properties.ModelName)
		if cur, ok := latest[k]; !ok || mv.Properties.Version > cur.Properties.Version {
			latest[k] = mv.ModelVersion
		}
	}
	for _, mv := range latest {
		out = append(out, mv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Properties.ModelName < out[j].Properties.ModelName })
	return out, nil
}

// Open returns a version's bytes.
func (r *Registry) Open(ctx context.Context, ws api.ResourceID, name string, version int) (io.ReadCloser, *api.ModelVersion, error) {
	mv, err := r.get(ctx, ws, name, version)
	if err != nil {
		return nil, nil, err
	}
	rc, err := r.Blobs.Open(ctx, mv.Blob)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to read model %s version %d: %w", name, mv.Properties.Version, err)
	}
	return rc, &mv.ModelVersion, nil
}

// Delete removes a version and its file, unless a web service deploys it.
func (r *Registry) Delete(ctx context.Context, ws api.ResourceID, name string, version int) error {
	mv, err := r.get(ctx, ws, name, version)
	if err != nil {
		return err
	}
	// The check and the delete are one transaction: a deploy records its
	// models in its own, so the two cannot pass each other.
	err = r.Store.Update(ctx, func(tx store.Tx) error {
		if r.InUse != nil {
			users, err := r.InUse(ctx, tx, mv.ID)
			if err != nil {
				return err
			}
			if len(users) > 0 {
				return &fault.Error{Kind: fault.Conflict, ErrorDetail: api.ErrorDetail{Code: "ModelInUse",
					Message: fmt.Sprintf("model %s version %d is deployed by %s: delete or update those services first", name, mv.Properties.Version, strings.Join(users, ", "))}}
			}
		}
		return tx.Delete(ctx, mv.ID)
	})
	if err != nil {
		return err
	}
	return r.Blobs.Delete(ctx, mv.Blob)
}
