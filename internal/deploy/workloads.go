package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// ServiceDeployments lists the model deployments kubeml runs on the
// cluster (a detach would cut them off from the workspace): in the
// namespaces its routing Secrets name and in those given. It lists per
// namespace, not cluster-wide: kubeml's own account holds no more.
func ServiceDeployments(ctx context.Context, cs kubernetes.Interface, namespaces ...string) ([]kubeobj.Object, error) {
	nss := map[string]bool{}
	for _, n := range namespaces {
		nss[n] = true
	}
	secs, err := cs.CoreV1().Secrets(routing.Namespace).List(ctx, metav1.ListOptions{LabelSelector: routing.SecretLabel + "=true"})
	if err != nil {
		return nil, fmt.Errorf("failed to list the routing Secrets: %w", err)
	}
	for _, s := range secs.Items {
		var sr routing.Service
		if json.Unmarshal(s.Data[routing.SecretKey], &sr) == nil && sr.Namespace != "" {
			nss[sr.Namespace] = true
		}
	}
	var out []kubeobj.Object
	for _, ns := range slices.Sorted(maps.Keys(nss)) {
		list, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: routing.ServiceLabel})
		if apierrors.IsForbidden(err) {
			continue // a namespace kubeml's account holds nothing in: nothing of kubeml's runs there
		}
		if err != nil {
			return nil, fmt.Errorf("failed to list model deployments in %s: %w", ns, err)
		}
		for _, d := range list.Items {
			out = append(out, kubeobj.Object{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name})
		}
	}
	return out, nil
}
