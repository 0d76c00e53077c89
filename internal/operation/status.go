package operation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/store"
)

// storeJournal keeps an operation's checkpoints in the store's table of
// them, so an update of the operation's row can never lose one. It reads
// them once, when the attempt starts, so a failed read fails the attempt
// instead of looking like a fresh start.
type storeJournal struct {
	ctx context.Context
	s   store.Store
	id  string
	mu  sync.Mutex
	cps map[string]string
}

func (j *storeJournal) Load(key string) (string, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	v, ok := j.cps[key]
	return v, ok
}

func (j *storeJournal) Save(key, value string) error {
	if err := j.s.SaveCheckpoint(j.ctx, j.id, key, value); err != nil {
		return err
	}
	j.mu.Lock()
	j.cps[key] = value
	j.mu.Unlock()
	return nil
}

// Get returns an operation's status in ARM shape, with the progress and
// warnings its run reported.
func (e *Engine) Get(ctx context.Context, id string) (*api.Operation, error) {
	op, err := e.cfg.Store.GetOperation(ctx, id)
	if err != nil {
		return nil, err
	}
	cps, err := e.cfg.Store.Checkpoints(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &api.Operation{ID: id, Name: id, Status: op.Status, StartTime: &op.Created, Properties: properties(cps)}
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

// properties is what an operation status shows of its checkpoints.
func properties(cps map[string]string) *api.OperationProperties {
	p := &api.OperationProperties{Progress: cps[progressKey]}
	if w := cps[warningsKey]; w != "" {
		p.Warnings = strings.Split(w, "\n")
	}
	if p.Progress == "" && p.Warnings == nil {
		return nil
	}
	return p
}

// Wait returns an operation once it has ended, polling the store every
// interval (so it also sees operations another server runs), or ctx's
// error.
func (e *Engine) Wait(ctx context.Context, id string, interval time.Duration) (*api.Operation, error) {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		e.mu.Lock()
		done := e.running[id]
		e.mu.Unlock()
		op, err := e.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if op.Status != api.StatusInProgress {
			return op, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("failed to wait for operation %s: %w", id, ctx.Err())
		case <-done: // nil when not running here: waits for the tick
		case <-t.C:
		}
	}
}

// IsNotFound reports whether err says an operation does not exist.
func IsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
