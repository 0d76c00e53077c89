package simulated_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/provider"
)

var env *clustertest.Env

func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m, clustertest.Options{
		Provider: "simulated",
		Spec:     provider.Spec{Name: "sim", VMSize: "Standard_D3_v2", AgentCount: 3},
	}, &env))
}

func allocatableCPU(t *testing.T) (int64, int) {
	t.Helper()
	nodes, err := env.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cpu int64
	for _, n := range nodes.Items {
		cpu += n.Status.Allocatable.Cpu().Value()
	}
	return cpu, len(nodes.Items)
}

func TestThreeD3v2NodesOffer12CPUsAndRefuseMore(t *testing.T) {
	clustertest.Require(t, env)
	ctx := context.Background()
	if cpu, n := allocatableCPU(t); cpu != 12 || n != 3 {
		t.Fatalf("allocatable CPU = %d on %d nodes, want 12 on 3", cpu, n)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "too-big", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "kubeml.local/kubeml:any",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("5")}},
		}}},
	}
	if _, err := env.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	msg := waitFor(t, func() (string, bool) {
		p, err := env.Client.CoreV1().Pods("default").Get(ctx, "too-big", metav1.GetOptions{})
		if err != nil {
			return err.Error(), false
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return c.Message, p.Status.Phase == corev1.PodPending && strings.Contains(c.Message, "Insufficient cpu")
			}
		}
		return "no PodScheduled condition yet", false
	})
	t.Logf("scheduler: %s", msg)

	fits := pod.DeepCopy()
	fits.Name = "fits"
	fits.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("3")
	if _, err := env.Client.CoreV1().Pods("default").Create(ctx, fits, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() (string, bool) {
		p, err := env.Client.CoreV1().Pods("default").Get(ctx, "fits", metav1.GetOptions{})
		if err != nil {
			return err.Error(), false
		}
		return string(p.Status.Phase) + " on " + p.Spec.NodeName, p.Status.Phase == corev1.PodRunning
	})
}

func TestScaleAddsAndRemovesNodes(t *testing.T) {
	clustertest.Require(t, env)
	ctx := context.Background()
	c, err := env.Provider.Scale(ctx, "sim", 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cpu, n := allocatableCPU(t); cpu != 20 || n != 5 || c.AgentCount != 5 {
		t.Fatalf("after scale to 5: %d CPU on %d nodes (agentCount %d), want 20 on 5", cpu, n, c.AgentCount)
	}
	if _, err := env.Provider.Scale(ctx, "sim", 3, nil); err != nil {
		t.Fatal(err)
	}
	if cpu, n := allocatableCPU(t); cpu != 12 || n != 3 {
		t.Fatalf("after scale to 3: %d CPU on %d nodes, want 12 on 3", cpu, n)
	}
	got, err := env.Provider.Get(ctx, "sim")
	if err != nil || got.AgentCount != 3 || got.State != provider.StateRunning {
		t.Fatalf("Get = %+v, %v; want 3 agents, Running", got, err)
	}
}

func TestBadSpecsAreRefusedWithEveryProblem(t *testing.T) {
	clustertest.Require(t, env)
	_, err := env.Provider.Create(context.Background(), provider.Spec{Name: "Bad_Name", VMSize: "Standard_D3_v9", AgentCount: 0}, nil)
	if !errors.Is(err, provider.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, want := range []string{"Bad_Name", "Standard_D3_v2", "agent count 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := env.Provider.Create(context.Background(), provider.Spec{Name: "sim", AgentCount: 1}, nil); !errors.Is(err, provider.ErrAlreadyExists) {
		t.Errorf("second create of sim: err = %v, want ErrAlreadyExists", err)
	}
	if _, err := env.Provider.Get(context.Background(), "nope"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Get(nope): err = %v, want ErrNotFound", err)
	}
}

func TestGPUSizesBecomeNodeGPUs(t *testing.T) {
	clustertest.Require(t, env)
	ctx := context.Background()
	if _, err := env.Provider.Create(ctx, provider.Spec{Name: "gpu", VMSize: "standard_nc24s_v3", AgentCount: 2}, nil); err != nil {
		t.Fatal(err)
	}
	defer func() { // a deleted cluster leaves no lock file behind
		if err := env.Provider.Delete(ctx, "gpu", nil); err != nil {
			t.Fatal(err)
		}
		_ = filepath.WalkDir(env.Root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == "gpu.lock" {
				t.Errorf("the deleted cluster left %s", p)
			}
			return nil
		})
	}()
	_, cs, err := clustertest.Connect(ctx, env.Provider, "gpu")
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gpus int64
	for _, n := range nodes.Items {
		q := n.Status.Allocatable["nvidia.com/gpu"]
		gpus += q.Value()
		if n.Labels["node.kubernetes.io/instance-type"] != "Standard_NC24s_v3" {
			t.Errorf("node %s instance-type = %q", n.Name, n.Labels["node.kubernetes.io/instance-type"])
		}
	}
	if gpus != 8 {
		t.Fatalf("GPUs = %d, want 2 x 4", gpus)
	}
}

// waitFor polls cond for up to 30 s and returns its last message.
func waitFor(t *testing.T, cond func() (string, bool)) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msg, ok := cond()
		if ok {
			return msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
