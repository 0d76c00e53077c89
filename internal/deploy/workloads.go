package deploy

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// ServiceDeployments lists the model deployments kubeml runs on the cluster, in any
// namespace: a detach would cut them off from the workspace.
func ServiceDeployments(ctx context.Context, cs kubernetes.Interface) ([]kubeobj.Object, error) {
	list, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: routing.ServiceLabel})
	if err != nil {
		return nil, fmt.Errorf("failed to list model deployments: %w", err)
	}
	out := make([]kubeobj.Object, 0, len(list.Items))
	for _, d := range list.Items {
		out = append(out, kubeobj.Object{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name})
	}
	return out, nil
}
