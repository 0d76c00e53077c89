package router

import (
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/kubeml/kubeml/internal/routing"
)

// sliceInfo is what the router keeps of an EndpointSlice: the addresses of
// its ready, not terminating endpoints and its ports.
type sliceInfo struct {
	addrs []string
	ports []int32
}

// poolRef is a pool and the port its version's pods serve on.
type poolRef struct {
	pool *pool
	port int
}

// table is the routing table: the deployed services by name and, per
// Kubernetes Service, the ready endpoints. Readers take a snapshot of the
// services without locking; writers (the informers) serialise on mu.
type table struct {
	services atomic.Pointer[map[string]*service]
	metrics  *metrics
	log      *slog.Logger

	mu     sync.Mutex
	routes map[string]routing.Service      // by routing Secret name
	slices map[string]map[string]sliceInfo // by "namespace/service", then slice name
	pools  map[string]poolRef              // by "namespace/service"
}

func newTable(m *metrics, log *slog.Logger) *table {
	t := &table{
		metrics: m, log: log,
		routes: map[string]routing.Service{},
		slices: map[string]map[string]sliceInfo{},
		pools:  map[string]poolRef{},
	}
	t.services.Store(&map[string]*service{})
	return t
}

// lookup returns the deployed service of that name, or nil.
func (t *table) lookup(name string) *service { return (*t.services.Load())[name] }

// all returns the deployed services.
func (t *table) all() map[string]*service { return *t.services.Load() }

// setRouting adds or replaces the routing of one Secret.
func (t *table) setRouting(secret string, sr routing.Service) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.routes[secret] = sr
	t.rebuildLocked()
}

// deleteRouting forgets a Secret's routing.
func (t *table) deleteRouting(secret string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.routes[secret]; ok {
		delete(t.routes, secret)
		t.rebuildLocked()
	}
}

// routing returns the routing last taken from a Secret.
func (t *table) routing(secret string) (routing.Service, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sr, ok := t.routes[secret]
	return sr, ok
}

// setSlice records an EndpointSlice of the Service key ("ns/name").
func (t *table) setSlice(key, name string, si sliceInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.slices[key] == nil {
		t.slices[key] = map[string]sliceInfo{}
	}
	t.slices[key][name] = si
	t.refreshLocked(key)
}

// deleteSlice forgets an EndpointSlice.
func (t *table) deleteSlice(key, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.slices[key], name)
	if len(t.slices[key]) == 0 {
		delete(t.slices, key)
	}
	t.refreshLocked(key)
}

// readyCount returns how many endpoints the Service key has.
func (t *table) readyCount(key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, si := range t.slices[key] {
		n += len(si.addrs)
	}
	return n
}

// refreshLocked gives the pool of key (if a version uses it) its current
// endpoints.
func (t *table) refreshLocked(key string) {
	if ref, ok := t.pools[key]; ok {
		ref.pool.setEndpoints(t.addrsLocked(key, ref.port))
	}
}

// addrsLocked lists the endpoints of key as host:port. A slice's port is
// used when it lists ports but not the version's own.
func (t *table) addrsLocked(key string, port int) []string {
	var out []string
	for _, si := range t.slices[key] {
		p := port
		if len(si.ports) > 0 && !slices.Contains(si.ports, int32(port)) {
			p = int(si.ports[0])
		}
		for _, a := range si.addrs {
			out = append(out, net.JoinHostPort(a, strconv.Itoa(p)))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// rebuildLocked makes a new services snapshot from the routes, reusing
// pools, and drops what no service uses any more.
func (t *table) rebuildLocked() {
	old := *t.services.Load()
	next := make(map[string]*service, len(t.routes))
	used := map[string]bool{}
	for _, secret := range slices.Sorted(maps.Keys(t.routes)) {
		sr := t.routes[secret]
		if prev, ok := next[sr.Name]; ok {
			// Two Secrets for one service: the one named for it wins.
			if secret != routing.SecretName(sr.Name) {
				t.log.Warn("routing Secret names a service another Secret routes; ignored",
					"secret", secret, "service", sr.Name)
				continue
			}
			t.log.Warn("two routing Secrets for one service; using the one named for it",
				"secret", secret, "service", sr.Name, "namespace", prev.cfg.Namespace)
		}
		poolFor := func(vr routing.Version) *pool {
			key := sr.Namespace + "/" + vr.Service
			port := vr.Port
			if port <= 0 {
				port = routing.ModelPort
			}
			used[key] = true
			ref, ok := t.pools[key]
			if !ok {
				ref.pool = newPool()
			}
			if !ok || ref.port != port {
				ref.port = port
				t.pools[key] = ref
				ref.pool.setEndpoints(t.addrsLocked(key, port))
			}
			return ref.pool
		}
		next[sr.Name] = newService(sr, poolFor, t.metrics)
	}
	for key := range t.pools {
		if !used[key] {
			delete(t.pools, key)
		}
	}
	t.services.Store(&next)
	for name, prev := range old {
		s, ok := next[name]
		if !ok {
			t.metrics.forget(name)
			continue
		}
		for _, v := range prev.versions {
			if s.version(v.cfg.Name) == nil {
				t.metrics.forgetVersion(name, v.cfg.Name)
			}
		}
	}
	for name, s := range next {
		if s.invalid != nil {
			t.log.Warn("service has invalid traffic weights; requests that pin no version are refused",
				"service", name, "err", s.invalid)
		}
	}
}
