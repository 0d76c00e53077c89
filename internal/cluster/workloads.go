package cluster

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ServiceLabel marks the Deployments of models kubeml serves on a cluster
// (its value names the web service).
const ServiceLabel = "kubeml.io/service"

// ServiceDeployments lists the model deployments kubeml runs on the cluster, in any
// namespace: a detach would cut them off from the workspace.
func ServiceDeployments(ctx context.Context, cs kubernetes.Interface) ([]Object, error) {
	list, err := cs.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: ServiceLabel})
	if err != nil {
		return nil, fmt.Errorf("failed to list model deployments: %w", err)
	}
	out := make([]Object, 0, len(list.Items))
	for _, d := range list.Items {
		out = append(out, Object{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name})
	}
	return out, nil
}
