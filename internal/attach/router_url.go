package attach

import (
	"context"
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
)

// RouterURL is the base URL scoring requests reach the router at: its
// Service's load balancer address when it has one, else a ready router
// pod's address (clusters without kube-proxy, such as kubeml's local
// ones, route no ClusterIPs; the pod addresses of a local cluster are
// reachable from its host).
func RouterURL(ctx context.Context, cs kubernetes.Interface) (string, error) {
	scheme := "http"
	if _, err := cs.CoreV1().Secrets(Namespace).Get(ctx, RouterTLSName, metav1.GetOptions{}); err == nil {
		scheme = "https"
	} else if !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("failed to read the router's TLS secret: %w", err)
	}
	svc, err := cs.CoreV1().Services(Namespace).Get(ctx, RouterName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to read the router service: %w", err)
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		host := in.IP
		if host == "" {
			host = in.Hostname
		}
		if host != "" {
			return scheme + "://" + host, nil
		}
	}
	pods, err := cs.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: kubeobj.NameLabel + "=" + RouterName})
	if err != nil {
		return "", fmt.Errorf("failed to list router pods: %w", err)
	}
	for _, p := range pods.Items {
		if p.Status.PodIP == "" || !routerPodReady(&p) || len(p.Spec.Containers) == 0 || len(p.Spec.Containers[0].Ports) == 0 {
			continue
		}
		port := strconv.Itoa(int(p.Spec.Containers[0].Ports[0].ContainerPort))
		return scheme + "://" + net.JoinHostPort(p.Status.PodIP, port), nil
	}
	return "", fmt.Errorf("the router has no ready pod")
}

func routerPodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
