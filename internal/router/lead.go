package router

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// lead takes part in electing the one router replica that autoscales, and
// runs the autoscaler, which acts only while this replica leads. It
// returns when ctx ends, releasing the Lease if it holds it.
//
// The election is client-go's Lease protocol (resourcelock.LeaseLock, the
// record kube-controller-manager uses) driven by a short loop of our own:
// client-go's leaderelection package needs a module the build does not
// require.
func (r *Router) lead(ctx context.Context) {
	c := r.cfg.Autoscale
	id := c.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = host + "_" + strconv.Itoa(os.Getpid())
	}
	e := &elector{
		lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Name: LeaseName, Namespace: r.cfg.Namespace},
			Client:     r.cfg.Kube.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: id},
		},
		id: id, cfg: c,
	}
	a := &autoscaler{
		table: r.table, scaler: kubeScaler{r.cfg.Kube}, now: r.cfg.Now, delay: c.ScaleDownDelay,
		peers: r.peers, metrics: r.metrics, log: r.cfg.Log,
	}
	var wg sync.WaitGroup
	wg.Go(func() { a.run(ctx, c.Interval, e.leading.Load) })
	for {
		was := e.leading.Load()
		e.step(ctx)
		if now := e.leading.Load(); now != was {
			r.cfg.Log.Info("autoscaler leadership changed", "identity", id, "leading", now)
		}
		wait := c.RetryPeriod
		if !e.leading.Load() {
			wait += rand.N(wait/5 + 1) // jitter, as client-go's candidates do
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			wg.Wait() // the autoscaler has stopped before the Lease goes
			e.release()
			return
		case <-t.C:
		}
	}
}

// elector holds or waits for the Lease.
type elector struct {
	lock       *resourcelock.LeaseLock
	id         string
	cfg        AutoscaleConfig
	leading    atomic.Bool
	renewed    time.Time // last successful acquire or renew
	observed   resourcelock.LeaderElectionRecord
	observedAt time.Time // when observed last changed
}

// step tries once to acquire or renew the Lease. A leader that has not
// renewed within RenewDeadline stops leading, before anyone else may take
// the Lease (LeaseDuration after they last saw it change).
func (e *elector) step(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.RenewDeadline)
	defer cancel()
	ok, other := e.tryAcquireOrRenew(ctx)
	now := time.Now()
	switch {
	case ok:
		e.renewed = now
		e.leading.Store(true)
	case other || now.Sub(e.renewed) > e.cfg.RenewDeadline:
		e.leading.Store(false)
	}
}

// tryAcquireOrRenew reports whether this replica holds the Lease now, and
// whether another one validly does.
func (e *elector) tryAcquireOrRenew(ctx context.Context) (ok, other bool) {
	now := time.Now()
	rec := resourcelock.LeaderElectionRecord{
		HolderIdentity:       e.id,
		LeaseDurationSeconds: max(1, int(e.cfg.LeaseDuration.Seconds())),
		AcquireTime:          metav1.NewTime(now),
		RenewTime:            metav1.NewTime(now),
	}
	old, _, err := e.lock.Get(ctx)
	if apierrors.IsNotFound(err) {
		if err := e.lock.Create(ctx, rec); err != nil {
			return false, false
		}
		e.observed, e.observedAt = rec, now
		return true, false
	}
	if err != nil {
		return false, false
	}
	if old.HolderIdentity != e.observed.HolderIdentity || !old.RenewTime.Equal(&e.observed.RenewTime) {
		e.observed, e.observedAt = *old, now
	}
	held := old.HolderIdentity != "" && old.HolderIdentity != e.id
	if held && now.Before(e.observedAt.Add(e.cfg.LeaseDuration)) {
		return false, true
	}
	rec.LeaderTransitions = old.LeaderTransitions
	if old.HolderIdentity == e.id {
		rec.AcquireTime = old.AcquireTime
	} else {
		rec.LeaderTransitions++
	}
	if err := e.lock.Update(ctx, rec); err != nil {
		return false, false
	}
	e.observed, e.observedAt = rec, now
	return true, false
}

// release gives the Lease up if this replica holds it, so that another
// can take it at once.
func (e *elector) release() {
	if !e.leading.Swap(false) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RenewDeadline)
	defer cancel()
	now := metav1.NewTime(time.Now())
	_ = e.lock.Update(ctx, resourcelock.LeaderElectionRecord{
		LeaseDurationSeconds: 1, AcquireTime: now, RenewTime: now,
		LeaderTransitions: e.observed.LeaderTransitions,
	})
}

// peers returns how many router replicas share the load (at least 1).
func (r *Router) peers() int {
	if r.cfg.PeerService == "" {
		return 1
	}
	return max(r.table.readyCount(r.cfg.Namespace+"/"+r.cfg.PeerService), 1)
}
