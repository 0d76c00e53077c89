package compute

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/operation"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
)

// Config wires a Manager.
type Config struct {
	Store store.Store
	// Operations is the engine the manager's operations run on; the
	// manager registers its kinds there.
	Operations *operation.Engine
	Providers  provider.Registry
	// Locations maps each configured location to a provider name.
	Locations map[string]string
	Log       *slog.Logger
	Now       func() time.Time
	// Rand supplies randomness for generated names.
	Rand func(b []byte)
	// ServerID names this server in the attachment records it writes.
	ServerID string
	// MinVersion and MaxVersion bound the Kubernetes minor versions that
	// attach accepts (DefaultMinVersion, DefaultMaxVersion).
	MinVersion, MaxVersion string
	// RouterImage is the router's image on clusters whose provider does
	// not preload kubeml's own (DefaultRouterImage).
	RouterImage string
}

// Manager manages workspaces, managed clusters and computes. Its long
// operations run on the operation engine, which records each before its
// work starts and resumes those a crash interrupted.
type Manager struct {
	cfg Config
	ops *operation.Engine
}

// NewManager returns a manager with its operation kinds registered on
// cfg.Operations; call Resume once to start the work.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = func(b []byte) { _, _ = rand.Read(b) }
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MinVersion == "" {
		cfg.MinVersion, cfg.MaxVersion = DefaultMinVersion, DefaultMaxVersion
	}
	if cfg.RouterImage == "" {
		cfg.RouterImage = DefaultRouterImage
	}
	if cfg.Operations == nil {
		return nil, errors.New("compute: no operation engine")
	}
	m := &Manager{cfg: cfg, ops: cfg.Operations}
	if err := m.register(); err != nil {
		return nil, err
	}
	return m, nil
}

// Locations lists the configured locations, sorted.
func (m *Manager) Locations() []string {
	out := make([]string, 0, len(m.cfg.Locations))
	for l := range m.cfg.Locations {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// ProviderFor returns the provider serving a location.
func (m *Manager) ProviderFor(location string) (provider.Provider, error) {
	name, ok := m.cfg.Locations[strings.ToLower(location)]
	if !ok {
		return nil, fault.New(fault.Invalid, "UnknownLocation", "location %q is not configured; configured locations: %s", location, strings.Join(m.Locations(), ", "))
	}
	return m.cfg.Providers.Get(name)
}

// Resume starts every operation a previous run left in progress (of
// every kind on the engine), makes the engine run new ones under ctx,
// and restarts stopped clusters. Call it once.
func (m *Manager) Resume(ctx context.Context) error {
	ops, err := m.ops.Resume(ctx)
	if err != nil {
		return err
	}
	busy := map[string]bool{}
	for _, op := range ops {
		busy[strings.ToLower(op.ResourceID)] = true
		var in clusterInput
		if json.Unmarshal(op.Input, &in) == nil {
			busy[strings.ToLower(in.ClusterID)] = true
		}
	}
	return m.restartStopped(ctx, busy)
}

// restartStopped starts clusters whose processes a reboot or crash
// stopped (those with an operation running are left to it), so a restart
// of kubeml never leaves its clusters down.
func (m *Manager) restartStopped(ctx context.Context, busy map[string]bool) error {
	rs, _, err := m.cfg.Store.List(ctx, api.TypeManagedCluster, "", 0, 0)
	if err != nil {
		return err
	}
	for _, r := range rs {
		var mc api.ManagedCluster
		if json.Unmarshal(r.Body, &mc) != nil || mc.Properties.ProvisioningState != api.StateSucceeded || busy[strings.ToLower(mc.ID)] {
			continue
		}
		id, err := api.ParseResourceID(mc.ID)
		if err != nil {
			continue
		}
		p, err := m.ProviderFor(mc.Location)
		if err != nil {
			continue
		}
		if c, err := p.Get(ctx, ProviderName(id)); err != nil || c.State == provider.StateRunning {
			continue
		}
		if _, ok := p.(provider.Resumer); !ok {
			continue
		}
		if r, ok := p.(provider.Remote); ok && r.Remote() {
			continue // a cloud cluster someone stopped stays stopped
		}
		m.cfg.Log.Info("restarting a stopped cluster", "cluster", mc.ID)
		if _, err := m.StartCluster(ctx, id); err != nil {
			m.cfg.Log.Warn("failed to restart cluster", "cluster", mc.ID, "err", err)
		}
	}
	return nil
}

// Wait waits for running operations (after the Resume context is done).
func (m *Manager) Wait() { m.ops.Drain() }

// record writes op and the resource writes of fn in one transaction, then
// starts op.
func (m *Manager) record(ctx context.Context, kind, resourceID string, input any, fn func(tx store.Tx) error) (string, error) {
	return m.ops.Record(ctx, kind, resourceID, input, fn)
}

// ErrorDetail turns an error into the ARM error an operation reports.
func ErrorDetail(err error) api.ErrorDetail {
	var ae *fault.Error
	if errors.As(err, &ae) {
		return ae.ErrorDetail
	}
	var ce *provider.CodedError
	if errors.As(err, &ce) {
		return api.ErrorDetail{Code: ce.Code, Message: ce.Message}
	}
	code := "OperationFailed"
	if errors.Is(err, provider.ErrInvalid) {
		code = "InvalidClusterSpec"
	}
	return api.ErrorDetail{Code: code, Message: err.Error()}
}

// Operation returns an operation's status in ARM shape.
func (m *Manager) Operation(ctx context.Context, id string) (*api.Operation, error) {
	return m.ops.Get(ctx, id)
}

// busy reports whether a provisioning state means an operation runs.
func busy(state string) bool {
	return state == api.StateCreating || state == api.StateDeleting || state == api.StateUpdating
}

// errBusy refuses a change while an operation runs on the resource.
func errBusy(kind, name, state string) error {
	return fault.New(fault.Conflict, "OperationNotAllowed", "%s %s is %s; wait for that to finish", kind, name, state)
}

// getJSON reads a stored resource into v.
func getJSON(ctx context.Context, tx store.Tx, id string, v any) (store.Resource, error) {
	r, err := tx.Get(ctx, id)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(r.Body, v)
}

// putJSON writes v as the resource id.
func putJSON(ctx context.Context, tx store.Tx, id, typ, parent string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = tx.Put(ctx, store.Resource{ID: id, Type: typ, Parent: parent, Body: b}, "")
	return err
}
