package attach

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// NamespaceDeleteTimeout bounds Uninstall's wait for Namespace to go.
const NamespaceDeleteTimeout = 60 * time.Second

// Uninstall deletes everything InstallRouter made, releases the attachment a and
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
	ns := func(kind string) kubeobj.Object {
		return kubeobj.Object{Kind: kind, Namespace: Namespace, Name: RouterName}
	}
	steps := []func() error{
		func() error { return kubeobj.Remove(ctx, core.Services(Namespace), ns("Service")) },
		func() error { return kubeobj.Remove(ctx, cs.AppsV1().Deployments(Namespace), ns("Deployment")) },
		func() error {
			return kubeobj.Remove(ctx, core.Secrets(Namespace), kubeobj.Object{Kind: "Secret", Namespace: Namespace, Name: RouterTLSName})
		},
		func() error {
			return kubeobj.Remove(ctx, core.Secrets(Namespace), kubeobj.Object{Kind: "Secret", Namespace: Namespace, Name: routing.MetricsSecret})
		},
		func() error {
			return kubeobj.Remove(ctx, core.ConfigMaps(Namespace), kubeobj.Object{Kind: "ConfigMap", Namespace: Namespace, Name: RouterConfigName})
		},
		func() error { return kubeobj.Remove(ctx, rbac.RoleBindings(Namespace), ns("RoleBinding")) },
		func() error { return kubeobj.Remove(ctx, rbac.Roles(Namespace), ns("Role")) },
		func() error { return kubeobj.Remove(ctx, core.ServiceAccounts(Namespace), ns("ServiceAccount")) },
		// The router's cluster-wide rights, from kubeml releases before
		// they were per namespace; kubeml's own account may not remove
		// them (nor hold them: then there are none).
		func() error {
			return ignoreForbidden(kubeobj.Remove(ctx, rbac.ClusterRoleBindings(), kubeobj.Object{Kind: "ClusterRoleBinding", Name: RouterName}))
		},
		func() error {
			return ignoreForbidden(kubeobj.Remove(ctx, rbac.ClusterRoles(), kubeobj.Object{Kind: "ClusterRole", Name: RouterName}))
		},
		func() error { return Release(ctx, cs, a) },
		func() error {
			return kubeobj.Remove(ctx, core.Namespaces(), kubeobj.Object{Kind: "Namespace", Name: Namespace})
		},
		// kubeml's own account and its token: last, as this may be that
		// account (the garbage collector would take it with
		// kubeml-system anyway, but later).
		func() error {
			return ignoreForbidden(kubeobj.Remove(ctx, core.Namespaces(), kubeobj.Object{Kind: "Namespace", Name: AgentName}))
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if err := waitNamespaceGone(ctx, cs, Namespace); err != nil {
		return err
	}
	return waitNamespaceGone(ctx, cs, AgentName)
}

// waitNamespaceGone waits until namespace name no longer exists, or, when
// it still exists but is not being deleted (kubeml did not make it), or
// kubeml's account went with it, returns at once.
func waitNamespaceGone(ctx context.Context, cs kubernetes.Interface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, NamespaceDeleteTimeout)
	defer cancel()
	for {
		n, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err):
			return nil // scoped credentials: kubeml's account went with the namespace
		case err == nil && n.DeletionTimestamp == nil:
			return nil // not ours: left in place
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("failed to read namespace %s: %w", name, err)
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
			return fmt.Errorf("failed to delete namespace %s: still terminating%s: %w", name, msg, ctx.Err())
		case <-time.After(kubeobj.PollInterval):
		}
	}
}

func ignoreForbidden(err error) error {
	if apierrors.IsForbidden(err) {
		return nil
	}
	return err
}
