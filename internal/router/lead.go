package router

import (
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// lead takes part in electing the one router replica that autoscales
// (client-go's leader election on the Lease LeaseName), and runs the
// autoscaler, which acts only while this replica leads. It returns when
// ctx ends, releasing the Lease if it holds it.
func (r *Router) lead(ctx context.Context) {
	c := r.cfg.Autoscale
	id := c.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = host + "_" + strconv.Itoa(os.Getpid())
	}
	var leading atomic.Bool
	a := &autoscaler{
		table: r.table, scaler: kubeScaler{r.cfg.Kube}, now: r.cfg.Now, delay: c.ScaleDownDelay,
		peers: r.peers, metrics: r.metrics, log: r.cfg.Log,
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.run(ctx, c.Interval, leading.Load) })
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Name: LeaseName, Namespace: r.cfg.Namespace},
			Client:     r.cfg.Kube.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: id},
		},
		LeaseDuration: c.LeaseDuration, RenewDeadline: c.RenewDeadline, RetryPeriod: c.RetryPeriod,
		ReleaseOnCancel: true, Name: LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				leading.Store(true)
				r.cfg.Log.Info("autoscaler leadership changed", "identity", id, "leading", true)
			},
			OnStoppedLeading: func() {
				leading.Store(false)
				r.cfg.Log.Info("autoscaler leadership changed", "identity", id, "leading", false)
			},
		},
	})
	if err != nil {
		r.cfg.Log.Error("autoscaling is off: bad leader election settings", "err", err)
		return
	}
	for ctx.Err() == nil { // Run returns when leadership is lost: stand again
		le.Run(ctx)
	}
}

// peers returns how many router replicas share the load (at least 1).
func (r *Router) peers() int {
	if r.cfg.PeerService == "" {
		return 1
	}
	return max(r.table.readyCount(r.cfg.Namespace+"/"+r.cfg.PeerService), 1)
}
