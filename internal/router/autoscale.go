package router

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/routing"
)

// LeaseName is the Lease (in the router's namespace) that elects the one
// router replica allowed to scale Deployments.
const LeaseName = "kubeml-router-autoscaler"

// Defaults of AutoscaleConfig.
const (
	defaultMaxReplicas = 10
	// refreshEvery bounds how long the autoscaler trusts the replicas it
	// last read or wrote before reading them again.
	refreshEvery = 30 * time.Second
)

// AutoscaleConfig tunes the autoscaler. The zero value means the defaults.
type AutoscaleConfig struct {
	// Disabled turns the autoscaler off in this router.
	Disabled bool
	// Interval between decisions (default 1 s).
	Interval time.Duration
	// ScaleDownDelay is how long a version must want fewer replicas than
	// it has before it is scaled down (default 1 min). Scaling up is
	// immediate.
	ScaleDownDelay time.Duration
	// LeaseDuration, RenewDeadline and RetryPeriod tune the leader
	// election (defaults 15 s, 10 s, 2 s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Identity names this replica in the Lease (default: the host name).
	Identity string
}

func (c AutoscaleConfig) withDefaults() AutoscaleConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Interval, time.Second)
	def(&c.ScaleDownDelay, time.Minute)
	def(&c.LeaseDuration, 15*time.Second)
	def(&c.RenewDeadline, 10*time.Second)
	def(&c.RetryPeriod, 2*time.Second)
	return c
}

// scaler reads and writes a Deployment's scale subresource.
type scaler interface {
	getScale(ctx context.Context, ns, name string) (*autoscalingv1.Scale, error)
	updateScale(ctx context.Context, ns string, s *autoscalingv1.Scale) error
}

type kubeScaler struct{ kube kubernetes.Interface }

func (k kubeScaler) getScale(ctx context.Context, ns, name string) (*autoscalingv1.Scale, error) {
	return k.kube.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
}

func (k kubeScaler) updateScale(ctx context.Context, ns string, s *autoscalingv1.Scale) error {
	_, err := k.kube.AppsV1().Deployments(ns).UpdateScale(ctx, s.Name, s, metav1.UpdateOptions{})
	return err
}

// autoscaler sizes each autoscaled version's Deployment to its load. Only
// the router that holds the Lease runs one; the load it sees is its own,
// multiplied by the number of router replicas.
type autoscaler struct {
	table   *table
	scaler  scaler
	now     func() time.Time
	delay   time.Duration
	peers   func() int
	metrics *metrics
	log     *slog.Logger
	state   map[string]*scaleState // by "namespace/deployment"
}

// scaleState is what the autoscaler remembers of one Deployment.
type scaleState struct {
	current   int32     // replicas, as last read or written
	checked   time.Time // when current was read or written
	below     time.Time // since when fewer replicas were wanted; zero if not
	windowMax int32     // the most replicas wanted since below
}

// desiredReplicas is ceil(load / (maxConc * target%)), within the bounds.
func desiredReplicas(load, maxConc int, a routing.Autoscale) int32 {
	target := a.TargetUtilization
	if target <= 0 || target > 100 {
		target = defaultTarget
	}
	lo := max(a.MinReplicas, 0)
	hi := a.MaxReplicas
	if hi <= 0 {
		hi = defaultMaxReplicas
	}
	hi = max(hi, lo)
	per := float64(max(maxConc, 1)) * float64(target) / 100
	d := int(math.Ceil(float64(load) / per))
	return int32(min(max(d, lo), hi))
}

// tick makes one decision for every autoscaled version.
func (a *autoscaler) tick(ctx context.Context) {
	now := a.now()
	peers := max(a.peers(), 1)
	seen := map[string]bool{}
	for name, s := range a.table.all() {
		for _, v := range s.versions {
			if !v.cfg.Autoscale.Enabled || v.cfg.Deployment == "" {
				continue
			}
			key := s.cfg.Namespace + "/" + v.cfg.Deployment
			if seen[key] {
				continue
			}
			seen[key] = true
			in, queued := v.pool.load()
			want := desiredReplicas((in+queued)*peers, s.maxConc, v.cfg.Autoscale)
			a.metrics.desired.WithLabelValues(name, v.cfg.Name).Set(float64(want))
			if err := a.reconcile(ctx, key, s.cfg.Namespace, v.cfg.Deployment, want, now); err != nil {
				a.log.Warn("failed to autoscale", "service", name, "version", v.cfg.Name, "err", err)
			}
		}
	}
	for key := range a.state {
		if !seen[key] {
			delete(a.state, key)
		}
	}
}

// reconcile scales up at once when more replicas are wanted, and down to
// the most wanted during the delay once fewer have been wanted for all of
// it.
func (a *autoscaler) reconcile(ctx context.Context, key, ns, name string, want int32, now time.Time) error {
	st := a.state[key]
	if st == nil || now.Sub(st.checked) >= refreshEvery {
		sc, err := a.scaler.getScale(ctx, ns, name)
		if err != nil {
			return fmt.Errorf("failed to read the scale of %s: %w", key, err)
		}
		if st == nil {
			st = &scaleState{}
			a.state[key] = st
		}
		st.current, st.checked = sc.Spec.Replicas, now
	}
	switch {
	case want > st.current:
		st.below = time.Time{}
		return a.scale(ctx, st, key, ns, name, want, now)
	case want < st.current:
		if st.below.IsZero() {
			st.below, st.windowMax = now, want
		}
		st.windowMax = max(st.windowMax, want)
		if now.Sub(st.below) < a.delay {
			return nil
		}
		st.below = time.Time{}
		return a.scale(ctx, st, key, ns, name, st.windowMax, now)
	default:
		st.below = time.Time{}
	}
	return nil
}

// scale sets a Deployment's replicas to n, reading the scale afresh so
// that a stale memory never moves it the wrong way.
func (a *autoscaler) scale(ctx context.Context, st *scaleState, key, ns, name string, n int32, now time.Time) error {
	st.checked = time.Time{} // whatever happens, read it again next time
	sc, err := a.scaler.getScale(ctx, ns, name)
	if err != nil {
		return fmt.Errorf("failed to read the scale of %s: %w", key, err)
	}
	from := sc.Spec.Replicas
	if (n > st.current) != (n > from) || from == n {
		st.current, st.checked = from, now // someone else moved it; decide again
		return nil
	}
	sc.Spec.Replicas = n
	if err := a.scaler.updateScale(ctx, ns, sc); err != nil {
		return fmt.Errorf("failed to scale %s to %d: %w", key, n, err)
	}
	a.log.Info("scaled", "deployment", key, "from", from, "to", n)
	st.current, st.checked = n, now
	return nil
}

// run decides every interval, while leading, until ctx ends. It forgets
// what it knew whenever it stops leading.
func (a *autoscaler) run(ctx context.Context, every time.Duration, leading func() bool) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !leading() {
			if a.state != nil { // just stopped: the leader reports desired replicas
				a.state = nil
				a.metrics.desired.Reset()
			}
			continue
		}
		if a.state == nil {
			a.state = map[string]*scaleState{}
		}
		a.tick(ctx)
	}
}
