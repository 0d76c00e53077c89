package router

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/routing"
)

// deployment is a Deployment of model pods (simulated: they run nothing).
func deployment(ns, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{routing.ServiceLabel: "iris", routing.VersionLabel: "blue"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "model", Image: "example.invalid/model:1"}}},
			},
		},
	}
}

// Under held-open load the leading router scales a Deployment up to its
// maximum at once, and back to its minimum only after the down-delay.
func TestAutoscaleDeployment(t *testing.T) {
	clustertest.Require(t, env)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	routerNS, modelNS := namespace(t, ctx, "rt-scale"), namespace(t, ctx, "models-scale")
	deps := env.Client.AppsV1().Deployments(modelNS)
	if _, err := deps.Create(ctx, deployment(modelNS, "iris-blue", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	blue := testVersion("iris", "blue", 0, true)
	blue.Autoscale = routing.Autoscale{Enabled: true, MinReplicas: 1, MaxReplicas: 3, TargetUtilization: 70}
	sr := testRouting("iris", blue)
	sr.Namespace, sr.MaxConcurrentRequestsPerContainer = modelNS, 1
	sr.MaxQueueWaitMs, sr.ScoringTimeoutMs = 60000, 60000
	if _, err := env.Client.CoreV1().Secrets(routerNS).Create(ctx, routingSecret(t, routerNS, sr), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const downDelay = 2 * time.Second
	r := startRouter(t, Config{Namespace: routerNS, Log: testLog(t), Autoscale: AutoscaleConfig{
		Interval: 100 * time.Millisecond, ScaleDownDelay: downDelay, Identity: "router-under-test",
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 200 * time.Millisecond,
	}})
	release := make(chan struct{})
	pod := backend(t, "blue", func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
		_, _ = io.WriteString(w, "ok")
	})
	setBackendsIn(t, r, modelNS, blue, addr(pod))

	replicas := func() int32 {
		d, err := deps.Get(ctx, "iris-blue", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}
	answers := make(chan int, 3)
	for range 3 { // one in flight, two queued: ceil(3 / 0.7) = 5, at most 3
		go func() { answers <- send(front(t, r), "POST", "/api/v1/service/iris/score", "{}").Code }()
	}
	eventually(t, 30*time.Second, "the Deployment scales up to 3", func() bool { return replicas() == 3 })

	lease, err := env.Client.CoordinationV1().Leases(routerNS).Get(ctx, LeaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "router-under-test" {
		t.Errorf("Lease %s: %v, %+v; want held by router-under-test", LeaseName, err, lease)
	}
	metrics := send(front(t, r), "GET", "/metrics", "").Body.String()
	if want := `kubeml_router_replicas_desired{service="iris",version="blue"} 3`; !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s", want)
	}

	released := time.Now()
	close(release)
	for range 3 {
		if code := <-answers; code != http.StatusOK {
			t.Errorf("held request = %d, want 200", code)
		}
	}
	eventually(t, 60*time.Second, "the Deployment scales back to 1", func() bool { return replicas() == 1 })
	if d := time.Since(released); d < downDelay {
		t.Errorf("scaled down %s after the load ended, before the down-delay of %s", d, downDelay)
	}
}
