// Package attach is what kubeml does inside a Kubernetes cluster when a
// workspace attaches it and when it detaches it: a preflight report of
// named checks run against the live cluster, an exclusive attachment
// record written with compare-and-swap (claim and release), scoped
// credentials for kubeml's own service account, the scoring router's
// install with its readiness, status and address, and an uninstall that
// removes every object kubeml created and nothing else. Everything goes
// through client-go; nothing here knows about workspaces beyond the names
// recorded in the attachment. Deploying models on an attached cluster is
// package deploy.
package attach

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// Names of what kubeml keeps in the cluster.
const (
	// Namespace holds the attachment record and the router; it is the
	// router's namespace of the routing contract.
	Namespace = routing.Namespace
	// AttachmentName is the ConfigMap in Namespace naming who attached
	// the cluster.
	AttachmentName = "kubeml-attachment"
	// RouterName names the router's Deployment, Service, ServiceAccount,
	// Role, ClusterRole and their bindings.
	RouterName = routing.RouterAccount
	// RouterConfigName is the router's ConfigMap.
	RouterConfigName = "kubeml-router-config"
)

// ensureNamespace creates Namespace when missing. An existing namespace is
// left as it is, whoever made it.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface) error {
	return makeNamespace(ctx, cs, &corev1.Namespace{ObjectMeta: kubeobj.Meta("", Namespace, nil)})
}

// makeNamespace creates ns when missing. One still terminating after a
// detach is waited for, so an attach right after a detach works.
func makeNamespace(ctx context.Context, cs kubernetes.Interface, ns *corev1.Namespace) error {
	deadline := time.Now().Add(NamespaceDeleteTimeout)
	for {
		n, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if err == nil && n.DeletionTimestamp == nil {
			return nil // kubeml's own account may not create namespaces
		}
		if err != nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(kubeobj.PollInterval):
		}
	}
	_, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", ns.Name, err)
	}
	return nil
}
