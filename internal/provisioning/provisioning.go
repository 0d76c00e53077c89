// Package provisioning guards a resource's provisioningState: while an
// operation runs on a resource (Creating, Updating, Deleting), no other
// may start on it. The check and the write that starts an operation are
// one transaction.
package provisioning

import (
	"context"
	"encoding/json"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/fault"
	"github.com/kubeml/kubeml/internal/store"
)

// Busy reports whether a provisioning state means an operation runs.
func Busy(state string) bool {
	return state == api.StateCreating || state == api.StateDeleting || state == api.StateUpdating
}

// ErrBusy refuses a change while an operation runs on the resource.
func ErrBusy(kind, name, state string) error {
	return fault.New(fault.Conflict, "OperationNotAllowed", "%s %s is %s; wait for that to finish", kind, name, state)
}

// Transition returns a transaction step that writes v (the resource in
// its new, busy state) only if the stored resource is not busy, so two
// requests cannot both start an operation on one resource. kind names the
// resource in the refusal ("compute", "managed cluster").
func Transition(ctx context.Context, id, kind string, v any) func(tx store.Tx) error {
	return func(tx store.Tx) error {
		r, err := tx.Get(ctx, id)
		if err != nil {
			return err
		}
		var cur struct {
			Properties struct {
				ProvisioningState string `json:"provisioningState"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(r.Body, &cur); err != nil {
			return err
		}
		if s := cur.Properties.ProvisioningState; Busy(s) {
			return ErrBusy(kind, r.ID, s)
		}
		return store.PutJSON(ctx, tx, id, r.Type, r.Parent, v)
	}
}
