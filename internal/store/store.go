// Package store keeps the workspace server's state: ARM resources as JSON
// documents keyed by their lower-cased id, long-running operations, and
// secrets encrypted at rest. Store is the interface; the embedded
// implementation is SQLite (modernc.org/sqlite, pure Go), and a
// PostgreSQL one can satisfy the same interface.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: Create of an existing id, or Put whose ifMatch etag is
	// stale.
	ErrConflict = errors.New("conflict")
)

// Resource is one stored ARM resource.
type Resource struct {
	ID     string // the id as given (canonical casing); keyed lower-cased
	Type   string // e.g. api.TypeCompute
	Parent string // parent id (workspace of a compute); "" for top level
	Body   json.RawMessage
	ETag   string // changes on every write
}

// Operation is a long-running operation: written before its work starts,
// so a restarted server finds and resumes it.
type Operation struct {
	ID         string // e.g. a UUID; unique
	Kind       string // e.g. "compute.create"
	ResourceID string // the resource it works on
	Status     string // api.StatusInProgress, Succeeded, Failed, Canceled
	Input      json.RawMessage
	Error      json.RawMessage // api.ErrorDetail when Failed
	Attempts   int             // times a worker started it
	Created    time.Time
	Updated    time.Time
}

// Tx reads and writes in one transaction.
type Tx interface {
	Get(ctx context.Context, id string) (Resource, error)
	// List returns resources of typ under parent ("" = any parent) in id
	// order, skipping skip and returning at most limit (0 = all), and the
	// total count.
	List(ctx context.Context, typ, parent string, skip, limit int) ([]Resource, int, error)
	// Create stores a new resource; ErrConflict if the id exists.
	Create(ctx context.Context, r Resource) (etag string, err error)
	// Put creates or replaces; ifMatch "" means unconditional, else it must
	// equal the current etag (ErrConflict otherwise, ErrNotFound if absent).
	Put(ctx context.Context, r Resource, ifMatch string) (etag string, err error)
	// Delete removes the resource (and its secrets); ErrNotFound if absent.
	Delete(ctx context.Context, id string) error

	CreateOperation(ctx context.Context, op Operation) error
	UpdateOperation(ctx context.Context, op Operation) error
	GetOperation(ctx context.Context, id string) (Operation, error)
	// Operations returns operations in the given status ("" = all), oldest first.
	Operations(ctx context.Context, status string) ([]Operation, error)
	// SaveCheckpoint sets one checkpoint of an operation (ErrNotFound if
	// the operation is absent); Checkpoints returns them all.
	SaveCheckpoint(ctx context.Context, opID, key, value string) error
	Checkpoints(ctx context.Context, opID string) (map[string]string, error)

	// PutSecret stores data encrypted under name (e.g. "<id>/kubeconfig").
	PutSecret(ctx context.Context, name string, data []byte) error
	GetSecret(ctx context.Context, name string) ([]byte, error)
	DeleteSecret(ctx context.Context, name string) error
}

// Store is the server's state. Its own methods each run in a transaction
// of their own; Update runs several in one.
type Store interface {
	Tx
	// Update runs fn in one read-write transaction, committed if fn returns
	// nil and rolled back otherwise.
	Update(ctx context.Context, fn func(Tx) error) error
	Close() error
}
