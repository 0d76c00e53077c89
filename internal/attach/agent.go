package attach

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubeml/kubeml/internal/kubeobj"
)

// AgentName names kubeml's own service account (and its Roles,
// ClusterRole and bindings) that scoped credentials use, and the
// namespace holding only that account and its token: not kubeml-system,
// whose Secrets the router can list.
const AgentName = "kubeml-agent"

// ScopedKubeconfig makes kubeml's own service account holding only the
// rights kubeml needs (agentRights) in kubeml-system and the workload
// namespace (made if missing, never deleted by kubeml), and returns a
// kubeconfig with its token for server and CA, to keep instead of the
// user's (admin) credentials. Everything made outside kubeml-system is
// owned by that namespace, so deleting it at detach removes it too (by
// the garbage collector: the account cannot remove its own rights and
// then act).
func ScopedKubeconfig(ctx context.Context, cs kubernetes.Interface, workload, server string, ca []byte, serverName string, insecure bool) ([]byte, error) {
	if workload == "" {
		workload = "default"
	}
	if err := ensureNamespace(ctx, cs); err != nil {
		return nil, err
	}
	if err := ensureWorkloadNamespace(ctx, cs, workload); err != nil {
		return nil, err
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, Namespace, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to read namespace %s: %w", Namespace, err)
	}
	owner := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Namespace", Name: ns.Name, UID: ns.UID}}
	agent := map[string]string{kubeobj.ComponentLabel: "agent"}
	home := &corev1.Namespace{ObjectMeta: kubeobj.Meta("", AgentName, agent)}
	home.OwnerReferences = owner
	if err := makeNamespace(ctx, cs, home); err != nil {
		return nil, err
	}
	if err := adopt(ctx, cs, AgentName, owner); err != nil {
		return nil, err
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: AgentName, Namespace: AgentName}}
	sysRules, workRules, clusterRules := agentRules(workload)
	meta := func(namespace string) metav1.ObjectMeta {
		m := kubeobj.Meta(namespace, AgentName, agent)
		if namespace != Namespace && namespace != AgentName { // those in AgentName go with it
			m.OwnerReferences = owner
		}
		return m
	}
	roleRef := func(kind string) rbacv1.RoleRef {
		return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: AgentName}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: meta(AgentName)}
	secret := &corev1.Secret{ObjectMeta: meta(AgentName), Type: corev1.SecretTypeServiceAccountToken}
	secret.Name = AgentName + "-token"
	secret.Annotations = map[string]string{corev1.ServiceAccountNameKey: AgentName}
	rbac := cs.RbacV1()
	steps := []func() error{
		func() error {
			_, err := cs.CoreV1().ServiceAccounts(AgentName).Create(ctx, sa, metav1.CreateOptions{})
			return err
		},
		func() error {
			return createOwned(ctx, rbac.Roles(Namespace), &rbacv1.Role{ObjectMeta: meta(Namespace), Rules: sysRules})
		},
		func() error {
			return createOwned(ctx, rbac.RoleBindings(Namespace), &rbacv1.RoleBinding{ObjectMeta: meta(Namespace), RoleRef: roleRef("Role"), Subjects: subjects})
		},
		func() error {
			return createOwned(ctx, rbac.ClusterRoles(), &rbacv1.ClusterRole{ObjectMeta: meta(""), Rules: clusterRules})
		},
		func() error {
			return createOwned(ctx, rbac.ClusterRoleBindings(), &rbacv1.ClusterRoleBinding{ObjectMeta: meta(""), RoleRef: roleRef("ClusterRole"), Subjects: subjects})
		},
		func() error {
			_, err := cs.CoreV1().Secrets(AgentName).Create(ctx, secret, metav1.CreateOptions{})
			return err
		},
	}
	if len(workRules) > 0 {
		steps = append(steps,
			func() error {
				return createOwned(ctx, rbac.Roles(workload), &rbacv1.Role{ObjectMeta: meta(workload), Rules: workRules})
			},
			func() error {
				return createOwned(ctx, rbac.RoleBindings(workload), &rbacv1.RoleBinding{ObjectMeta: meta(workload), RoleRef: roleRef("Role"), Subjects: subjects})
			})
	}
	for _, step := range steps {
		if err := step(); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("failed to make kubeml's service account: %w", err)
		}
	}
	token, err := waitToken(ctx, cs)
	if err != nil {
		return nil, err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca, TLSServerName: serverName, InsecureSkipTLSVerify: insecure}
	cfg.AuthInfos[AgentName] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["kubeml"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: AgentName}
	cfg.CurrentContext = "kubeml"
	return clientcmd.Write(*cfg)
}

// adopt makes owner the owner of namespace name: one left by the last
// attach, whose garbage collection has not begun, would otherwise go
// (with kubeml's new account in it) once the collector sees its old
// owner gone.
func adopt(ctx context.Context, cs kubernetes.Interface, name string, owner []metav1.OwnerReference) error {
	n, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("failed to read namespace %s: %w", name, err)
	}
	if len(n.OwnerReferences) == 1 && n.OwnerReferences[0].UID == owner[0].UID {
		return nil
	}
	n.OwnerReferences = owner
	if _, err := cs.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("failed to adopt namespace %s: %w", name, err)
	}
	return nil
}

// ensureWorkloadNamespace makes the namespace model services deploy to
// when it is missing. kubeml never deletes it: other things may live there.
func ensureWorkloadNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	if _, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{}); err == nil {
		return nil
	}
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", name, err)
	}
	return nil
}

// waitToken waits for the token controller to fill the account's secret.
func waitToken(ctx context.Context, cs kubernetes.Interface) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		s, err := cs.CoreV1().Secrets(AgentName).Get(ctx, AgentName+"-token", metav1.GetOptions{})
		if err == nil && len(s.Data[corev1.ServiceAccountTokenKey]) > 0 {
			return string(s.Data[corev1.ServiceAccountTokenKey]), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("failed to get a token for %s/%s (is the cluster's token controller running?): %w", AgentName, AgentName, ctx.Err())
		case <-time.After(kubeobj.PollInterval):
		}
	}
}

// ownedClient creates and updates one kind of object.
type ownedClient[T metav1.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// createOwned creates obj, or, when one is left from before (a detach's
// garbage collection has not removed it yet, or an older kubeml made it
// with other rights), replaces it with obj: its rules, and the current
// namespace as its owner (else the collector would delete it under the
// new attach).
func createOwned[T metav1.Object](ctx context.Context, c ownedClient[T], obj T) error {
	_, err := c.Create(ctx, obj, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur, err := c.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	obj.SetResourceVersion(cur.GetResourceVersion())
	_, err = c.Update(ctx, obj, metav1.UpdateOptions{})
	return err
}
