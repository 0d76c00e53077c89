package router

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	discoveryv1 "k8s.io/api/discovery/v1"
	discoveryinformers "k8s.io/client-go/informers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

// sliceWatch runs one EndpointSlice informer per namespace the router
// needs: its own (for its peers) and each namespace a routing Secret
// names. kubeml grants the router EndpointSlices in those namespaces
// only, so it cannot watch them cluster-wide.
type sliceWatch struct {
	r   *Router
	ctx context.Context
	wg  *sync.WaitGroup

	mu sync.Mutex
	ns map[string]*nsInformer
}

type nsInformer struct {
	stop   context.CancelFunc
	synced cache.InformerSynced
}

func newSliceWatch(ctx context.Context, r *Router, wg *sync.WaitGroup) *sliceWatch {
	return &sliceWatch{r: r, ctx: ctx, wg: wg, ns: map[string]*nsInformer{}}
}

// ensure starts the informer of ns unless it runs.
func (w *sliceWatch) ensure(ns string) {
	if ns == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.ns[ns]; ok || w.ctx.Err() != nil {
		return
	}
	ctx, stop := context.WithCancel(w.ctx)
	ei := discoveryinformers.NewEndpointSliceInformer(w.r.cfg.Kube, ns, 0, cache.Indexers{})
	// Events a stopped informer still delivers are dropped: its slices
	// were forgotten with it.
	inf := &nsInformer{stop: stop}
	live := func(fn func(*discoveryv1.EndpointSlice)) func(*discoveryv1.EndpointSlice) {
		return func(es *discoveryv1.EndpointSlice) {
			if w.current(ns, inf) {
				fn(es)
			}
		}
	}
	reg, _ := ei.AddEventHandler(handlers(live(w.r.onSlice), live(w.r.onSliceDelete)))
	synced := ei.HasSynced
	if reg != nil {
		synced = reg.HasSynced
	}
	inf.synced = synced
	w.ns[ns] = inf
	w.wg.Go(func() { ei.Run(ctx.Done()) })
	w.r.cfg.Log.Info("watching endpoint slices", "namespace", ns)
}

// retain stops the informers of namespaces not in keep and forgets
// their slices.
func (w *sliceWatch) retain(keep map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ns, inf := range w.ns {
		if !keep[ns] {
			inf.stop()
			delete(w.ns, ns)
			w.r.table.dropNamespace(ns)
			w.r.cfg.Log.Info("stopped watching endpoint slices", "namespace", ns)
		}
	}
}

// current reports whether inf is the running informer of ns.
func (w *sliceWatch) current(ns string, inf *nsInformer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ns[ns] == inf
}

// unsynced names the namespaces whose informers running now have not
// synced yet (re-read on every call: informers come and go).
func (w *sliceWatch) unsynced() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, ns := range slices.Sorted(maps.Keys(w.ns)) {
		if !w.ns[ns].synced() {
			out = append(out, ns)
		}
	}
	return out
}

// dropNamespace forgets every slice of Services in ns.
func (t *table) dropNamespace(ns string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key := range t.slices {
		if strings.HasPrefix(key, ns+"/") {
			delete(t.slices, key)
			t.refreshLocked(key)
		}
	}
}

// namespaces are those the routed services run in.
func (t *table) namespaces() map[string]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]bool{}
	for _, sr := range t.routes {
		out[sr.Namespace] = true
	}
	return out
}
