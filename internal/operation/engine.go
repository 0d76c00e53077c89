package operation

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/store"
)

// Checkpoint keys the engine shows in an operation's status.
const (
	progressKey = "kubeml.progress"
	warningsKey = "kubeml.warnings"
)

// Config wires an Engine.
type Config struct {
	Store store.Store
	Log   *slog.Logger
	Now   func() time.Time
	// Rand supplies the randomness of operation ids.
	Rand func(b []byte)
	// MaxAttempts is the default attempt limit of a kind (default 3).
	MaxAttempts int
	// Describe turns a failed run's error into the ARM error the
	// operation reports (default: code "OperationFailed").
	Describe func(error) api.ErrorDetail
}

// Engine records, runs and resumes operations.
type Engine struct {
	cfg     Config
	kinds   map[string]Kind
	mu      sync.Mutex
	ctx     context.Context
	running map[string]chan struct{} // closed when the run ends
	wg      sync.WaitGroup
}

// New returns an engine; register every kind, then call Resume once.
func New(cfg Config) *Engine {
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
	if cfg.Describe == nil {
		cfg.Describe = func(err error) api.ErrorDetail { return api.ErrorDetail{Code: "OperationFailed", Message: err.Error()} }
	}
	return &Engine{cfg: cfg, kinds: map[string]Kind{}, running: map[string]chan struct{}{}, ctx: context.Background()}
}

// Register adds a kind under its name. A name registers once.
func (e *Engine) Register(name string, k Kind) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.kinds[name]; ok {
		return fmt.Errorf("operation kind %q is registered twice", name)
	}
	e.kinds[name] = k
	return nil
}

// Kinds lists the registered kinds, sorted.
func (e *Engine) Kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.kinds))
	for k := range e.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Resume starts every operation a previous run left in progress, and
// makes the engine run new ones under ctx. It returns the resumed
// operations. Call it once, after registering the kinds.
func (e *Engine) Resume(ctx context.Context) ([]Op, error) {
	e.mu.Lock()
	e.ctx = ctx
	e.mu.Unlock()
	ops, err := e.cfg.Store.Operations(ctx, api.StatusInProgress)
	if err != nil {
		return nil, fmt.Errorf("failed to list unfinished operations: %w", err)
	}
	for _, op := range ops {
		e.cfg.Log.Info("resuming operation", "id", op.ID, "kind", op.Kind, "resource", op.ResourceID, "attempt", op.Attempts+1)
		e.start(op)
	}
	return ops, nil
}

// Drain waits for the running operations to end (after the Resume
// context is done, they stop where they are and resume next time).
func (e *Engine) Drain() { e.wg.Wait() }

// Record writes an operation of kind on resourceID, with fn's resource
// writes, in one transaction, then starts it. It refuses a kind that is
// not registered.
func (e *Engine) Record(ctx context.Context, kind, resourceID string, input any, fn func(tx store.Tx) error) (string, error) {
	e.mu.Lock()
	_, ok := e.kinds[kind]
	e.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("failed to record operation: kind %q is not registered", kind)
	}
	in, err := json.Marshal(input)
	if err != nil {
		return "", fmt.Errorf("failed to record operation %s: %w", kind, err)
	}
	now := e.cfg.Now()
	op := Op{ID: e.newID(), Kind: kind, ResourceID: resourceID, Status: api.StatusInProgress, Input: in, Created: now, Updated: now}
	err = e.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if fn != nil {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return tx.CreateOperation(ctx, op)
	})
	if err != nil {
		return "", err
	}
	e.start(op)
	return op.ID, nil
}

func (e *Engine) newID() string {
	var b [16]byte
	e.cfg.Rand(b[:])
	return api.GUID(b)
}

// start runs op in the background unless it runs already.
func (e *Engine) start(op Op) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.running[op.ID]; ok {
		return
	}
	done := make(chan struct{})
	e.running[op.ID] = done
	ctx := e.ctx
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() { e.mu.Lock(); delete(e.running, op.ID); e.mu.Unlock(); close(done) }()
		e.execute(ctx, op)
	}()
}

func (e *Engine) limits(k Kind) Limits {
	var l Limits
	if lk, ok := k.(Limited); ok {
		l = lk.Limits()
	}
	if l.MaxAttempts == 0 {
		l.MaxAttempts = e.cfg.MaxAttempts
	}
	return l
}

// execute runs one attempt of op to its end and records the outcome.
func (e *Engine) execute(ctx context.Context, op Op) {
	op.Attempts++
	op.Updated = e.cfg.Now()
	if err := e.cfg.Store.UpdateOperation(ctx, op); err != nil {
		e.cfg.Log.Error("failed to record operation start", "id", op.ID, "err", err)
		return
	}
	e.mu.Lock()
	k, ok := e.kinds[op.Kind]
	e.mu.Unlock()
	var err error
	switch l := e.limits(k); {
	case !ok:
		err = fmt.Errorf("unknown operation kind %q", op.Kind)
	case op.Attempts > l.MaxAttempts:
		err = fmt.Errorf("gave up after %d attempts", l.MaxAttempts)
	default:
		err = e.attempt(ctx, k, op, l.Timeout)
	}
	if ctx.Err() != nil {
		return // the server is stopping: the next run resumes it
	}
	op.Updated = e.cfg.Now()
	op.Status = api.StatusSucceeded
	if err != nil {
		op.Status = api.StatusFailed
		op.Error, _ = json.Marshal(e.describe(err))
		e.cfg.Log.Warn("operation failed", "id", op.ID, "kind", op.Kind, "resource", op.ResourceID, "err", err)
		if ok {
			k.Failed(context.WithoutCancel(ctx), op, err)
		}
	} else {
		e.cfg.Log.Info("operation succeeded", "id", op.ID, "kind", op.Kind, "resource", op.ResourceID)
	}
	if uerr := e.cfg.Store.UpdateOperation(context.WithoutCancel(ctx), op); uerr != nil {
		e.cfg.Log.Error("failed to record operation end", "id", op.ID, "err", uerr)
	}
}

// attempt runs op once through its kind, within timeout if there is one.
func (e *Engine) attempt(ctx context.Context, k Kind, op Op, timeout time.Duration) error {
	cps, err := e.cfg.Store.Checkpoints(ctx, op.ID)
	if err != nil {
		return fmt.Errorf("failed to read the checkpoints of operation %s: %w", op.ID, err)
	}
	j := &storeJournal{ctx: context.WithoutCancel(ctx), s: e.cfg.Store, id: op.ID, cps: cps}
	run := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		run, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err = k.Run(run, op, j, func(step string) { _ = j.Save(progressKey, step) })
	if err != nil && ctx.Err() == nil && run.Err() != nil {
		return &timeoutError{kind: op.Kind, after: timeout, err: err}
	}
	return err
}

// timeoutError is an attempt cut short by its kind's timeout.
type timeoutError struct {
	kind  string
	after time.Duration
	err   error
}

func (t *timeoutError) Error() string {
	return fmt.Sprintf("operation %s timed out after %s: %v", t.kind, t.after, t.err)
}

func (t *timeoutError) Unwrap() error { return t.err }

// describe is the ARM error a failed operation reports.
func (e *Engine) describe(err error) api.ErrorDetail {
	var te *timeoutError
	if errors.As(err, &te) {
		return api.ErrorDetail{Code: "OperationTimedOut", Message: te.Error()}
	}
	return e.cfg.Describe(err)
}

// Warn adds warnings to what an operation's status shows; kinds call it
// through the journal they are given.
func Warn(j Journal, warnings []string) error {
	if len(warnings) == 0 {
		return nil
	}
	return j.Save(warningsKey, strings.Join(warnings, "\n"))
}
