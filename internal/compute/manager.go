package compute

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"time"

	"github.com/kubeml/kubeml/internal/attach"
	"github.com/kubeml/kubeml/internal/managedcluster"
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
	// Clusters keeps the managed clusters computes are made of.
	Clusters  *managedcluster.Manager
	Providers provider.Registry
	Log       *slog.Logger
	Now       func() time.Time
	// Rand supplies randomness for generated names.
	Rand func(b []byte)
	// ServerID names this server in the attachment records it writes.
	ServerID string
	// MinVersion and MaxVersion bound the Kubernetes minor versions that
	// attach accepts (attach.DefaultMinVersion, attach.DefaultMaxVersion).
	MinVersion, MaxVersion string
	// RouterImage is the router's image on clusters whose provider does
	// not preload kubeml's own (DefaultRouterImage).
	RouterImage string
}

// Manager manages computes. Its long
// operations run on the operation engine, which records each before its
// work starts and resumes those a crash interrupted.
type Manager struct {
	cfg      Config
	ops      *operation.Engine
	clusters *managedcluster.Manager
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
		cfg.MinVersion, cfg.MaxVersion = attach.DefaultMinVersion, attach.DefaultMaxVersion
	}
	if cfg.RouterImage == "" {
		cfg.RouterImage = DefaultRouterImage
	}
	if cfg.Operations == nil || cfg.Clusters == nil {
		return nil, errors.New("compute: an operation engine and a managed cluster manager are required")
	}
	m := &Manager{cfg: cfg, ops: cfg.Operations, clusters: cfg.Clusters}
	if err := m.register(); err != nil {
		return nil, err
	}
	return m, nil
}

// record writes op and the resource writes of fn in one transaction, then
// starts op.
func (m *Manager) record(ctx context.Context, kind, resourceID string, input any, fn func(tx store.Tx) error) (string, error) {
	return m.ops.Record(ctx, kind, resourceID, input, fn)
}
