package compute

import (
	"context"

	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/store"
)

// Kind is a kind of operation that another package runs on the
// manager's durable machinery (e.g. web service deploys): recorded with
// Record, resumed after a crash like the manager's own.
type Kind struct {
	// Run carries the operation out; it must be idempotent, since a
	// resumed operation runs it again.
	Run func(ctx context.Context, op store.Operation) error
	// Failed records why the operation failed (optional).
	Failed func(ctx context.Context, op store.Operation, err error)
}

// Handle registers a kind. Call it before Resume.
func (m *Manager) Handle(kind string, k Kind) {
	if m.kinds == nil {
		m.kinds = map[string]Kind{}
	}
	m.kinds[kind] = k
}

// Record writes an operation with fn's resource writes in one
// transaction and starts it.
func (m *Manager) Record(ctx context.Context, kind, resourceID string, input any, fn func(tx store.Tx) error) (string, error) {
	return m.record(ctx, kind, resourceID, input, fn)
}

// Progress returns a Progress that shows as the operation's progress.
func (m *Manager) Progress(opID string) provider.Progress {
	return opJournal{m: m, id: opID}.progress()
}

// ComputeClient returns a compute, a client for its cluster and kubeml's
// image there, refusing computes that are not ready or not healthy.
func (m *Manager) ComputeClient(ctx context.Context, id api.ResourceID) (*api.Compute, kubernetes.Interface, string, error) {
	c, err := m.GetCompute(ctx, id)
	if err != nil {
		return nil, nil, "", err
	}
	if err := healthy(c); err != nil {
		return nil, nil, "", err
	}
	cs, image, err := m.computeCluster(ctx, c)
	if err != nil {
		return nil, nil, "", err
	}
	return c, cs, image, nil
}
