package attach

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/kubeobj"
)

// Router configures the scoring router kubeml installs on attach.
type Router struct {
	// Image is kubeml's own image, run as `kubeml router`. Required.
	Image string
	// Purpose is one of api.Purposes (default FastProd).
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
	// ImagePullPolicy defaults to kubeobj.PullPolicy of Image.
	ImagePullPolicy corev1.PullPolicy
	// TLSCert and TLSKey (PEM), when set, go into the Secret
	// kubeml-router-tls and the router serves HTTPS with them.
	TLSCert, TLSKey []byte
}

// DefaultPort is the router's default listen port.
const DefaultPort = 8080

func (s *Router) defaults() error {
	if s.Image == "" {
		return errors.New("failed to install the router: no router image")
	}
	if s.Purpose == "" {
		s.Purpose = api.PurposeFastProd
	}
	if s.Port == 0 {
		s.Port = DefaultPort
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("failed to install the router: port %d out of range", s.Port)
	}
	if s.Replicas == 0 {
		s.Replicas = 3
		if s.Purpose == api.PurposeDevTest {
			s.Replicas = 1
		}
	}
	if s.ImagePullPolicy == "" {
		s.ImagePullPolicy = kubeobj.PullPolicy(s.Image)
	}
	return nil
}

// InstallRouter creates or updates the router and what it needs in
// Namespace and returns the objects it manages, namespace first.
func InstallRouter(ctx context.Context, cs kubernetes.Interface, s Router) ([]kubeobj.Object, error) {
	if err := s.defaults(); err != nil {
		return nil, err
	}
	if err := ensureNamespace(ctx, cs); err != nil {
		return nil, err
	}
	out := []kubeobj.Object{{Kind: "Namespace", Name: Namespace}}
	core, rbac := cs.CoreV1(), cs.RbacV1()
	steps := []func() (kubeobj.Object, error){
		func() (kubeobj.Object, error) {
			return kubeobj.Apply(ctx, core.ServiceAccounts(Namespace), "ServiceAccount", routerServiceAccount(), nil)
		},
		func() (kubeobj.Object, error) {
			return kubeobj.Apply(ctx, rbac.Roles(Namespace), "Role", routerRole(), nil)
		},
		func() (kubeobj.Object, error) {
			return kubeobj.Apply(ctx, rbac.RoleBindings(Namespace), "RoleBinding", routerRoleBinding(), nil)
		},
		func() (kubeobj.Object, error) {
			return kubeobj.Apply(ctx, core.ConfigMaps(Namespace), "ConfigMap", routerConfig(s), nil)
		},
		func() (kubeobj.Object, error) { // before the Deployment that reads it
			return kubeobj.Apply(ctx, core.Secrets(Namespace), "Secret", routerMetrics(), keepMetricsToken)
		},
		func() (kubeobj.Object, error) {
			return kubeobj.Apply(ctx, cs.AppsV1().Deployments(Namespace), "Deployment", routerDeployment(s), nil)
		},
		func() (kubeobj.Object, error) {
			return kubeobj.Apply(ctx, core.Services(Namespace), "Service", routerService(s), kubeobj.KeepClusterIP)
		},
	}
	if len(s.TLSCert) > 0 { // before the Deployment that mounts it
		tls := func() (kubeobj.Object, error) {
			return kubeobj.Apply(ctx, core.Secrets(Namespace), "Secret", routerTLS(s), nil)
		}
		steps = append([]func() (kubeobj.Object, error){tls}, steps...)
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
