package router

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	appsv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	discoveryv1 "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// NewClient returns a client of the four API groups the router uses:
// core (routing Secrets), discovery (EndpointSlices), coordination (the
// autoscaler's Lease) and apps (scaling Deployments). kubernetes.NewForConfig
// would build a client of every API group and so link them all into the
// binary, which the lean in-cluster binary (kubeml-node) must not. The
// other methods of kubernetes.Interface are not to be called: they panic.
func NewClient(cfg *rest.Config) (kubernetes.Interface, error) {
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		// One budget for the four groups, as one clientset has.
		cfg = rest.CopyConfig(cfg)
		burst := max(cfg.Burst, 1)
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, burst)
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to make the Kubernetes client: %w", err)
	}
	var c client
	if c.core, err = corev1.NewForConfigAndClient(cfg, hc); err != nil {
		return nil, fmt.Errorf("failed to make the Kubernetes client: %w", err)
	}
	if c.discovery, err = discoveryv1.NewForConfigAndClient(cfg, hc); err != nil {
		return nil, fmt.Errorf("failed to make the Kubernetes client: %w", err)
	}
	if c.coordination, err = coordinationv1.NewForConfigAndClient(cfg, hc); err != nil {
		return nil, fmt.Errorf("failed to make the Kubernetes client: %w", err)
	}
	if c.apps, err = appsv1.NewForConfigAndClient(cfg, hc); err != nil {
		return nil, fmt.Errorf("failed to make the Kubernetes client: %w", err)
	}
	return c, nil
}

// client is the router's kubernetes.Interface; the embedded interface is
// nil and only satisfies the methods the router never calls.
type client struct {
	kubernetes.Interface
	core         *corev1.CoreV1Client
	discovery    *discoveryv1.DiscoveryV1Client
	coordination *coordinationv1.CoordinationV1Client
	apps         *appsv1.AppsV1Client
}

func (c client) CoreV1() corev1.CoreV1Interface                { return c.core }
func (c client) DiscoveryV1() discoveryv1.DiscoveryV1Interface { return c.discovery }
func (c client) CoordinationV1() coordinationv1.CoordinationV1Interface {
	return c.coordination
}
func (c client) AppsV1() appsv1.AppsV1Interface { return c.apps }
