package cluster

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Services configures the system services kubeml installs on attach.
type Services struct {
	// Image is kubeml's own image, run as `kubeml router`. Required.
	Image string
	// Purpose is FastProd (default), DenseProd or DevTest.
	Purpose string
	// Port the router listens on; default 8080.
	Port int
	// Replicas of the router; 0 means by purpose: DevTest 1, else 3.
	Replicas int
	// HostNetwork runs the router in the nodes' network namespace,
	// listening on the node's address.
	HostNetwork bool
	// APIServer (host:port), with HostNetwork, is where the router reaches
	// the API server instead of the kubernetes Service: for clusters whose
	// API server listens on the node's loopback and that route no
	// ClusterIPs (kubeml's local clusters).
	APIServer string
	// ImagePullPolicy defaults to IfNotPresent.
	ImagePullPolicy corev1.PullPolicy
	// TLSCert and TLSKey (PEM), when set, go into the Secret
	// kubeml-router-tls and the router serves HTTPS with them.
	TLSCert, TLSKey []byte
}

// DefaultPort is the router's default listen port.
const DefaultPort = 8080

func (s *Services) defaults() error {
	if s.Image == "" {
		return errors.New("failed to install the system services: no router image")
	}
	if s.Purpose == "" {
		s.Purpose = FastProd
	}
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("failed to install the system services: port %d out of range", s.Port)
	}
	if s.Replicas == 0 {
		s.Replicas = 3
		if s.Purpose == DevTest {
			s.Replicas = 1
		}
	}
	if s.ImagePullPolicy == "" {
		s.ImagePullPolicy = corev1.PullIfNotPresent
	}
	return nil
}

// typedClient is the part of a client-go typed client that apply needs.
type typedClient[T metav1.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
}

// apply creates obj or, when it exists, updates it to obj. keep copies
// immutable fields from the existing object (nil for none). An existing
// object kubeml did not make is refused, not taken over.
func apply[T metav1.Object](ctx context.Context, c typedClient[T], kind string, obj T, keep func(cur, obj T)) (Object, error) {
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
	if !isManaged(cur.GetLabels()) {
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

// Install creates or updates the router and what it needs in Namespace
// and returns the objects it manages, namespace first.
func Install(ctx context.Context, cs kubernetes.Interface, s Services) ([]Object, error) {
	if err := s.defaults(); err != nil {
		return nil, err
	}
	if err := ensureNamespace(ctx, cs); err != nil {
		return nil, err
	}
	out := []Object{{Kind: "Namespace", Name: Namespace}}
	core, rbac := cs.CoreV1(), cs.RbacV1()
	steps := []func() (Object, error){
		func() (Object, error) {
			return apply(ctx, core.ServiceAccounts(Namespace), "ServiceAccount", routerServiceAccount(), nil)
		},
		func() (Object, error) { return apply(ctx, rbac.Roles(Namespace), "Role", routerRole(), nil) },
		func() (Object, error) {
			return apply(ctx, rbac.RoleBindings(Namespace), "RoleBinding", routerRoleBinding(), nil)
		},
		func() (Object, error) {
			return apply(ctx, rbac.ClusterRoles(), "ClusterRole", routerClusterRole(), nil)
		},
		func() (Object, error) {
			return apply(ctx, rbac.ClusterRoleBindings(), "ClusterRoleBinding", routerClusterRoleBinding(), nil)
		},
		func() (Object, error) {
			return apply(ctx, core.ConfigMaps(Namespace), "ConfigMap", routerConfig(s), nil)
		},
		func() (Object, error) {
			return apply(ctx, cs.AppsV1().Deployments(Namespace), "Deployment", routerDeployment(s), nil)
		},
		func() (Object, error) {
			return apply(ctx, core.Services(Namespace), "Service", routerService(s), keepClusterIP)
		},
	}
	if len(s.TLSCert) > 0 { // before the Deployment that mounts it
		tls := func() (Object, error) { return apply(ctx, core.Secrets(Namespace), "Secret", routerTLS(s), nil) }
		steps = append([]func() (Object, error){tls}, steps...)
	}
	for _, step := range steps {
		o, err := step()
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

// keepClusterIP carries a Service's immutable cluster IPs into an update.
func keepClusterIP(cur, obj *corev1.Service) {
	obj.Spec.ClusterIP = cur.Spec.ClusterIP
	obj.Spec.ClusterIPs = cur.Spec.ClusterIPs
	obj.Spec.IPFamilies = cur.Spec.IPFamilies
}
