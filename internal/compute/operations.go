package compute

import (
	"errors"

	"github.com/kubeml/kubeml/internal/operation"
)

// The manager's operation kinds.
const (
	kindClusterCreate = "managedCluster.create"
	kindClusterScale  = "managedCluster.scale"
	kindClusterDelete = "managedCluster.delete"
	kindClusterStart  = "managedCluster.start"
	kindComputeCreate = "compute.create"
	kindComputeScale  = "compute.scale"
	kindComputeDelete = "compute.delete"
	kindComputeAttach = "compute.attach"
	kindComputeDetach = "compute.detach"
)

// register adds the manager's operation kinds to its engine.
func (m *Manager) register() error {
	kinds := map[string]operation.Kind{
		kindClusterCreate: clusterOp{m, stepCreate},
		kindClusterScale:  clusterOp{m, stepScale},
		kindClusterStart:  clusterOp{m, stepStart},
		kindClusterDelete: clusterOp{m, stepDelete},
		kindComputeCreate: computeOp{m, stepCreate, true},
		kindComputeScale:  computeOp{m, stepScale, false},
		kindComputeDelete: computeOp{m, stepDelete, false},
		kindComputeAttach: attachOp{m},
		kindComputeDetach: detachOp{m},
	}
	var errs []error
	for name, k := range kinds {
		errs = append(errs, m.ops.Register(name, k))
	}
	return errors.Join(errs...)
}
