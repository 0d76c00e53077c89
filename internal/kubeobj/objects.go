package kubeobj

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
)

// Client is the part of a client-go typed client that Apply needs.
type Client[T metav1.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
}

// Apply creates obj or, when it exists, updates it to obj. keep copies
// immutable fields from the existing object (nil for none). An existing
// object kubeml did not make is refused, not taken over.
func Apply[T metav1.Object](ctx context.Context, c Client[T], kind string, obj T, keep func(cur, obj T)) (Object, error) {
	o := Object{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}
	_, err := c.Create(ctx, obj, metav1.CreateOptions{})
	if err == nil || !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return o, fmt.Errorf("failed to create %s: %w", o, err)
		}
		return o, nil
	}
	cur, err := c.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return o, fmt.Errorf("failed to read %s: %w", o, err)
	}
	if !IsManaged(cur.GetLabels()) {
		return o, fmt.Errorf("failed to update %s: it exists and is not managed by kubeml", o)
	}
	obj.SetResourceVersion(cur.GetResourceVersion())
	if keep != nil {
		keep(cur, obj)
	}
	if _, err := c.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		return o, fmt.Errorf("failed to update %s: %w", o, err)
	}
	return o, nil
}

// KeepClusterIP carries a Service's immutable cluster IPs into an update.
func KeepClusterIP(cur, obj *corev1.Service) {
	obj.Spec.ClusterIP = cur.Spec.ClusterIP
	obj.Spec.ClusterIPs = cur.Spec.ClusterIPs
	obj.Spec.IPFamilies = cur.Spec.IPFamilies
}

// Deleter is the part of a client-go typed client that Remove needs.
type Deleter[T metav1.Object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// Remove deletes the named object if kubeml made it (it carries the
// managed-by label), pinned to the UID that was checked. Absent or foreign
// objects are left as they are.
func Remove[T metav1.Object](ctx context.Context, c Deleter[T], o Object) error {
	cur, err := c.Get(ctx, o.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", o, err)
	}
	if !IsManaged(cur.GetLabels()) || cur.GetDeletionTimestamp() != nil {
		return nil
	}
	uid, bg := cur.GetUID(), metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &bg}
	if err := c.Delete(ctx, o.Name, opts); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete %s: %w", o, err)
	}
	return nil
}

// List lists every object in the cluster carrying the managed-by=kubeml
// label, sorted by kind, namespace and name.
func List(ctx context.Context, cs kubernetes.Interface) ([]Object, error) {
	opts := metav1.ListOptions{LabelSelector: ManagedSelector}
	core, rbac := cs.CoreV1(), cs.RbacV1()
	lists := []struct {
		kind string
		list func() ([]metav1.Object, error)
	}{
		{"ConfigMap", func() ([]metav1.Object, error) { l, err := core.ConfigMaps("").List(ctx, opts); return ptrs(l, err) }},
		{"ServiceAccount", func() ([]metav1.Object, error) {
			l, err := core.ServiceAccounts("").List(ctx, opts)
			return ptrs(l, err)
		}},
		{"Service", func() ([]metav1.Object, error) { l, err := core.Services("").List(ctx, opts); return ptrs(l, err) }},
		{"Secret", func() ([]metav1.Object, error) { l, err := core.Secrets("").List(ctx, opts); return ptrs(l, err) }},
		{"Deployment", func() ([]metav1.Object, error) {
			l, err := cs.AppsV1().Deployments("").List(ctx, opts)
			return ptrs(l, err)
		}},
		{"Role", func() ([]metav1.Object, error) { l, err := rbac.Roles("").List(ctx, opts); return ptrs(l, err) }},
		{"RoleBinding", func() ([]metav1.Object, error) { l, err := rbac.RoleBindings("").List(ctx, opts); return ptrs(l, err) }},
		{"ClusterRole", func() ([]metav1.Object, error) { l, err := rbac.ClusterRoles().List(ctx, opts); return ptrs(l, err) }},
		{"ClusterRoleBinding", func() ([]metav1.Object, error) {
			l, err := rbac.ClusterRoleBindings().List(ctx, opts)
			return ptrs(l, err)
		}},
		{"Namespace", func() ([]metav1.Object, error) { l, err := core.Namespaces().List(ctx, opts); return ptrs(l, err) }},
	}
	var out []Object
	for _, l := range lists {
		objs, err := l.list()
		if err != nil {
			return nil, fmt.Errorf("failed to list %ss: %w", l.kind, err)
		}
		for _, o := range objs {
			out = append(out, Object{Kind: l.kind, Namespace: o.GetNamespace(), Name: o.GetName()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// ptrs returns the items of a typed list as object metadata.
func ptrs(l runtime.Object, err error) ([]metav1.Object, error) {
	if err != nil {
		return nil, err
	}
	items, err := apimeta.ExtractList(l)
	if err != nil {
		return nil, err
	}
	out := make([]metav1.Object, 0, len(items))
	for _, it := range items {
		m, err := apimeta.Accessor(it)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
