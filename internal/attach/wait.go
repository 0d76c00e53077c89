package attach

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
)

// WaitRouterReady waits until the router Deployment has all replicas
// available, or ctx ends. Then the error says why, as read from the
// cluster.
func WaitRouterReady(ctx context.Context, cs kubernetes.Interface) error {
	t := time.NewTicker(kubeobj.PollInterval)
	defer t.Stop()
	for {
		d, err := cs.AppsV1().Deployments(Namespace).Get(ctx, RouterName, metav1.GetOptions{})
		if err == nil && kubeobj.DeploymentReady(d) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("failed to see router %s/%s ready: %s: %w", Namespace, RouterName, diagnose(ctx, cs), ctx.Err())
		case <-t.C:
		}
	}
}

// diagnose explains why the router is not ready: the Deployment's
// conditions, its pods' scheduling and container states, and the last
// Warning events of those pods. It uses its own short deadline because
// the caller's context has usually ended.
func diagnose(parent context.Context, cs kubernetes.Interface) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 5*time.Second)
	defer cancel()
	d, err := cs.AppsV1().Deployments(Namespace).Get(ctx, RouterName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "the router deployment does not exist (was the router installed?)"
	}
	if err != nil {
		return "cannot read the router deployment: " + err.Error()
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	why := []string{fmt.Sprintf("%d of %d replica(s) available", d.Status.AvailableReplicas, want)}
	for _, c := range d.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			why = append(why, fmt.Sprintf("deployment %s: %s", c.Type, c.Message))
		}
	}
	pods, err := cs.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: RouterSelector})
	if err != nil {
		return strings.Join(append(why, "cannot list the router's pods: "+err.Error()), "; ")
	}
	names := map[string]bool{}
	for _, p := range pods.Items {
		names[p.Name] = true
		why = append(why, kubeobj.PodReasons(&p)...)
	}
	why = append(why, warnings(ctx, cs, names)...)
	return strings.Join(why, "; ")
}

// warnings returns the last few Warning events about the named pods.
func warnings(ctx context.Context, cs kubernetes.Interface, pods map[string]bool) []string {
	evs, err := cs.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{FieldSelector: "type=Warning"})
	if err != nil {
		return []string{"cannot list events: " + err.Error()}
	}
	var mine []corev1.Event
	for _, e := range evs.Items {
		if e.InvolvedObject.Kind == "Pod" && pods[e.InvolvedObject.Name] {
			mine = append(mine, e)
		}
	}
	slices.SortFunc(mine, func(a, b corev1.Event) int { return eventTime(a).Compare(eventTime(b)) })
	var out []string
	for _, e := range mine[max(0, len(mine)-5):] {
		out = append(out, fmt.Sprintf("event %s on pod %s: %s", e.Reason, e.InvolvedObject.Name, e.Message))
	}
	return out
}

func eventTime(e corev1.Event) time.Time {
	for _, t := range []time.Time{e.LastTimestamp.Time, e.EventTime.Time, e.FirstTimestamp.Time} {
		if !t.IsZero() {
			return t
		}
	}
	return e.CreationTimestamp.Time
}

// RouterStatus returns the router's version (its image tag), its address
// (the Service's ClusterIP:80) and whether it is ready.
func RouterStatus(ctx context.Context, cs kubernetes.Interface) (version, address string, isReady bool, err error) {
	d, err := cs.AppsV1().Deployments(Namespace).Get(ctx, RouterName, metav1.GetOptions{})
	if err != nil {
		return "", "", false, fmt.Errorf("failed to read the router deployment: %w", err)
	}
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return "", "", false, errors.New("failed to read the router version: the deployment has no container")
	}
	svc, err := cs.CoreV1().Services(Namespace).Get(ctx, RouterName, metav1.GetOptions{})
	if err != nil {
		return "", "", false, fmt.Errorf("failed to read the router service: %w", err)
	}
	for _, p := range svc.Spec.Ports {
		if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone {
			address = net.JoinHostPort(svc.Spec.ClusterIP, fmt.Sprint(p.Port))
			break
		}
	}
	return imageTag(d.Spec.Template.Spec.Containers[0].Image), address, kubeobj.DeploymentReady(d), nil
}

// imageTag returns an image reference's tag, its digest when it has one
// and no tag, or "latest".
func imageTag(ref string) string {
	name, digest, hasDigest := strings.Cut(ref, "@")
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	if hasDigest {
		return digest
	}
	return "latest"
}
