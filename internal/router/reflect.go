package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// The router keeps its table with a small list-and-watch loop of its own
// rather than client-go's informers: it caches nothing but the table, and
// client-go's tools/cache would need a module the build does not require.

// listWatch lists and watches one kind of object.
type listWatch[T any] struct {
	kind  string // for logs and errors
	list  func(ctx context.Context, o metav1.ListOptions) (items []T, meta metav1.ListMeta, err error)
	watch func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error)
}

// handler receives what the loop sees: the complete set after each list,
// then every change.
type handler[T any] struct {
	replace func(all []T)
	upsert  func(obj T)
	remove  func(obj T)
}

// errExpired means the watched resourceVersion is too old: list again.
var errExpired = errors.New("resource version expired")

const (
	listPageSize = 500
	minBackoff   = 500 * time.Millisecond
	maxBackoff   = 30 * time.Second
)

// reflectLoop lists, hands the result to h.replace, calls synced after the
// first complete list, then watches from the list's resourceVersion,
// re-watching when a watch ends and listing again when it expires or fails
// repeatedly. It returns when ctx ends.
func reflectLoop[T any](ctx context.Context, lw listWatch[T], h handler[T], synced func(), log *slog.Logger) {
	backoff := minBackoff
	wait := func() {
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
	for ctx.Err() == nil {
		items, rv, err := listAll(ctx, lw)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("failed to list; retrying", "kind", lw.kind, "err", err)
				wait()
			}
			continue
		}
		h.replace(items)
		if synced != nil {
			synced()
			synced = nil
		}
		backoff = minBackoff
		for failures := 0; ctx.Err() == nil && failures < 3; {
			rv, err = watchOnce(ctx, lw, h, rv)
			switch {
			case err == nil:
				failures, backoff = 0, minBackoff
			case errors.Is(err, errExpired):
				failures = 3 // list again at once
			case ctx.Err() == nil:
				failures++
				log.Warn("watch failed; retrying", "kind", lw.kind, "err", err)
				wait()
			}
		}
	}
}

// listAll lists every object in pages and returns them with the list's
// resourceVersion.
func listAll[T any](ctx context.Context, lw listWatch[T]) ([]T, string, error) {
	var all []T
	o := metav1.ListOptions{Limit: listPageSize}
	for {
		items, meta, err := lw.list(ctx, o)
		if err != nil {
			return nil, "", fmt.Errorf("failed to list %s: %w", lw.kind, err)
		}
		all = append(all, items...)
		if meta.Continue == "" {
			return all, meta.ResourceVersion, nil
		}
		o.Continue = meta.Continue
	}
}

// watchOnce watches from rv until the server ends the watch, and returns
// the last resourceVersion seen.
func watchOnce[T any](ctx context.Context, lw listWatch[T], h handler[T], rv string) (string, error) {
	timeout := int64(5*60 + rand.N(5*60)) // spread re-watches over 5-10 min
	w, err := lw.watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true, TimeoutSeconds: &timeout})
	if err != nil {
		if expired(err) {
			return rv, errExpired
		}
		return rv, fmt.Errorf("failed to watch %s: %w", lw.kind, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv, nil
			}
			if ev.Type == watch.Error {
				if err := apierrors.FromObject(ev.Object); !expired(err) {
					return rv, fmt.Errorf("watching %s: %w", lw.kind, err)
				}
				return rv, errExpired
			}
			obj, ok := ev.Object.(T)
			if !ok {
				continue
			}
			if m, ok := ev.Object.(metav1.Object); ok {
				rv = m.GetResourceVersion()
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				h.upsert(obj)
			case watch.Deleted:
				h.remove(obj)
			}
		}
	}
}

// expired reports whether err says a resourceVersion is too old.
func expired(err error) bool {
	var st apierrors.APIStatus
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err) ||
		errors.As(err, &st) && st.Status().Code == http.StatusGone
}
