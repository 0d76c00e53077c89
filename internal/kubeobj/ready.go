package kubeobj

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// DeploymentReady reports whether every desired replica of d runs the
// current spec and is available.
func DeploymentReady(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.UpdatedReplicas == want &&
		st.AvailableReplicas == want && st.Replicas == want
}

// PodReasons says why one pod is not ready.
func PodReasons(p *corev1.Pod) []string {
	var out []string
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			out = append(out, fmt.Sprintf("pod %s not scheduled: %s", p.Name, c.Message))
		}
	}
	for _, s := range p.Status.ContainerStatuses {
		if w := s.State.Waiting; w != nil && w.Reason != "" {
			out = append(out, fmt.Sprintf("pod %s container %s %s: %s", p.Name, s.Name, w.Reason, w.Message))
		}
		if t := s.LastTerminationState.Terminated; t != nil {
			out = append(out, fmt.Sprintf("pod %s container %s last exited %d (%s): %s", p.Name, s.Name, t.ExitCode, t.Reason, t.Message))
		}
	}
	return out
}
