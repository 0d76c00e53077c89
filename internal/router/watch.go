package router

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// watch starts the loops that keep the routing table: routing Secrets in
// the router's namespace and EndpointSlices in all namespaces. The
// returned channel is closed once both have listed. The loops stop when
// ctx ends; wg tracks them.
func (r *Router) watch(ctx context.Context, wg *sync.WaitGroup) <-chan struct{} {
	secrets := r.cfg.Kube.CoreV1().Secrets(r.cfg.Namespace)
	selector := RoutingLabel + "=true"
	slices := r.cfg.Kube.DiscoveryV1().EndpointSlices(metav1.NamespaceAll)
	synced := make(chan struct{})
	var pending atomic.Int32
	pending.Store(2)
	listed := func() { // each loop calls it once, after its first list
		if pending.Add(-1) == 0 {
			close(synced)
		}
	}
	wg.Go(func() {
		reflectLoop(ctx, listWatch[*corev1.Secret]{
			kind: "routing Secrets",
			list: func(ctx context.Context, o metav1.ListOptions) ([]*corev1.Secret, metav1.ListMeta, error) {
				o.LabelSelector = selector
				l, err := secrets.List(ctx, o)
				if err != nil {
					return nil, metav1.ListMeta{}, err
				}
				return pointers(l.Items), l.ListMeta, nil
			},
			watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.LabelSelector = selector
				return secrets.Watch(ctx, o)
			},
		}, handler[*corev1.Secret]{replace: r.replaceSecrets, upsert: r.onSecret, remove: r.onSecretDelete},
			listed, r.cfg.Log)
	})
	wg.Go(func() {
		reflectLoop(ctx, listWatch[*discoveryv1.EndpointSlice]{
			kind: "EndpointSlices",
			list: func(ctx context.Context, o metav1.ListOptions) ([]*discoveryv1.EndpointSlice, metav1.ListMeta, error) {
				l, err := slices.List(ctx, o)
				if err != nil {
					return nil, metav1.ListMeta{}, err
				}
				return pointers(l.Items), l.ListMeta, nil
			},
			watch: slices.Watch,
		}, handler[*discoveryv1.EndpointSlice]{replace: r.replaceSlices, upsert: r.onSlice, remove: r.onSliceDelete},
			listed, r.cfg.Log)
	})
	return synced
}

func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// replaceSecrets takes in the complete set of routing Secrets.
func (r *Router) replaceSecrets(all []*corev1.Secret) {
	routes := map[string]ServiceRouting{}
	for _, sec := range all {
		sr, err := decodeRouting(sec)
		if err != nil {
			r.cfg.Log.Error("skipping a routing Secret that does not parse", "secret", sec.Name, "err", err)
			if old, ok := r.table.routing(sec.Name); ok {
				routes[sec.Name] = old
			}
			continue
		}
		routes[sec.Name] = sr
	}
	r.table.replaceRoutings(routes)
	r.cfg.Log.Info("routing listed", "services", len(routes))
}

// replaceSlices takes in the complete set of EndpointSlices.
func (r *Router) replaceSlices(all []*discoveryv1.EndpointSlice) {
	slices := map[string]map[string]sliceInfo{}
	for _, es := range all {
		if key, ok := sliceKey(es); ok {
			if slices[key] == nil {
				slices[key] = map[string]sliceInfo{}
			}
			slices[key][es.Name] = sliceInfoOf(es)
		}
	}
	r.table.replaceSlices(slices)
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
	r.cfg.Log.Info("routing updated", "service", sr.Name, "secret", sec.Name, "versions", len(sr.Versions))
}

// decodeRouting reads a routing Secret; the service name defaults to its
// ServiceLabel.
func decodeRouting(sec *corev1.Secret) (ServiceRouting, error) {
	data, ok := sec.Data[RoutingKey]
	if !ok {
		return ServiceRouting{}, fmt.Errorf("no %s key", RoutingKey)
	}
	return parseRouting(data, sec.Labels[ServiceLabel])
}

func (r *Router) onSecretDelete(sec *corev1.Secret) {
	r.table.deleteRouting(sec.Name)
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
