package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/deploy"
	"github.com/kubeml/kubeml/internal/kubeobj"
)

// scale sets a Deployment's replicas as the router's autoscaler would.
func scale(t *testing.T, cs kubernetes.Interface, ns, name string, n int32) {
	t.Helper()
	s, err := cs.AppsV1().Deployments(ns).GetScale(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Replicas = n
	if _, err := cs.AppsV1().Deployments(ns).UpdateScale(t.Context(), name, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func replicas(t *testing.T, cs kubernetes.Interface, ns, name string) int32 {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

func TestWebServiceUpdatesRoutingReplicasAndVersions(t *testing.T) {
	clustertest.Require(t, env)
	cs, ctx, ns := fastClient(t), ctxFor(t, 2*time.Minute), "ws-update"
	webServiceEnv(t, cs, ns)
	ws := fashion(ns, modelFile("small.json", randomBytes(5000, 2), nil))
	t.Cleanup(func() { deploy.DeleteWebService(context.Background(), cs, ns, "fashion") })
	if err := deploy.ApplyWebService(ctx, cs, ws, nil); err != nil {
		t.Fatal(err)
	}

	// A new traffic split changes the Secret and nothing else.
	before := resourceVersions(t, cs, ns)
	ws.Routing.Versions[0].TrafficPercentile = 30
	if err := deploy.UpdateRouting(ctx, cs, deploy.WebService{Name: ws.Name, Namespace: ns, Versions: ws.Versions, Routing: ws.Routing}); err != nil {
		t.Fatal(err)
	}
	after := resourceVersions(t, cs, ns)
	for i := range before {
		if changed := before[i] != after[i]; changed != strings.HasPrefix(before[i], "Secret/kubeml-svc-fashion@") {
			t.Errorf("UpdateRouting: %s -> %s", before[i], after[i])
		}
	}
	if r, _ := readRouting(t, cs, "fashion"); r.Versions[0].TrafficPercentile != 30 || r.Versions[0].Deployment != "fashion-v1" {
		t.Errorf("routing after UpdateRouting: %+v", r.Versions)
	}

	// The autoscaler's count survives an update; a fixed count does not.
	scale(t, cs, ns, "fashion-v1", 5)
	scale(t, cs, ns, "fashion-v2", 3)
	if err := deploy.ApplyWebService(ctx, cs, ws, nil); err != nil {
		t.Fatal(err)
	}
	if v1, v2 := replicas(t, cs, ns, "fashion-v1"), replicas(t, cs, ns, "fashion-v2"); v1 != 2 || v2 != 3 {
		t.Errorf("replicas after apply: v1 %d (want 2, fixed), v2 %d (want 3, autoscaled)", v1, v2)
	}

	// A version that disappears is deleted with its Service and budget.
	ws.Versions = ws.Versions[:1]
	ws.Routing.Versions = ws.Routing.Versions[:1]
	if err := deploy.ApplyWebService(ctx, cs, ws, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments(ns).Get(ctx, "fashion-v2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment fashion-v2 after removing v2: %v", err)
	}
	if _, err := cs.CoreV1().Services(ns).Get(ctx, "fashion-v2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Service fashion-v2 after removing v2: %v", err)
	}
	if _, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "fashion-v2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("PDB fashion-v2 after removing v2: %v", err)
	}
	if r, _ := readRouting(t, cs, "fashion"); len(r.Versions) != 1 || !r.Versions[0].IsDefault {
		t.Errorf("routing after removing v2: %+v", r.Versions)
	}

	// Invalid services are refused with every problem at once.
	bad := ws
	bad.Image, bad.Versions = "", append(ws.Versions[:1:1], deploy.Version{Name: "V_2"})
	err := deploy.ApplyWebService(ctx, cs, bad, nil)
	for _, want := range []string{"no image", `"V_2"`, "SHA-256", "256 MiB"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("invalid service: %v; want it to mention %s", err, want)
		}
	}
}

func TestDeleteWebServiceKeepsModelsStillUsed(t *testing.T) {
	clustertest.Require(t, env)
	cs, ctx, ns := fastClient(t), ctxFor(t, 2*time.Minute), "ws-delete"
	webServiceEnv(t, cs, ns)
	shared := modelFile("shared.json", randomBytes(1_000_000, 3), nil)
	own := modelFile("own.json", randomBytes(2000, 4), nil)
	a := fashion(ns, shared)
	a.Versions = a.Versions[:1]
	a.Routing.Versions = nil
	b := fashion(ns, shared)
	b.Name, b.Versions[1].Model, b.Routing.Versions = "other", own, nil
	for _, ws := range []deploy.WebService{a, b} {
		t.Cleanup(func() { deploy.DeleteWebService(context.Background(), cs, ns, ws.Name) })
		if err := deploy.ApplyWebService(ctx, cs, ws, nil); err != nil {
			t.Fatal(err)
		}
	}
	parts := func() []string {
		var out []string
		for _, m := range []deploy.ModelFile{shared, own} {
			for i := range 2 {
				if _, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, deploy.ModelPartName(m.SHA256, i), metav1.GetOptions{}); err == nil {
					out = append(out, m.Name)
				}
			}
		}
		return out
	}
	if got := strings.Join(parts(), " "); got != "shared.json shared.json own.json" {
		t.Fatalf("model parts before delete: %s", got)
	}
	if err := deploy.DeleteWebService(ctx, cs, ns, "fashion"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(parts(), " "); got != "shared.json shared.json own.json" {
		t.Errorf("model parts after deleting fashion: %s, want the shared model kept for other", got)
	}
	for range 2 { // deleting again is fine
		if err := deploy.DeleteWebService(ctx, cs, ns, "other"); err != nil {
			t.Fatal(err)
		}
	}
	if got := parts(); len(got) != 0 {
		t.Errorf("model parts after deleting both: %v", got)
	}
	managed, err := kubeobj.List(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range managed {
		if o.Namespace == ns || o.Kind == "Secret" {
			t.Errorf("left after delete: %v", o)
		}
	}
	pdbs, _ := cs.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
	if len(pdbs.Items) != 0 {
		t.Errorf("%d PDBs left after delete", len(pdbs.Items))
	}
}

func TestWaitWebServiceSurfacesUnschedulable(t *testing.T) {
	clustertest.Require(t, env)
	cs, ns := fastClient(t), "ws-unsched"
	webServiceEnv(t, cs, ns)
	ws := fashion(ns, modelFile("m.json", randomBytes(100, 5), nil))
	ws.Versions, ws.Routing.Versions = ws.Versions[:1], nil
	ws.Versions[0].CPU, ws.Versions[0].CPULimit, ws.Versions[0].Replicas = resource.MustParse("64"), nil, 1
	t.Cleanup(func() { deploy.DeleteWebService(context.Background(), cs, ns, "fashion") })
	if err := deploy.ApplyWebService(ctxFor(t, time.Minute), cs, ws, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := deploy.WaitWebService(ctxFor(t, time.Minute), cs, ws, nil)
	var de *deploy.DeployError
	if !errors.As(err, &de) || de.Reason != deploy.ReasonUnschedulable || !strings.Contains(de.Message, "Insufficient cpu") ||
		de.Version != "v1" || de.Pod == "" {
		t.Fatalf("err = %#v, want Unschedulable with the scheduler's message", err)
	}
	t.Logf("in %v: %v", time.Since(start), err)
}
