package router

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeml/kubeml/internal/routing"
)

func TestDesiredReplicas(t *testing.T) {
	tests := map[string]struct {
		load, maxConc int
		a             routing.Autoscale
		want          int32
	}{
		"no load keeps the minimum":             {0, 1, routing.Autoscale{MinReplicas: 1, MaxReplicas: 10, TargetUtilization: 70}, 1},
		"one request at 70% needs two":          {2, 1, routing.Autoscale{MinReplicas: 1, MaxReplicas: 10, TargetUtilization: 70}, 3},
		"exactly full at 100%":                  {4, 2, routing.Autoscale{MinReplicas: 1, MaxReplicas: 10, TargetUtilization: 100}, 2},
		"the maximum caps it":                   {100, 1, routing.Autoscale{MinReplicas: 1, MaxReplicas: 3, TargetUtilization: 70}, 3},
		"no target means 70%":                   {7, 1, routing.Autoscale{MinReplicas: 1, MaxReplicas: 20}, 10},
		"no maximum means 10":                   {100, 1, routing.Autoscale{MinReplicas: 1, TargetUtilization: 100}, 10},
		"a maximum below the minimum is lifted": {0, 1, routing.Autoscale{MinReplicas: 4, MaxReplicas: 2}, 4},
		"zero minimum scales to zero":           {0, 1, routing.Autoscale{MaxReplicas: 3}, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := desiredReplicas(tc.load, tc.maxConc, tc.a); got != tc.want {
				t.Errorf("desiredReplicas = %d, want %d", got, tc.want)
			}
		})
	}
}

// fakeScaler keeps Deployments' replicas in memory.
type fakeScaler struct {
	mu       sync.Mutex
	replicas map[string]int32
	updates  int
}

func (f *fakeScaler) getScale(_ context.Context, ns, name string) (*autoscalingv1.Scale, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv1.ScaleSpec{Replicas: f.replicas[ns+"/"+name]}}, nil
}

func (f *fakeScaler) updateScale(_ context.Context, ns string, s *autoscalingv1.Scale) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replicas[ns+"/"+s.Name] = s.Spec.Replicas
	f.updates++
	return nil
}

func (f *fakeScaler) get(key string) int32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.replicas[key]
}

// Scaling up is immediate; scaling down waits until fewer replicas were
// wanted for the whole delay, and goes to the most wanted meanwhile.
func TestAutoscaleDecisions(t *testing.T) {
	r := newProxyRouter(t, nil)
	v := testVersion("iris", "blue", 0, true)
	v.Autoscale = routing.Autoscale{Enabled: true, MinReplicas: 1, MaxReplicas: 5, TargetUtilization: 100}
	sr := testRouting("iris", v)
	sr.MaxConcurrentRequestsPerContainer = 1
	r.table.setRouting("s", sr)
	p := r.table.lookup("iris").versions[0].pool
	p.setEndpoints([]string{"10.0.0.1:5001", "10.0.0.2:5001", "10.0.0.3:5001", "10.0.0.4:5001", "10.0.0.5:5001"})

	now := time.Unix(1000, 0)
	fs := &fakeScaler{replicas: map[string]int32{testNS + "/iris-blue": 1}}
	a := &autoscaler{
		table: r.table, scaler: fs, now: func() time.Time { return now }, delay: time.Minute,
		peers: func() int { return 1 }, metrics: r.metrics, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		state: map[string]*scaleState{},
	}
	var held []*endpoint
	load := func(n int) {
		for len(held) > n {
			p.release(held[len(held)-1])
			held = held[:len(held)-1]
		}
		for len(held) < n {
			e, err := p.acquire(context.Background(), time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, e)
		}
	}
	step := func(d time.Duration, want int32) {
		t.Helper()
		now = now.Add(d)
		a.tick(context.Background())
		if got := fs.get(testNS + "/iris-blue"); got != want {
			t.Fatalf("at +%s replicas = %d, want %d", now.Sub(time.Unix(1000, 0)), got, want)
		}
	}
	step(0, 1)
	load(4)
	step(time.Second, 4) // at once
	load(2)
	step(time.Second, 4)
	step(30*time.Second, 4)
	load(3) // still below 4: the window goes on, its peak is 3
	step(20*time.Second, 4)
	load(1)
	step(9*time.Second, 4)  // 59 s below
	step(time.Second, 3)    // 60 s: down to the peak of the window
	step(30*time.Second, 3) // a new window starts
	load(4)
	step(time.Second, 4) // up ends the window
	load(0)
	step(time.Second, 4) // a window starts
	step(59*time.Second, 4)
	step(time.Second, 1)
	if fs.updates != 4 {
		t.Errorf("%d scale updates, want 4", fs.updates)
	}
	if m := send(front(t, r), "GET", "/metrics", "").Body.String(); !strings.Contains(m, `kubeml_router_replicas_desired{service="iris",version="blue"} 1`) {
		t.Errorf("metrics lack replicas_desired:\n%s", m)
	}
	load(0)
}

// Someone else's change is respected: the autoscaler never moves a
// Deployment against the direction it decided on.
func TestAutoscaleRereads(t *testing.T) {
	fs := &fakeScaler{replicas: map[string]int32{"ns/d": 5}}
	a := &autoscaler{scaler: fs, delay: time.Minute, log: slog.New(slog.NewTextHandler(io.Discard, nil)), state: map[string]*scaleState{}}
	now := time.Unix(0, 0)
	a.state["ns/d"] = &scaleState{current: 1, checked: now}
	if err := a.reconcile(context.Background(), "ns/d", "ns", "d", 3, now); err != nil {
		t.Fatal(err)
	}
	if fs.get("ns/d") != 5 || fs.updates != 0 {
		t.Errorf("scaled a Deployment of 5 to %d to go up to 3", fs.get("ns/d"))
	}
}
