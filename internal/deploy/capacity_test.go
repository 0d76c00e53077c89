package deploy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/deploy"
)

// The harness's cluster has three Standard_D3_v2 nodes: 4 CPU, 14 GiB.
func TestCheckCapacityCountsWhatIsFree(t *testing.T) {
	clustertest.Require(t, env)
	cs, ctx, ns := fastClient(t), ctxFor(t, time.Minute), "ws-capacity"
	webServiceEnv(t, cs, ns)
	// New nodes keep the not-ready taint for a moment after turning Ready.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(nodes.Items, func(n corev1.Node) bool { return len(n.Spec.Taints) > 0 }) || time.Now().After(deadline) {
			break
		}
	}
	need := func(cpu, mem string, n int) deploy.Need {
		return deploy.Need{CPU: resource.MustParse(cpu), Memory: resource.MustParse(mem), Replicas: n}
	}
	if err := deploy.CheckCapacity(ctx, cs, []deploy.Need{need("1", "1Gi", 6), need("100m", "512Mi", 10)}); err != nil {
		t.Errorf("6 x 1 CPU and 10 x 0.1 CPU on 3 x 4 CPU: %v", err)
	}

	// A pod taking 3 CPU of agent-0 leaves it 1.
	hog := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "hog", Namespace: ns}, Spec: corev1.PodSpec{NodeName: "agent-0",
		Containers: []corev1.Container{{Name: "hog", Image: "hog", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3"), corev1.ResourceMemory: resource.MustParse("1536Mi")}}}}}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, hog, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Pods(ns).Delete(context.Background(), "hog", metav1.DeleteOptions{}) })

	err := deploy.CheckCapacity(ctx, cs, []deploy.Need{need("3", "512Mi", 3)})
	var ce *deploy.CapacityError
	if !errors.As(err, &ce) || ce.Fits != 2 || len(ce.Nodes) != 3 {
		t.Fatalf("3 x 3 CPU with agent-0 busy: %v, want a CapacityError with room for 2", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"needs 3 replicas of 3 CPU and 0.5 GiB",
		"the cluster has room for 2",
		"node agent-0 has 1 CPU and 12.5 GiB free (of 4 CPU, 14 GiB)",
		"node agent-1 has 4 CPU and 14 GiB free (of 4 CPU, 14 GiB)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	t.Log(msg)

	// Several needs are placed together, largest first.
	err = deploy.CheckCapacity(ctx, cs, []deploy.Need{need("1", "1Gi", 3), need("2", "1Gi", 4)})
	if !errors.As(err, &ce) || ce.Fits != 5 || !strings.Contains(err.Error(), "room for 5 of the 7") {
		t.Errorf("3 x 1 CPU + 4 x 2 CPU (11 CPU) on 9 free CPU: %v", err)
	}
	if err := deploy.CheckCapacity(ctx, cs, []deploy.Need{need("1", "1Gi", 3), need("2", "1Gi", 3)}); err != nil {
		t.Errorf("3 x 1 CPU + 3 x 2 CPU on 9 free CPU: %v", err)
	}
	err = deploy.CheckCapacity(ctx, cs, []deploy.Need{need("100m", "15Gi", 1)})
	if !errors.As(err, &ce) || ce.Fits != 0 || !strings.Contains(err.Error(), "needs 1 replica of 0.1 CPU and 15 GiB; the cluster has room for 0") {
		t.Errorf("a replica larger than any node: %v", err)
	}
}
