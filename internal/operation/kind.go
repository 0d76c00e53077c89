// Package operation is kubeml's durable operation engine. An operation
// (create, attach, scale, detach, delete, deploy) is recorded in the same
// transaction as the resource change that asks for it, before its work
// starts; the engine runs it through the Kind registered for it, keeps
// its checkpoints and progress in a table of their own, and resumes what
// a stopped server left unfinished. Domain packages register their kinds
// and never run operations themselves.
package operation

import (
	"context"
	"time"

	"github.com/kubeml/kubeml/internal/store"
)

// Op is one recorded operation as a Kind sees it.
type Op = store.Operation

// Journal keeps small state of a running operation (an ARM poller's
// resume token, which step is done) across restarts of the server.
type Journal interface {
	// Load returns a checkpoint the operation saved, in this run or an
	// earlier one.
	Load(key string) (string, bool)
	// Save records a checkpoint before the operation goes on.
	Save(key, value string) error
}

// Progress is where an operation reports the step it is at; what it is
// given shows as the operation's progress to clients.
type Progress func(step string)

// Kind carries out the operations of one kind.
type Kind interface {
	// Run carries op out. It must be idempotent: a resumed operation runs
	// it again from the start, with the journal of the runs before.
	Run(ctx context.Context, op Op, j Journal, progress Progress) error
	// Failed records on the operation's resource why it failed for good;
	// err is what Run returned (an error of Run fails the operation: only
	// a stop of the server makes another attempt, when it resumes).
	Failed(ctx context.Context, op Op, err error)
}

// Limits bound one kind's runs; zero fields take the engine's defaults.
type Limits struct {
	// Timeout bounds one attempt; 0 means none.
	Timeout time.Duration
	// MaxAttempts bounds how often an operation is started, resumes after
	// crashes included, before it fails.
	MaxAttempts int
}

// Limited is implemented by kinds with limits of their own.
type Limited interface {
	Limits() Limits
}

// Funcs makes a Kind of two functions; FailedFunc may be nil.
type Funcs struct {
	RunFunc    func(ctx context.Context, op Op, j Journal, progress Progress) error
	FailedFunc func(ctx context.Context, op Op, err error)
	Limit      Limits
}

// Run calls RunFunc.
func (f Funcs) Run(ctx context.Context, op Op, j Journal, progress Progress) error {
	return f.RunFunc(ctx, op, j, progress)
}

// Failed calls FailedFunc, if any.
func (f Funcs) Failed(ctx context.Context, op Op, err error) {
	if f.FailedFunc != nil {
		f.FailedFunc(ctx, op, err)
	}
}

// Limits returns Limit.
func (f Funcs) Limits() Limits { return f.Limit }
