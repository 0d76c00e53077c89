package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// grantRouter gives the router, in ns, exactly what it needs there:
// watching EndpointSlices (to find model pods) and scaling the Deployments
// of kubeml's model services, listed by name, so it can scale nothing
// else. It also installs a NetworkPolicy letting only the router's pods
// reach the model pods (where the cluster enforces NetworkPolicy; a router
// on the host network has no pod address to allow, and there is none).
// With no model Deployment left in ns it takes all of that away. What it
// makes is owned by the router's namespace: a detach that deletes it
// removes them too.
//
// Two operations in one namespace may run at once, each writing what it
// listed: so each lists again after writing and writes again until what
// it wrote is what is there. A cluster whose kubeml account an older
// release made cannot write these (Forbidden): there the router still
// holds its old cluster-wide rights, and nothing is done.
func grantRouter(ctx context.Context, cs kubernetes.Interface, ns string) error {
	names, err := modelDeployments(ctx, cs, ns)
	for try := 0; err == nil; try++ {
		if err = writeRouterAccess(ctx, cs, ns, names); err != nil {
			break
		}
		var now []string
		if now, err = modelDeployments(ctx, cs, ns); err == nil && slices.Equal(now, names) {
			return nil
		} else if try == 9 {
			return fmt.Errorf("failed to settle the router's rights in %s: its model Deployments keep changing", ns)
		}
		names = now
	}
	if apierrors.IsForbidden(err) {
		return nil
	}
	return err
}

// modelDeployments names kubeml's live model Deployments in ns, sorted.
func modelDeployments(ctx context.Context, cs kubernetes.Interface, ns string) ([]string, error) {
	l, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: routing.ServiceLabel + "," + kubeobj.ManagedSelector})
	if err != nil {
		return nil, fmt.Errorf("failed to list the model Deployments in %s: %w", ns, err)
	}
	var names []string
	for _, d := range l.Items {
		if d.DeletionTimestamp == nil {
			names = append(names, d.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// writeRouterAccess makes the router's Role, binding and the models'
// NetworkPolicy in ns for the model Deployments names, or removes them
// when there are none.
func writeRouterAccess(ctx context.Context, cs kubernetes.Interface, ns string, names []string) error {
	rbac := cs.RbacV1()
	obj := func(kind string) kubeobj.Object {
		return kubeobj.Object{Kind: kind, Namespace: ns, Name: routing.RouterModelsRole}
	}
	policies := cs.NetworkingV1().NetworkPolicies(ns)
	if len(names) == 0 {
		return errors.Join(
			kubeobj.Remove(ctx, policies, obj("NetworkPolicy")),
			kubeobj.Remove(ctx, rbac.RoleBindings(ns), obj("RoleBinding")),
			kubeobj.Remove(ctx, rbac.Roles(ns), obj("Role")))
	}
	owner, err := cs.CoreV1().Namespaces().Get(ctx, routing.Namespace, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("failed to read namespace %s: %w", routing.Namespace, err)
	}
	role := &rbacv1.Role{ObjectMeta: routerModelsMeta(ns, owner), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, Verbs: []string{"get", "update"}, ResourceNames: names},
	}}
	if err := applyRetry(ctx, rbac.Roles(ns), "Role", role, nil); err != nil {
		return err
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: routerModelsMeta(ns, owner),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: routing.RouterModelsRole},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: routing.RouterAccount, Namespace: routing.Namespace}}}
	if err := applyRetry(ctx, rbac.RoleBindings(ns), "RoleBinding", binding, nil); err != nil {
		return err
	}
	router, err := cs.AppsV1().Deployments(routing.Namespace).Get(ctx, routing.RouterAccount, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to read the router: %w", err)
	}
	if err != nil || router.Spec.Template.Spec.HostNetwork {
		return kubeobj.Remove(ctx, policies, obj("NetworkPolicy"))
	}
	return applyRetry(ctx, policies, "NetworkPolicy", modelsPolicy(ns, owner, router.Spec.Selector.MatchLabels), nil)
}

// modelsPolicy lets only the router's pods (routerLabels, in the router's
// namespace) reach the model pods of ns, on the model port.
func modelsPolicy(ns string, owner *corev1.Namespace, routerLabels map[string]string) *networkingv1.NetworkPolicy {
	port := intstr.FromInt32(routing.ModelPort)
	tcp := corev1.ProtocolTCP
	return &networkingv1.NetworkPolicy{ObjectMeta: routerModelsMeta(ns, owner), Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: routing.ServiceLabel, Operator: metav1.LabelSelectorOpExists}}},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: routing.Namespace}},
				PodSelector:       &metav1.LabelSelector{MatchLabels: routerLabels},
			}},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
		}},
	}}
}

func routerModelsMeta(ns string, owner *corev1.Namespace) metav1.ObjectMeta {
	m := kubeobj.Meta(ns, routing.RouterModelsRole, map[string]string{kubeobj.ComponentLabel: "router"})
	m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Namespace", Name: owner.Name, UID: owner.UID}}
	return m
}
