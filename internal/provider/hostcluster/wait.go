package hostcluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// WaitNodesReady waits until exactly want nodes match selector and all of
// them are Ready.
func WaitNodesReady(ctx context.Context, cs kubernetes.Interface, selector string, want int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var last string
	for {
		list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			ready := 0
			for _, n := range list.Items {
				if NodeReady(&n) {
					ready++
				}
			}
			if ready == want && len(list.Items) == want {
				return nil
			}
			last = fmt.Sprintf("%d of %d nodes Ready (%d exist)", ready, want, len(list.Items))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nodes not ready: %s", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// NodeReady reports whether the node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
