package compute

import (
	"context"

	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/api"
)

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
