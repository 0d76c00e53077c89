package router

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeml/kubeml/internal/routing"
)

// watch starts client-go informers that keep the routing table: routing
// Secrets in the router's namespace and EndpointSlices in its namespace
// and those the services run in. The returned channel is closed once the
// Secrets and the slices of every namespace they name have synced. The
// informers stop when ctx ends; wg tracks them.
func (r *Router) watch(ctx context.Context, wg *sync.WaitGroup) <-chan struct{} {
	r.slices = newSliceWatch(ctx, r, wg)
	r.slices.ensure(r.cfg.Namespace)
	// The typed informers, not a SharedInformerFactory: a factory links
	// the informers of every API group into the binary.
	si := coreinformers.NewFilteredSecretInformer(r.cfg.Kube, r.cfg.Namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = routing.SecretLabel + "=true" })
	reg, _ := si.AddEventHandler(handlers(r.onSecret, r.onSecretDelete))
	secretsSynced := si.HasSynced
	if reg != nil {
		secretsSynced = reg.HasSynced // the handlers, not only the cache
	}
	wg.Go(func() { si.Run(ctx.Done()) })
	synced := make(chan struct{})
	wg.Go(func() {
		if !cache.WaitForCacheSync(ctx.Done(), secretsSynced) {
			return
		}
		// One namespace that cannot be listed (its Role gone, say) must
		// not keep every service unready: after sliceSyncWait the router
		// is ready with the rest, and that namespace's services answer
		// 503 until its slices come.
		wctx, cancel := context.WithTimeout(ctx, sliceSyncWait)
		defer cancel()
		if !cache.WaitForCacheSync(wctx.Done(), func() bool { return len(r.slices.unsynced()) == 0 }) {
			if ctx.Err() != nil {
				return
			}
			r.cfg.Log.Warn("ready without the endpoint slices of some namespaces", "namespaces", r.slices.unsynced())
		}
		r.cfg.Log.Info("routing listed")
		close(synced)
	})
	return synced
}

// sliceSyncWait bounds how long readiness waits for the endpoint slices
// of the services' namespaces.
const sliceSyncWait = 30 * time.Second

// handlers adapts typed callbacks to an informer's, unwrapping the
// tombstones of deletes the watch missed.
func handlers[T any](upsert, remove func(T)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { callWith(upsert, obj) },
		UpdateFunc: func(_, obj any) { callWith(upsert, obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			callWith(remove, obj)
		},
	}
}

func callWith[T any](fn func(T), obj any) {
	if v, ok := obj.(T); ok {
		fn(v)
	}
}

// onSecret takes in a routing Secret; one that does not parse is logged
// and skipped, and the service keeps its last good routing, if any.
func (r *Router) onSecret(sec *corev1.Secret) {
	sr, err := decodeRouting(sec)
	if err != nil {
		r.cfg.Log.Error("skipping a routing Secret that does not parse", "secret", sec.Name, "err", err)
		return
	}
	r.table.setRouting(sec.Name, sr)
	if r.slices != nil {
		r.slices.ensure(sr.Namespace)
	}
	r.cfg.Log.Info("routing updated", "service", sr.Name, "secret", sec.Name, "versions", len(sr.Versions))
}

// decodeRouting reads a routing Secret; the service name defaults to its
// routing.ServiceLabel.
func decodeRouting(sec *corev1.Secret) (routing.Service, error) {
	data, ok := sec.Data[routing.SecretKey]
	if !ok {
		return routing.Service{}, fmt.Errorf("no %s key", routing.SecretKey)
	}
	return parseRouting(data, sec.Labels[routing.ServiceLabel])
}

func (r *Router) onSecretDelete(sec *corev1.Secret) {
	r.table.deleteRouting(sec.Name)
	if r.slices != nil {
		keep := r.table.namespaces()
		keep[r.cfg.Namespace] = true
		r.slices.retain(keep)
	}
	r.cfg.Log.Info("routing removed", "secret", sec.Name)
}

// onSlice records the ready endpoints of an EndpointSlice.
func (r *Router) onSlice(es *discoveryv1.EndpointSlice) {
	if key, ok := sliceKey(es); ok {
		r.table.setSlice(key, es.Name, sliceInfoOf(es))
	}
}

func (r *Router) onSliceDelete(es *discoveryv1.EndpointSlice) {
	if key, ok := sliceKey(es); ok {
		r.table.deleteSlice(key, es.Name)
	}
}

// sliceKey is "namespace/service" of the Service a slice belongs to.
func sliceKey(es *discoveryv1.EndpointSlice) (string, bool) {
	svc := es.Labels[discoveryv1.LabelServiceName]
	return es.Namespace + "/" + svc, svc != ""
}

// sliceInfoOf keeps the first address of each endpoint that is ready
// (unset counts as ready) and not terminating, and the TCP ports.
func sliceInfoOf(es *discoveryv1.EndpointSlice) sliceInfo {
	var si sliceInfo
	for _, ep := range es.Endpoints {
		c := ep.Conditions
		ready := c.Ready == nil || *c.Ready
		terminating := c.Terminating != nil && *c.Terminating
		if ready && !terminating && len(ep.Addresses) > 0 {
			si.addrs = append(si.addrs, ep.Addresses[0])
		}
	}
	for _, p := range es.Ports {
		if p.Port != nil && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP) {
			si.ports = append(si.ports, *p.Port)
		}
	}
	return si
}
