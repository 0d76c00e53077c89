package webservice

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/compute"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/operation"
	"github.com/kubeml/kubeml/internal/store"
)

// Operation kinds.
const (
	kindDeploy = "service.deploy"
	kindDelete = "service.delete"
)

// Models is the registry as web services need it.
type Models interface {
	Get(ctx context.Context, ws api.ResourceID, name string, version int) (*api.ModelVersion, error)
	Open(ctx context.Context, ws api.ResourceID, name string, version int) (io.ReadCloser, *api.ModelVersion, error)
}

// Manager creates, updates and deletes web services.
type Manager struct {
	Ops     *operation.Engine
	Compute *compute.Manager
	Store   store.Store
	Models  Models
	Now     func() time.Time
	// TokenLife is how long a token is valid (default 1 hour).
	TokenLife time.Duration
}

// New returns a manager and registers its operation kinds on ops (call
// it before the engine resumes).
func New(ops *operation.Engine, cm *compute.Manager, st store.Store, models Models) (*Manager, error) {
	m := &Manager{Ops: ops, Compute: cm, Store: st, Models: models, Now: time.Now, TokenLife: time.Hour}
	err := errors.Join(
		ops.Register(kindDeploy, operation.Funcs{RunFunc: m.runDeploy, FailedFunc: m.deployFailed}),
		ops.Register(kindDelete, operation.Funcs{RunFunc: m.runDelete, FailedFunc: m.deployFailed}))
	if err != nil {
		return nil, err
	}
	return m, nil
}

// input is what a service operation needs to run or resume.
type input struct {
	ServiceID string `json:"serviceId"`
	ComputeID string `json:"computeId"`
}

func serviceID(ws api.ResourceID, name string) string { return ws.String() + "/services/" + name }

// parseServiceID reads a service id as the (compute-shaped) id the
// manager's methods take: the workspace and the service's name.
func parseServiceID(s string) (api.ResourceID, error) {
	i := strings.LastIndex(strings.ToLower(s), "/services/")
	if i < 0 {
		return api.ResourceID{}, fmt.Errorf("invalid service id %q", s)
	}
	ws, err := api.ParseResourceID(s[:i])
	if err != nil {
		return ws, fmt.Errorf("invalid service id %q: %w", s, err)
	}
	return api.ComputeID(ws.Subscription, ws.ResourceGroup, ws.Name, s[i+len("/services/"):]), nil
}

func workspaceOf(id api.ResourceID) api.ResourceID {
	return api.WorkspaceID(id.Subscription, id.ResourceGroup, id.Name)
}

// Secrets of a service: its keys (JSON api.ServiceKeys) and token key.
func keysSecret(id string) string  { return id + "/keys" }
func tokenSecret(id string) string { return id + "/tokenkey" }

func newKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Get returns a service.
func (m *Manager) Get(ctx context.Context, id api.ResourceID) (*api.Service, error) {
	var s api.Service
	r, err := m.Store.Get(ctx, serviceID(workspaceOf(id), id.ChildName))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "ServiceNotFound", "service %s not found in workspace %s", id.ChildName, id.Name)
	}
	if err != nil {
		return nil, err
	}
	return &s, json.Unmarshal(r.Body, &s)
}

// List returns a workspace's services.
func (m *Manager) List(ctx context.Context, ws api.ResourceID) ([]api.Service, error) {
	rs, _, err := m.Store.List(ctx, api.TypeService, ws.String(), 0, 0)
	if err != nil {
		return nil, err
	}
	out := []api.Service{}
	for _, r := range rs {
		var s api.Service
		if json.Unmarshal(r.Body, &s) == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// ModelInUse names the services of the model version's workspace that
// deploy it; the registry refuses to delete it meanwhile.
func ModelInUse(ctx context.Context, tx store.Tx, modelVersionID string) ([]string, error) {
	i := strings.Index(strings.ToLower(modelVersionID), "/models/")
	if i < 0 {
		return nil, nil
	}
	ws, rest := modelVersionID[:i], modelVersionID[i+len("/models/"):]
	name, ver, _ := strings.Cut(rest, "/versions/")
	rs, _, err := tx.List(ctx, api.TypeService, ws, 0, 0)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, r := range rs {
		var s api.Service
		if json.Unmarshal(r.Body, &s) != nil {
			continue
		}
		p, _ := makePlan(s.Name, &s.Properties)
		for _, v := range p.Versions {
			if strings.EqualFold(v.Model.Name, name) && fmt.Sprint(v.Model.Version) == ver {
				users = append(users, s.Name)
				break
			}
		}
	}
	return users, nil
}
