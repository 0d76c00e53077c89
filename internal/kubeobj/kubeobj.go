// Package kubeobj is how kubeml treats the objects it keeps in a
// Kubernetes cluster, for the attach and the deploy machinery alike: every
// object carries the managed-by=kubeml labels; an update never takes over
// an object kubeml did not make, and a delete touches only objects kubeml
// made, pinned to the UID it checked. It also reads Deployments' and pods'
// readiness the same way for the router and for model services.
package kubeobj

import (
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// PollInterval is how often kubeml looks again at objects it waits for.
const PollInterval = 250 * time.Millisecond

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

// Labels returns the managed labels plus extra.
func Labels(extra map[string]string) map[string]string {
	l := map[string]string{ManagedByLabel: kubeml, PartOfLabel: kubeml}
	maps.Copy(l, extra)
	return l
}

// IsManaged reports whether an object's labels say kubeml made it.
func IsManaged(l map[string]string) bool { return l[ManagedByLabel] == kubeml }

// Meta returns object metadata in namespace ns (or cluster-scoped when ns
// is empty) with the managed labels plus extra.
func Meta(ns, name string, extra map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: Labels(extra)}
}

// LocalRegistry names the images kubeml makes of its own binary and loads
// into the nodes of local clusters itself: no registry serves them.
const LocalRegistry = "kubeml.local"

// PullPolicy is the pull policy for image: Never for kubeml's own local
// images (a pull could only fail, after asking DNS for kubeml.local, and
// hide the real reason: the image is not on the node), IfNotPresent for
// any other.
func PullPolicy(image string) corev1.PullPolicy {
	if strings.HasPrefix(image, LocalRegistry+"/") {
		return corev1.PullNever
	}
	return corev1.PullIfNotPresent
}
