package hostcluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/internal/pki"
	"github.com/kubeml/kubeml/internal/provider"
)

// UserRole is the cluster role the cluster user's group is bound to:
// Kubernetes' read-only "view", as an Azure AD user of AKS has no more
// until someone grants it.
const UserRole = "view"

// userBinding binds the cluster user's group to UserRole.
const userBinding = "kubeml-cluster-users"

// UserKubeconfig implements provider.UserCredentials: a client
// certificate of group pki.UserGroup, bound to the read-only UserRole
// (the binding is made on first use).
func (p *Provider) UserKubeconfig(ctx context.Context, name string) ([]byte, error) {
	// No lock: reading the file and making the binding are idempotent,
	// and a scale holding the cluster's lock must not keep this waiting.
	rec, err := p.Store.Load(name)
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{Dir: p.Store.Dir(name), Rec: rec}
	b, err := os.ReadFile(cp.UserKubeconfigPath())
	if errors.Is(err, fs.ErrNotExist) { // made by a kubeml before user credentials
		return nil, fmt.Errorf("cluster %q has no user credentials yet: start it again (kubeml up, or the start action) to make them: %w", name, provider.ErrInvalid)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the user credentials of cluster %q: %w", name, err)
	}
	admin, err := clientcmd.BuildConfigFromFlags("", cp.KubeconfigPath())
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: userBinding, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubeml"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: UserRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: pki.UserGroup}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("failed to grant the cluster user of %q its role: %w", name, err)
	}
	return b, nil
}
