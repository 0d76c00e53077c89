package compute

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
)

// Config wires a Manager.
type Config struct {
	Store     store.Store
	Providers provider.Registry
	// Locations maps each configured location to a provider name.
	Locations map[string]string
	Log       *slog.Logger
	Now       func() time.Time
	// Rand supplies randomness for generated names and ids.
	Rand func(b []byte)
	// MaxAttempts bounds how often an operation is started (resumes after
	// crashes included) before it is failed. Default 3.
	MaxAttempts int
	// ServerID names this server in the attachment records it writes.
	ServerID string
	// MinVersion and MaxVersion bound the Kubernetes minor versions that
	// attach accepts (DefaultMinVersion, DefaultMaxVersion).
	MinVersion, MaxVersion string
	// RouterImage is the router's image on clusters whose provider does
	// not preload kubeml's own (DefaultRouterImage).
	RouterImage string
}

// Manager runs the workspace's long operations. Each is recorded in the
// store before its work starts; Resume picks up those a crash interrupted.
type Manager struct {
	cfg     Config
	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
	ctx     context.Context
	kinds   map[string]Kind
}

// NewManager returns a manager; call Resume once to start its work.
func NewManager(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = func(b []byte) { _, _ = rand.Read(b) }
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.MinVersion == "" {
		cfg.MinVersion, cfg.MaxVersion = DefaultMinVersion, DefaultMaxVersion
	}
	if cfg.RouterImage == "" {
		cfg.RouterImage = DefaultRouterImage
	}
	return &Manager{cfg: cfg, running: map[string]bool{}, ctx: context.Background()}
}

// APIError is an error a client caused or must know about, with its HTTP
// status and ARM error detail.
type APIError struct {
	Status int
	api.ErrorDetail
}

func (e *APIError) Error() string {
	msgs := []string{e.Message}
	for _, d := range e.Details {
		msgs = append(msgs, d.Message)
	}
	return e.Code + ": " + strings.Join(msgs, "; ")
}

func apiErr(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, ErrorDetail: api.ErrorDetail{Code: code, Message: fmt.Sprintf(format, args...)}}
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
		return nil, apiErr(http.StatusBadRequest, "UnknownLocation", "location %q is not configured; configured locations: %s", location, strings.Join(m.Locations(), ", "))
	}
	return m.cfg.Providers.Get(name)
}

// Resume starts every operation a previous run left in progress, and
// makes the manager run new ones under ctx. Call it once.
func (m *Manager) Resume(ctx context.Context) error {
	m.ctx = ctx
	ops, err := m.cfg.Store.Operations(ctx, api.StatusInProgress)
	if err != nil {
		return fmt.Errorf("failed to list unfinished operations: %w", err)
	}
	busy := map[string]bool{}
	for _, op := range ops {
		m.cfg.Log.Info("resuming operation", "id", op.ID, "kind", op.Kind, "resource", op.ResourceID, "attempt", op.Attempts+1)
		busy[strings.ToLower(op.ResourceID)] = true
		var in clusterInput
		if json.Unmarshal(op.Input, &in) == nil {
			busy[strings.ToLower(in.ClusterID)] = true
		}
		m.start(op)
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
func (m *Manager) Wait() { m.wg.Wait() }

// record writes op and the resource writes of fn in one transaction, then
// starts op.
func (m *Manager) record(ctx context.Context, kind, resourceID string, input any, fn func(tx store.Tx) error) (string, error) {
	in, err := json.Marshal(input)
	if err != nil {
		return "", err
	}
	op := store.Operation{ID: m.newID(), Kind: kind, ResourceID: resourceID, Status: api.StatusInProgress, Input: in, Created: m.cfg.Now(), Updated: m.cfg.Now()}
	err = m.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.CreateOperation(ctx, op)
	})
	if err != nil {
		return "", err
	}
	m.start(op)
	return op.ID, nil
}

func (m *Manager) newID() string {
	b := make([]byte, 16)
	m.cfg.Rand(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// start runs op in the background unless it runs already.
func (m *Manager) start(op store.Operation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running[op.ID] {
		return
	}
	m.running[op.ID] = true
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer func() { m.mu.Lock(); delete(m.running, op.ID); m.mu.Unlock() }()
		m.execute(op)
	}()
}

// execute runs one operation to its end and records the outcome.
func (m *Manager) execute(op store.Operation) {
	ctx := m.ctx
	op.Attempts++
	op.Updated = m.cfg.Now()
	if err := m.cfg.Store.UpdateOperation(ctx, op); err != nil {
		m.cfg.Log.Error("failed to record operation start", "id", op.ID, "err", err)
		return
	}
	var err error
	if op.Attempts > m.cfg.MaxAttempts {
		err = fmt.Errorf("gave up after %d attempts", m.cfg.MaxAttempts)
	} else {
		err = m.run(ctx, op)
	}
	if ctx.Err() != nil {
		return // the server is stopping: the next run resumes it
	}
	if cur, err := m.cfg.Store.GetOperation(ctx, op.ID); err == nil {
		op.Input = cur.Input // keep the checkpoints the run journaled
	}
	op.Updated = m.cfg.Now()
	op.Status = api.StatusSucceeded
	if err != nil {
		op.Status = api.StatusFailed
		op.Error, _ = json.Marshal(errorDetail(err))
		m.cfg.Log.Warn("operation failed", "id", op.ID, "kind", op.Kind, "resource", op.ResourceID, "err", err)
		m.failed(ctx, op, err)
	} else {
		m.cfg.Log.Info("operation succeeded", "id", op.ID, "kind", op.Kind, "resource", op.ResourceID)
	}
	if uerr := m.cfg.Store.UpdateOperation(context.WithoutCancel(ctx), op); uerr != nil {
		m.cfg.Log.Error("failed to record operation end", "id", op.ID, "err", uerr)
	}
}

// errorDetail turns an error into the ARM error an operation reports.
func errorDetail(err error) api.ErrorDetail {
	var ae *APIError
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
	op, err := m.cfg.Store.GetOperation(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &api.Operation{ID: id, Name: id, Status: op.Status, StartTime: &op.Created, Properties: operationProperties(op.Input)}
	if op.Status != api.StatusInProgress {
		out.EndTime = &op.Updated
	}
	if len(op.Error) > 0 {
		var d api.ErrorDetail
		if json.Unmarshal(op.Error, &d) == nil {
			out.Error = &d
		}
	}
	return out, nil
}

func (m *Manager) run(ctx context.Context, op store.Operation) error {
	switch op.Kind {
	case kindClusterCreate, kindClusterScale, kindClusterDelete, kindClusterStart:
		return m.runCluster(ctx, op)
	case kindComputeCreate, kindComputeScale, kindComputeDelete, kindComputeAttach, kindComputeDetach:
		return m.runCompute(ctx, op)
	}
	if k, ok := m.kinds[op.Kind]; ok {
		return k.Run(ctx, op)
	}
	return fmt.Errorf("unknown operation kind %q", op.Kind)
}

func (m *Manager) failed(ctx context.Context, op store.Operation, err error) {
	if k, ok := m.kinds[op.Kind]; ok && k.Failed != nil {
		k.Failed(ctx, op, err)
		return
	}
	switch op.Kind {
	case kindClusterCreate, kindClusterScale, kindClusterDelete, kindClusterStart:
		m.clusterFailed(ctx, op, err)
	case kindComputeCreate, kindComputeScale, kindComputeDelete, kindComputeAttach, kindComputeDetach:
		m.computeFailed(ctx, op, err)
	}
}

// busy reports whether a provisioning state means an operation runs.
func busy(state string) bool {
	return state == api.StateCreating || state == api.StateDeleting || state == api.StateUpdating
}

// errBusy refuses a change while an operation runs on the resource.
func errBusy(kind, name, state string) error {
	return apiErr(http.StatusConflict, "OperationNotAllowed", "%s %s is %s; wait for that to finish", kind, name, state)
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
