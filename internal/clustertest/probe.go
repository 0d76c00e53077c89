package clustertest

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// ProbePod is the pod "probe" in namespace default: kubeml's image (never
// pulled) running its probe-server on port 8080, Ready once it answers.
func ProbePod(image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "probe", Image: image, ImagePullPolicy: corev1.PullNever,
			Args:           []string{"probe-server", "--listen", ":8080"},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
		}}},
	}
}

// RunProbe creates ProbePod and returns its IP once it is Ready.
func RunProbe(t testing.TB, cs kubernetes.Interface, image string) string {
	t.Helper()
	if _, err := cs.CoreV1().Pods("default").Create(context.Background(), ProbePod(image), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ProbeIP(t, cs)
}

// ProbeIP waits up to 90 s for the probe pod to be Ready and returns its IP.
func ProbeIP(t testing.TB, cs kubernetes.Interface) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), "probe", metav1.GetOptions{})
		if err == nil && p.Status.PodIP != "" {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					return p.Status.PodIP
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe pod not ready: %v %+v", err, p)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
