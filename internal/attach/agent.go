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

// AgentName names kubeml's own service account (and its ClusterRole and
// binding) that scoped credentials use.
const AgentName = "kubeml-agent"

// agentRules are the permissions kubeml needs, as RBAC rules: the
// namespaced ones for kubeml-system only (a Role), the cluster-wide ones
// (a ClusterRole) plus reviewing its own access and listing model
// deployments everywhere.
func agentRules() (namespaced, clusterWide []rbacv1.PolicyRule) {
	clusterWide = []rbacv1.PolicyRule{
		{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"selfsubjectaccessreviews"}, Verbs: []string{"create"}},
	}
	for _, p := range permissions {
		r := rbacv1.PolicyRule{APIGroups: []string{p.group}, Resources: []string{p.resource}, Verbs: p.verbs}
		if p.namespaced {
			namespaced = append(namespaced, r)
		} else {
			clusterWide = append(clusterWide, r)
		}
	}
	return namespaced, clusterWide
}

// ScopedKubeconfig makes kubeml's own service account with only the rights
// kubeml needs, and returns a kubeconfig with its token for server and CA,
// to keep instead of the user's (admin) credentials. The account's
// cluster-wide objects are owned by the kubeml-system namespace, so
// deleting that namespace at detach removes them too (by the garbage
// collector: the account cannot remove its own rights and then act).
func ScopedKubeconfig(ctx context.Context, cs kubernetes.Interface, server string, ca []byte, serverName string, insecure bool) ([]byte, error) {
	if err := ensureNamespace(ctx, cs); err != nil {
		return nil, err
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, Namespace, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to read namespace %s: %w", Namespace, err)
	}
	owner := []metav1.OwnerReference{{APIVersion: "v1", Kind: "Namespace", Name: ns.Name, UID: ns.UID}}
	agent := map[string]string{kubeobj.ComponentLabel: "agent"}
	sa := &corev1.ServiceAccount{ObjectMeta: kubeobj.Meta(Namespace, AgentName, agent)}
	nsRules, clusterRules := agentRules()
	nsRole := &rbacv1.Role{ObjectMeta: kubeobj.Meta(Namespace, AgentName, agent), Rules: nsRules}
	nsBinding := &rbacv1.RoleBinding{ObjectMeta: kubeobj.Meta(Namespace, AgentName, agent),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: AgentName},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: AgentName, Namespace: Namespace}}}
	role := &rbacv1.ClusterRole{ObjectMeta: kubeobj.Meta("", AgentName, agent), Rules: clusterRules}
	role.OwnerReferences = owner
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: kubeobj.Meta("", AgentName, agent),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: AgentName},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: AgentName, Namespace: Namespace}}}
	binding.OwnerReferences = owner
	secret := &corev1.Secret{ObjectMeta: kubeobj.Meta(Namespace, AgentName+"-token", agent), Type: corev1.SecretTypeServiceAccountToken}
	secret.Annotations = map[string]string{corev1.ServiceAccountNameKey: AgentName}
	for _, create := range []func() error{
		func() error {
			_, err := cs.CoreV1().ServiceAccounts(Namespace).Create(ctx, sa, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := cs.RbacV1().Roles(Namespace).Create(ctx, nsRole, metav1.CreateOptions{})
			return err
		},
		func() error {
			_, err := cs.RbacV1().RoleBindings(Namespace).Create(ctx, nsBinding, metav1.CreateOptions{})
			return err
		},
		func() error { return createOwned(ctx, cs.RbacV1().ClusterRoles(), role) },
		func() error { return createOwned(ctx, cs.RbacV1().ClusterRoleBindings(), binding) },
		func() error {
			_, err := cs.CoreV1().Secrets(Namespace).Create(ctx, secret, metav1.CreateOptions{})
			return err
		},
	} {
		if err := create(); err != nil && !apierrors.IsAlreadyExists(err) {
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

// waitToken waits for the token controller to fill the account's secret.
func waitToken(ctx context.Context, cs kubernetes.Interface) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		s, err := cs.CoreV1().Secrets(Namespace).Get(ctx, AgentName+"-token", metav1.GetOptions{})
		if err == nil && len(s.Data[corev1.ServiceAccountTokenKey]) > 0 {
			return string(s.Data[corev1.ServiceAccountTokenKey]), nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("failed to get a token for %s/%s (is the cluster's token controller running?): %w", Namespace, AgentName, ctx.Err())
		case <-time.After(kubeobj.PollInterval):
		}
	}
}

// ownedClient creates and updates one kind of cluster-wide object.
type ownedClient[T metav1.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// createOwned creates obj, or, when a detach's garbage collection has not
// removed the old one yet, points the old one at the current namespace as
// its owner (else the collector would delete it under the new attach).
func createOwned[T metav1.Object](ctx context.Context, c ownedClient[T], obj T) error {
	_, err := c.Create(ctx, obj, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur, err := c.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	cur.SetOwnerReferences(obj.GetOwnerReferences())
	_, err = c.Update(ctx, cur, metav1.UpdateOptions{})
	return err
}
