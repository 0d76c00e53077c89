// Package cluster is what kubeml does inside a Kubernetes cluster when a
// workspace attaches it: a preflight report of named checks run against the
// live cluster, an exclusive attachment record written with
// compare-and-swap, the in-cluster system services (the router) with their
// readiness, and a detach that removes every object kubeml created and
// nothing else. Everything goes through client-go; nothing here knows about
// workspaces beyond the names recorded in the attachment.
package cluster

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Names of what kubeml keeps in the cluster.
const (
	// Namespace holds the attachment record and the system services.
	Namespace = "kubeml-system"
	// AttachmentName is the ConfigMap in Namespace naming who attached
	// the cluster.
	AttachmentName = "kubeml-attachment"
	// RouterName names the router's Deployment, Service, ServiceAccount,
	// Role, ClusterRole and their bindings.
	RouterName = "kubeml-router"
	// RouterConfigName is the router's ConfigMap.
	RouterConfigName = "kubeml-router-config"
)

// Labels every object kubeml creates carries.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	PartOfLabel    = "app.kubernetes.io/part-of"
	NameLabel      = "app.kubernetes.io/name"
	ComponentLabel = "app.kubernetes.io/component"
	kubeml         = "kubeml"
	// ManagedSelector selects every object kubeml created.
	ManagedSelector = ManagedByLabel + "=" + kubeml
)

// Object names one object kubeml manages. Namespace is empty for
// cluster-scoped kinds.
type Object struct{ Kind, Namespace, Name string }

// String renders the object as Kind/namespace/name (Kind/name when
// cluster-scoped).
func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// labels returns the managed labels plus extra.
func labels(extra map[string]string) map[string]string {
	l := map[string]string{ManagedByLabel: kubeml, PartOfLabel: kubeml}
	maps.Copy(l, extra)
	return l
}

// isManaged reports whether an object's labels say kubeml made it.
func isManaged(l map[string]string) bool { return l[ManagedByLabel] == kubeml }

// meta returns object metadata in Namespace (or cluster-scoped when ns is
// empty) with the managed labels plus extra.
func meta(ns, name string, extra map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels(extra)}
}

// ensureNamespace creates Namespace when missing. An existing namespace is
// left as it is, whoever made it.
func ensureNamespace(ctx context.Context, cs kubernetes.Interface) error {
	// A namespace still terminating after a detach is waited for, so an
	// attach right after a detach works.
	deadline := time.Now().Add(NamespaceDeleteTimeout)
	for {
		n, err := cs.CoreV1().Namespaces().Get(ctx, Namespace, metav1.GetOptions{})
		if err != nil || n.DeletionTimestamp == nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
	ns := &corev1.Namespace{ObjectMeta: meta("", Namespace, nil)}
	_, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", Namespace, err)
	}
	return nil
}
