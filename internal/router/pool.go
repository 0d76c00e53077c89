package router

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errBusy means every pod of a version was at its concurrency limit for
// the whole queue wait, or the queue was full.
var errBusy = errors.New("service busy")

// minQueue is the smallest queue a version gets, whatever its replicas.
const minQueue = 16

// endpoint is one ready model pod (addr is host:port).
type endpoint struct {
	addr     string
	inflight int  // guarded by the pool's mutex
	gone     bool // removed from the pool; guarded by the pool's mutex
}

// waiter is a queued request; it receives the endpoint it may use, or nil
// when it should look again (the version lost all its endpoints).
type waiter struct{ ch chan *endpoint }

// pool is the ready endpoints of one version with their in-flight
// requests and the FIFO queue of requests waiting for a free one. It
// outlives routing changes, so in-flight counts survive them.
type pool struct {
	mu       sync.Mutex
	eps      []*endpoint
	max      int // concurrent requests per endpoint
	next     int // where the least-loaded scan starts, to spread ties
	queue    []*waiter
	cold     int           // requests waiting for a first endpoint
	appeared chan struct{} // closed when endpoints appear; nil while some exist
	inflight int
	ready    atomic.Int32 // len(eps), for lock-free reads by the splitter
}

func newPool() *pool { return &pool{max: 1} }

// setMax changes the per-endpoint concurrency limit.
func (p *pool) setMax(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.max = max(n, 1)
	p.dispatchLocked()
}

// setEndpoints replaces the endpoints by addrs, keeping the state of
// those that stay.
func (p *pool) setEndpoints(addrs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := make(map[string]*endpoint, len(p.eps))
	for _, e := range p.eps {
		old[e.addr] = e
	}
	eps := make([]*endpoint, 0, len(addrs))
	for _, a := range addrs {
		if e, ok := old[a]; ok {
			eps = append(eps, e)
			delete(old, a)
		} else {
			eps = append(eps, &endpoint{addr: a})
		}
	}
	for _, e := range old {
		e.gone = true
	}
	p.eps = eps
	p.ready.Store(int32(len(eps)))
	if len(eps) == 0 {
		// Queued requests go back to waiting for a first endpoint.
		for _, w := range p.queue {
			w.ch <- nil
		}
		p.queue = nil
		return
	}
	if p.appeared != nil {
		close(p.appeared)
		p.appeared = nil
	}
	p.dispatchLocked()
}

// addrs returns the endpoints' addresses.
func (p *pool) addrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.eps))
	for i, e := range p.eps {
		out[i] = e.addr
	}
	return out
}

// load returns the requests in flight and those waiting.
func (p *pool) load() (inflight, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight, len(p.queue) + p.cold
}

// acquire returns a free endpoint, the least loaded one, for the caller
// to release. When all are busy the request queues for up to wait (errBusy
// after that or when the queue is full); when there are no endpoints at
// all it waits for one until ctx ends.
func (p *pool) acquire(ctx context.Context, wait time.Duration) (*endpoint, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		p.mu.Lock()
		if len(p.eps) == 0 {
			if timer != nil { // a fresh queue wait once endpoints exist
				timer.Stop()
				timer = nil
			}
			if err := p.awaitEndpoints(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if e := p.freeLocked(nil); e != nil {
			p.takeLocked(e)
			p.mu.Unlock()
			return e, nil
		}
		if len(p.queue) >= max(minQueue, 4*len(p.eps)*p.max) {
			p.mu.Unlock()
			return nil, errBusy
		}
		w := &waiter{ch: make(chan *endpoint, 1)}
		p.queue = append(p.queue, w)
		p.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait) // one wait in all, not one per loop
		}
		var err error
		select {
		case e := <-w.ch:
			if e == nil {
				continue
			}
			return e, nil
		case <-timer.C:
			err = errBusy
		case <-ctx.Done():
			err = ctx.Err()
		}
		p.mu.Lock()
		queued := p.removeLocked(w)
		p.mu.Unlock()
		if !queued { // handed an endpoint (or nil) meanwhile
			if e := <-w.ch; e != nil {
				p.release(e)
			}
		}
		return nil, err
	}
}

// awaitEndpoints, called with p.mu held, releases it and waits until the
// pool has endpoints or ctx ends.
func (p *pool) awaitEndpoints(ctx context.Context) error {
	if p.appeared == nil {
		p.appeared = make(chan struct{})
	}
	ch := p.appeared
	p.cold++
	p.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
	}
	p.mu.Lock()
	p.cold--
	p.mu.Unlock()
	return ctx.Err()
}

// tryAcquireOther returns a free endpoint other than avoid, or nil.
func (p *pool) tryAcquireOther(avoid *endpoint) *endpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.freeLocked(avoid)
	if e != nil {
		p.takeLocked(e)
	}
	return e
}

// release ends a request on e, handing its slot to the first queued
// request if there is one.
func (p *pool) release(e *endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !e.gone && e.inflight <= p.max && len(p.queue) > 0 {
		w := p.queue[0]
		p.queue = p.queue[1:]
		w.ch <- e
		return
	}
	e.inflight--
	p.inflight--
}

// freeLocked returns the least-loaded endpoint below the limit, skipping
// avoid, or nil.
func (p *pool) freeLocked(avoid *endpoint) *endpoint {
	var best *endpoint
	n := len(p.eps)
	for i := range n {
		e := p.eps[(p.next+i)%n]
		if e != avoid && e.inflight < p.max && (best == nil || e.inflight < best.inflight) {
			best = e
		}
	}
	return best
}

func (p *pool) takeLocked(e *endpoint) {
	e.inflight++
	p.inflight++
	p.next++
}

// dispatchLocked hands free endpoints to queued requests.
func (p *pool) dispatchLocked() {
	for len(p.queue) > 0 {
		e := p.freeLocked(nil)
		if e == nil {
			return
		}
		p.takeLocked(e)
		w := p.queue[0]
		p.queue = p.queue[1:]
		w.ch <- e
	}
}

// removeLocked takes w out of the queue and reports whether it was there.
func (p *pool) removeLocked(w *waiter) bool {
	for i, q := range p.queue {
		if q == w {
			p.queue = append(p.queue[:i:i], p.queue[i+1:]...)
			return true
		}
	}
	return false
}
