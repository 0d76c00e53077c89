// Package managedcluster keeps the managed cluster resources
// (Microsoft.ContainerService/managedClusters): it turns requests into
// provider specs, runs the operations that create, scale, start and
// delete clusters at their provider, and restarts stopped clusters when
// the server starts. Computes that the workspace creates run their
// cluster's steps through it.
package managedcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Config wires a Manager.
type Config struct {
	Store store.Store
	// Operations is the engine the cluster operations run on.
	Operations *operation.Engine
	Providers  provider.Registry
	// Locations maps each configured location to a provider name.
	Locations map[string]string
	Log       *slog.Logger
	Now       func() time.Time
	// InUse names the computes that use a cluster, read in the
	// transaction given; a cluster in use cannot be deleted.
	InUse func(ctx context.Context, tx store.Tx, clusterID string) ([]string, error)
}

// Manager creates, scales, starts, reads and deletes managed clusters.
type Manager struct {
	cfg Config
	ops *operation.Engine
}

// New returns a manager with its operation kinds registered.
func New(cfg Config) (*Manager, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Operations == nil || cfg.InUse == nil {
		return nil, errors.New("managedcluster: an operation engine and InUse are required")
	}
	m := &Manager{cfg: cfg, ops: cfg.Operations}
	kinds := map[string]operation.Kind{
		KindCreate: clusterOp{m, StepCreate},
		KindScale:  clusterOp{m, StepScale},
		KindStart:  clusterOp{m, StepStart},
		KindDelete: clusterOp{m, StepDelete},
	}
	var errs []error
	for name, k := range kinds {
		errs = append(errs, m.ops.Register(name, k))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// The operation kinds on managed clusters.
const (
	KindCreate = "managedCluster.create"
	KindScale  = "managedCluster.scale"
	KindDelete = "managedCluster.delete"
	KindStart  = "managedCluster.start"
)

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

// ProviderName maps a managed cluster id to its name at the provider: a
// DNS label, stable, and distinct for the same name in two resource groups.
func ProviderName(id api.ResourceID) string {
	n := strings.ToLower(strings.ReplaceAll(id.Name, "_", "-"))
	if len(n) > 24 {
		n = n[:24]
	}
	sum := sha256.Sum256([]byte(id.Key()))
	return strings.Trim(n, "-") + "-" + hex.EncodeToString(sum[:])[:6]
}

// RestartStopped starts clusters whose processes a reboot or crash
// stopped, except those the unfinished operations work on (they are left
// to them), so a restart of kubeml never leaves its clusters down.
func (m *Manager) RestartStopped(ctx context.Context, unfinished []operation.Op) error {
	busy := map[string]bool{}
	for _, op := range unfinished {
		busy[strings.ToLower(op.ResourceID)] = true
		var in Input
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
		if _, err := m.Start(ctx, id); err != nil {
			m.cfg.Log.Warn("failed to restart cluster", "cluster", mc.ID, "err", err)
		}
	}
	return nil
}

// Client returns a client for a managed cluster of this server,
// and the provider's view of it.
func (m *Manager) Client(ctx context.Context, cid api.ResourceID) (kubernetes.Interface, *provider.Cluster, error) {
	var mc api.ManagedCluster
	if _, err := store.GetJSON(ctx, m.cfg.Store, cid.String(), &mc); err != nil {
		return nil, nil, err
	}
	p, err := m.ProviderFor(mc.Location)
	if err != nil {
		return nil, nil, err
	}
	pc, err := p.Get(ctx, ProviderName(cid))
	if err != nil {
		return nil, nil, err
	}
	kc, err := p.Kubeconfig(ctx, ProviderName(cid))
	if err != nil {
		return nil, nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		return nil, nil, err
	}
	cfg.Timeout = 15 * time.Second
	cfg.QPS, cfg.Burst = 50, 100 // attach and detach make bursts of calls
	cs, err := kubernetes.NewForConfig(cfg)
	return cs, pc, err
}

// LocationOf is the first location the provider named serves, or "".
func (m *Manager) LocationOf(providerName string) string {
	for _, l := range m.Locations() {
		if m.cfg.Locations[l] == providerName {
			return l
		}
	}
	return ""
}
