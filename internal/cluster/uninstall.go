package cluster

import (
	"context"
	"fmt"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
)

// NamespaceDeleteTimeout bounds Uninstall's wait for Namespace to go.
const NamespaceDeleteTimeout = 60 * time.Second

// deleter is the part of a client-go typed client that remove needs.
type deleter[T metav1.Object] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// remove deletes the named object if kubeml made it (it carries the
// managed-by label), pinned to the UID that was checked. Absent or foreign
// objects are left as they are.
func remove[T metav1.Object](ctx context.Context, c deleter[T], o Object) error {
	cur, err := c.Get(ctx, o.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", o, err)
	}
	if !isManaged(cur.GetLabels()) || cur.GetDeletionTimestamp() != nil {
		return nil
	}
	uid, bg := cur.GetUID(), metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &bg}
	if err := c.Delete(ctx, o.Name, opts); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete %s: %w", o, err)
	}
	return nil
}

// Uninstall deletes everything Install made, releases the attachment a and
// deletes Namespace, waiting up to a minute for it to be gone. It touches
// only objects carrying the managed-by=kubeml label and never the cluster.
// A cluster attached as something other than a is left untouched
// (ErrAttached).
func Uninstall(ctx context.Context, cs kubernetes.Interface, a Attachment) error {
	cur, err := ReadAttachment(ctx, cs)
	if err != nil {
		return err
	}
	if cur != nil && !cur.Same(a) {
		return fmt.Errorf("failed to detach compute %q: %w: %s", a.ComputeName, ErrAttached, cur.Describe())
	}
	core, rbac := cs.CoreV1(), cs.RbacV1()
	ns := func(kind string) Object { return Object{Kind: kind, Namespace: Namespace, Name: RouterName} }
	steps := []func() error{
		func() error { return remove(ctx, core.Services(Namespace), ns("Service")) },
		func() error { return remove(ctx, cs.AppsV1().Deployments(Namespace), ns("Deployment")) },
		func() error {
			return remove(ctx, core.Secrets(Namespace), Object{"Secret", Namespace, RouterTLSName})
		},
		func() error {
			return remove(ctx, core.ConfigMaps(Namespace), Object{"ConfigMap", Namespace, RouterConfigName})
		},
		func() error { return remove(ctx, rbac.RoleBindings(Namespace), ns("RoleBinding")) },
		func() error { return remove(ctx, rbac.Roles(Namespace), ns("Role")) },
		func() error { return remove(ctx, core.ServiceAccounts(Namespace), ns("ServiceAccount")) },
		func() error {
			return remove(ctx, rbac.ClusterRoleBindings(), Object{"ClusterRoleBinding", "", RouterName})
		},
		func() error { return remove(ctx, rbac.ClusterRoles(), Object{"ClusterRole", "", RouterName}) },
		func() error { return Release(ctx, cs, a) },
		func() error { return remove(ctx, core.Namespaces(), Object{"Namespace", "", Namespace}) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return waitNamespaceGone(ctx, cs)
}

// waitNamespaceGone waits until Namespace no longer exists, or, when it
// still exists but kubeml did not make it, returns at once.
func waitNamespaceGone(ctx context.Context, cs kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, NamespaceDeleteTimeout)
	defer cancel()
	for {
		n, err := cs.CoreV1().Namespaces().Get(ctx, Namespace, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err):
			return nil // scoped credentials: kubeml's account went with the namespace
		case err == nil && n.DeletionTimestamp == nil:
			return nil // not ours: left in place
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("failed to read namespace %s: %w", Namespace, err)
		}
		select {
		case <-ctx.Done():
			msg := ""
			if n != nil {
				for _, c := range n.Status.Conditions {
					if c.Status == "True" {
						msg += "; " + c.Message
					}
				}
			}
			return fmt.Errorf("failed to delete namespace %s: still terminating%s: %w", Namespace, msg, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// Managed lists every object in the cluster carrying the managed-by=kubeml
// label, sorted by kind, namespace and name.
func Managed(ctx context.Context, cs kubernetes.Interface) ([]Object, error) {
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
