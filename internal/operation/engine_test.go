package operation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/store"
)

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	s, err := store.OpenSQLite(filepath.Join(dir, "kubeml.db"), make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// server is one run of an engine on a store, as one start of kubeml
// server is.
type server struct {
	e      *Engine
	s      store.Store
	cancel context.CancelFunc
}

func start(t *testing.T, dir string, kinds map[string]Kind) *server {
	t.Helper()
	s := openStore(t, dir)
	e := New(Config{Store: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for name, k := range kinds {
		if err := e.Register(name, k); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := e.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	srv := &server{e: e, s: s, cancel: cancel}
	t.Cleanup(srv.stop)
	return srv
}

// stop ends the run as a killed server would leave it: unfinished
// operations stay InProgress.
func (s *server) stop() {
	s.cancel()
	s.e.Drain()
	s.s.Close()
}

func wait(t *testing.T, e *Engine, id string) *api.Operation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	op, err := e.Wait(ctx, id, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// steps is a kind of three steps that journals each one it finishes and
// skips those on resume. It blocks in step block until the server stops.
type steps struct {
	mu      sync.Mutex
	done    []int // steps carried out to their end, over all runs
	block   int
	blocked chan struct{}
	failed  []error
}

func (k *steps) Run(ctx context.Context, op Op, j Journal, progress Progress) error {
	from := 1
	if v, ok := j.Load("step"); ok {
		n, _ := strconv.Atoi(v)
		from = n + 1
	}
	for i := from; i <= 3; i++ {
		progress(fmt.Sprintf("step %d of 3", i))
		if i == k.block {
			close(k.blocked)
			<-ctx.Done()
			return ctx.Err()
		}
		k.mu.Lock()
		k.done = append(k.done, i)
		k.mu.Unlock()
		if err := j.Save("step", strconv.Itoa(i)); err != nil {
			return err
		}
	}
	return nil
}

func (k *steps) Failed(_ context.Context, _ Op, err error) {
	k.mu.Lock()
	k.failed = append(k.failed, err)
	k.mu.Unlock()
}

func TestAnOperationStoppedAtAnyStepResumesFromItsLastCheckpoint(t *testing.T) {
	for block := 1; block <= 3; block++ {
		t.Run(fmt.Sprintf("stopped in step %d", block), func(t *testing.T) {
			dir := t.TempDir()
			k := &steps{block: block, blocked: make(chan struct{})}
			first := start(t, dir, map[string]Kind{"thing.create": k})
			id, err := first.e.Record(context.Background(), "thing.create", "/things/a", map[string]string{"name": "a"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			<-k.blocked
			first.stop()
			if op, err := openStoreOp(t, dir, id); err != nil || op.Status != api.StatusInProgress {
				t.Fatalf("after the stop: %+v, %v; want InProgress", op, err)
			}

			k.block = 0 // the next run goes through
			second := start(t, dir, map[string]Kind{"thing.create": k})
			op := wait(t, second.e, id)
			if op.Status != api.StatusSucceeded {
				t.Fatalf("resumed operation: %+v", op)
			}
			want := []int{1, 2, 3}
			if fmt.Sprint(k.done) != fmt.Sprint(want) {
				t.Errorf("steps carried out = %v, want each once: %v", k.done, want)
			}
			if op.Properties == nil || op.Properties.Progress != "step 3 of 3" {
				t.Errorf("progress = %+v, want the last step", op.Properties)
			}
			stored, _ := second.s.GetOperation(context.Background(), id)
			if stored.Attempts != 2 || string(stored.Input) != `{"name":"a"}` {
				t.Errorf("stored operation: attempts %d, input %s; want 2 and the input as recorded", stored.Attempts, stored.Input)
			}
		})
	}
}

func openStoreOp(t *testing.T, dir, id string) (store.Operation, error) {
	s := openStore(t, dir)
	defer s.Close()
	return s.GetOperation(context.Background(), id)
}

func TestACheckpointSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	saved := make(chan struct{})
	var resumedWith string
	k := Funcs{RunFunc: func(ctx context.Context, op Op, j Journal, _ Progress) error {
		if v, ok := j.Load("azure.token"); ok {
			resumedWith = v
			return nil
		}
		if err := j.Save("azure.token", "resume-me"); err != nil {
			return err
		}
		close(saved)
		<-ctx.Done()
		return ctx.Err()
	}}
	first := start(t, dir, map[string]Kind{"cluster.create": k})
	id, err := first.e.Record(context.Background(), "cluster.create", "/c", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-saved
	first.stop()
	second := start(t, dir, map[string]Kind{"cluster.create": k})
	if op := wait(t, second.e, id); op.Status != api.StatusSucceeded || resumedWith != "resume-me" {
		t.Fatalf("resumed: %+v, checkpoint %q", op, resumedWith)
	}
}

func TestAnOperationFailsAfterItsAttemptLimit(t *testing.T) {
	dir := t.TempDir()
	var failed []error
	var runs int
	running := make(chan struct{}, 10)
	k := Funcs{
		RunFunc: func(ctx context.Context, _ Op, _ Journal, _ Progress) error {
			runs++
			running <- struct{}{}
			<-ctx.Done() // each run is cut short by a stop
			return ctx.Err()
		},
		FailedFunc: func(_ context.Context, _ Op, err error) { failed = append(failed, err) },
		Limit:      Limits{MaxAttempts: 2},
	}
	kinds := map[string]Kind{"flaky": k}
	srv := start(t, dir, kinds)
	id, err := srv.e.Record(context.Background(), "flaky", "/f", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-running
	srv.stop()
	srv = start(t, dir, kinds)
	<-running
	srv.stop()
	srv = start(t, dir, kinds)
	op := wait(t, srv.e, id)
	if op.Status != api.StatusFailed || op.Error == nil || !strings.Contains(op.Error.Message, "gave up after 2 attempts") {
		t.Fatalf("third start: %+v (%+v)", op, op.Error)
	}
	if runs != 2 || len(failed) != 1 {
		t.Errorf("runs %d, Failed called %d times; want 2 and 1", runs, len(failed))
	}
}

func TestAnAttemptOverItsTimeoutFails(t *testing.T) {
	srv := start(t, t.TempDir(), map[string]Kind{"slow": Funcs{
		RunFunc: func(ctx context.Context, _ Op, _ Journal, _ Progress) error { <-ctx.Done(); return ctx.Err() },
		Limit:   Limits{Timeout: 20 * time.Millisecond},
	}})
	id, err := srv.e.Record(context.Background(), "slow", "/s", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if op := wait(t, srv.e, id); op.Status != api.StatusFailed || op.Error.Code != "OperationTimedOut" || !strings.Contains(op.Error.Message, "timed out after 20ms") {
		t.Fatalf("got %+v (%+v)", op, op.Error)
	}
}

func TestTwoKindsRunSideBySide(t *testing.T) {
	var mu sync.Mutex
	var failedOps []string
	describe := func(kind string) Kind {
		return Funcs{
			RunFunc: func(_ context.Context, op Op, j Journal, _ Progress) error {
				if err := Warn(j, []string{kind + " warns"}); err != nil {
					return err
				}
				if kind == "b" {
					return errors.New("b always fails")
				}
				return nil
			},
			FailedFunc: func(_ context.Context, op Op, _ error) {
				mu.Lock()
				failedOps = append(failedOps, op.Kind)
				mu.Unlock()
			},
		}
	}
	srv := start(t, t.TempDir(), map[string]Kind{"a": describe("a"), "b": describe("b")})
	if got := srv.e.Kinds(); fmt.Sprint(got) != "[a b]" {
		t.Fatalf("Kinds() = %v", got)
	}
	ctx := context.Background()
	ida, err := srv.e.Record(ctx, "a", "/a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	idb, err := srv.e.Record(ctx, "b", "/b", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := wait(t, srv.e, ida), wait(t, srv.e, idb)
	if a.Status != api.StatusSucceeded || a.Properties == nil || fmt.Sprint(a.Properties.Warnings) != "[a warns]" {
		t.Errorf("a: %+v %+v", a, a.Properties)
	}
	if b.Status != api.StatusFailed || b.Error.Code != "OperationFailed" || b.Error.Message != "b always fails" {
		t.Errorf("b: %+v %+v", b, b.Error)
	}
	if fmt.Sprint(failedOps) != "[b]" {
		t.Errorf("Failed called for %v, want only b", failedOps)
	}
}

func TestRecordWritesTheOperationWithItsResourceOrNothing(t *testing.T) {
	srv := start(t, t.TempDir(), map[string]Kind{"a": Funcs{RunFunc: func(context.Context, Op, Journal, Progress) error { return nil }}})
	ctx := context.Background()
	if _, err := srv.e.Record(ctx, "nope", "/x", nil, nil); err == nil || !strings.Contains(err.Error(), `kind "nope" is not registered`) {
		t.Errorf("an unregistered kind: %v", err)
	}
	if err := srv.e.Register("a", Funcs{}); err == nil {
		t.Error("a kind registered twice was accepted")
	}
	refused := errors.New("the resource is busy")
	if _, err := srv.e.Record(ctx, "a", "/x", nil, func(tx store.Tx) error {
		if _, err := tx.Create(ctx, store.Resource{ID: "/x", Type: "t", Body: []byte(`{}`)}); err != nil {
			return err
		}
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("Record = %v", err)
	}
	if ops, _ := srv.s.Operations(ctx, ""); len(ops) != 0 {
		t.Errorf("a refused change left operations %+v", ops)
	}
	if _, err := srv.s.Get(ctx, "/x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused change left its resource: %v", err)
	}
}
