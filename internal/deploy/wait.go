package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// Reasons a web service does not become ready (DeployError.Reason).
const (
	// ReasonUnschedulable: no node has room; the message is the scheduler's.
	ReasonUnschedulable = "Unschedulable"
	// ReasonImagePull: the image cannot be pulled.
	ReasonImagePull = "ImagePullFailed"
	// ReasonContainerConfig: the container cannot be created.
	ReasonContainerConfig = "CreateContainerError"
	// ReasonModelLoadFailed: serve-model refused the model's bytes or
	// could not load them.
	ReasonModelLoadFailed = "ModelLoadFailed"
	// ReasonCrashLoop: the container keeps exiting; the message holds its
	// last log lines.
	ReasonCrashLoop = "CrashLoopBackOff"
	// ReasonNotFound: a version's Deployment does not exist.
	ReasonNotFound = "NotFound"
	// ReasonTimeout: the wait ended first; the message says what was
	// still missing.
	ReasonTimeout = "Timeout"
)

// DeployError says why a version of a web service is not ready.
type DeployError struct {
	Service, Version, Pod string
	// Reason is one of the Reason constants; Message is read from the
	// cluster.
	Reason, Message string
	// Err is the context's error of a timeout.
	Err error
}

func (e *DeployError) Error() string {
	where := ""
	if e.Pod != "" {
		where = " (pod " + e.Pod + ")"
	}
	return fmt.Sprintf("version %s of web service %s is not ready%s: %s: %s", e.Version, e.Service, where, e.Reason, e.Message)
}

func (e *DeployError) Unwrap() error { return e.Err }

// logLines is how many of a crashed container's last log lines an error
// carries.
const logLines = 20

// WaitWebService waits until every version of ws has all its desired
// replicas updated and available, reporting each version's progress. It
// fails early, with a *DeployError, when a pod cannot be scheduled,
// its image cannot be pulled, or its container crashes; and when ctx ends.
func WaitWebService(ctx context.Context, cs kubernetes.Interface, ws WebService, progress func(string)) error {
	t := time.NewTicker(kubeobj.PollInterval)
	defer t.Stop()
	said := map[string]string{}
	for {
		done, pending := true, []string{}
		for _, v := range ws.Versions {
			st, err := versionStatus(ctx, cs, ws.Namespace, ws.Name, v.Name)
			if err != nil {
				return err
			}
			if msg := fmt.Sprintf("%s-%s: %d/%d replicas ready", ws.Name, v.Name, st.readyPods, st.want); said[v.Name] != msg {
				said[v.Name] = msg
				report(progress, "%s", msg)
			}
			if !st.ready {
				done = false
				pending = append(pending, st.why...)
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return &DeployError{Service: ws.Name, Version: versionNames(ws), Reason: ReasonTimeout,
				Message: strings.Join(pending, "; "), Err: ctx.Err()}
		case <-t.C:
		}
	}
}

func versionNames(ws WebService) string {
	var out []string
	for _, v := range ws.Versions {
		out = append(out, v.Name)
	}
	return strings.Join(out, ", ")
}

// status is one version's state.
type status struct {
	ready           bool
	want, readyPods int32
	why             []string // what is missing, for a timeout
}

// versionStatus reads one version's Deployment and the pods of its
// current revision; a pod failing for good is a *DeployError.
func versionStatus(ctx context.Context, cs kubernetes.Interface, ns, service, version string) (status, error) {
	name := service + "-" + version
	fail := func(pod, reason, msg string) error {
		return &DeployError{Service: service, Version: version, Pod: pod, Reason: reason, Message: msg}
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return status{}, fail("", ReasonNotFound, fmt.Sprintf("Deployment %s/%s does not exist", ns, name))
	}
	if err != nil {
		return status{}, fmt.Errorf("failed to read Deployment %s/%s: %w", ns, name, err)
	}
	st := status{ready: kubeobj.DeploymentReady(d), want: 1}
	if d.Spec.Replicas != nil {
		st.want = *d.Spec.Replicas
	}
	pods, err := currentPods(ctx, cs, d)
	if err != nil {
		return st, err
	}
	st.why = []string{fmt.Sprintf("%s: %d of %d replica(s) available", name, d.Status.AvailableReplicas, st.want)}
	for i := range pods {
		p := &pods[i]
		if isPodReady(p) {
			st.readyPods++
		}
		if reason, msg := podFailure(ctx, cs, p); reason != "" {
			return st, fail(p.Name, reason, msg)
		}
		st.why = append(st.why, kubeobj.PodReasons(p)...)
	}
	return st, nil
}

// currentPods lists the live pods of d's current revision: a rollout's
// old pods, failing or not, are not what is waited for.
func currentPods(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment) ([]corev1.Pod, error) {
	sel := metav1.FormatLabelSelector(d.Spec.Selector)
	rss, err := cs.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("failed to list the ReplicaSets of %s: %w", d.Name, err)
	}
	const rev = "deployment.kubernetes.io/revision"
	hash := ""
	for _, rs := range rss.Items {
		if rs.Annotations[rev] != "" && rs.Annotations[rev] == d.Annotations[rev] {
			hash = rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
		}
	}
	if hash == "" {
		return nil, nil // the controller has not made it yet
	}
	pods, err := cs.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel + "," + appsv1.DefaultDeploymentUniqueLabelKey + "=" + hash})
	if err != nil {
		return nil, fmt.Errorf("failed to list the pods of %s: %w", d.Name, err)
	}
	return slices.DeleteFunc(pods.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil }), nil
}

func isPodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podFailure returns why a pod will not become ready by itself, if so.
func podFailure(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod) (reason, msg string) {
	for _, c := range p.Status.Conditions {
		// Terminating pods elsewhere may free the room it needs.
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable &&
			!anyTerminating(ctx, cs) {
			return ReasonUnschedulable, c.Message
		}
	}
	for _, s := range p.Status.ContainerStatuses {
		for _, t := range []*corev1.ContainerStateTerminated{s.State.Terminated, s.LastTerminationState.Terminated} {
			if t != nil && t.ExitCode != 0 && strings.Contains(t.Message, ModelLoadFailedText) {
				return ReasonModelLoadFailed, strings.TrimPrefix(lineWith(t.Message, ModelLoadFailedText), "Error: ")
			}
		}
		w := s.State.Waiting
		if w == nil {
			continue
		}
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
			return ReasonImagePull, fmt.Sprintf("image %s: %s: %s", s.Image, w.Reason, w.Message)
		case "CreateContainerConfigError", "CreateContainerError":
			return ReasonContainerConfig, w.Message
		case "CrashLoopBackOff":
			msg := fmt.Sprintf("container %s restarted %d times", s.Name, s.RestartCount)
			if t := s.LastTerminationState.Terminated; t != nil {
				msg += fmt.Sprintf(", last exit code %d (%s)", t.ExitCode, t.Reason)
			}
			return ReasonCrashLoop, msg + "; last log lines:\n" + previousLogs(ctx, cs, p, s.Name)
		}
	}
	return "", ""
}

// anyTerminating reports whether some pod in the cluster is terminating
// and due to be gone soon (not one stuck past its deadline).
func anyTerminating(ctx context.Context, cs kubernetes.Interface) bool {
	// From the API server's cache: this runs on every poll while a pod is
	// unschedulable.
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	return err == nil && slices.ContainsFunc(pods.Items, func(p corev1.Pod) bool {
		return p.DeletionTimestamp != nil && time.Until(p.DeletionTimestamp.Time) > -stuckAfter
	})
}

// stuckAfter is how long past its deletion deadline a terminating pod is
// taken to be stuck.
const stuckAfter = 30 * time.Second

// lineWith returns the last line of text containing s.
func lineWith(text, s string) string {
	lines := strings.Split(text, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], s) {
			return strings.TrimSpace(lines[i])
		}
	}
	return strings.TrimSpace(text)
}

// previousLogs returns the last lines of a container's previous run.
func previousLogs(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod, container string) string {
	tail := int64(logLines)
	b, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container, Previous: true, TailLines: &tail}).DoRaw(ctx)
	if err != nil {
		return fmt.Sprintf("(cannot read the logs: %v)", err)
	}
	return strings.TrimRight(string(b), "\n")
}

// WebServiceLogs returns the last tail lines (all when tail <= 0) of the
// model container of every pod of a service's version, or of all its
// versions when version is empty; each pod's lines under a header when
// there are several pods.
func WebServiceLogs(ctx context.Context, cs kubernetes.Interface, namespace, service, version string, tail int64) (string, error) {
	sel := routing.ServiceLabel + "=" + service
	if version != "" {
		sel += "," + routing.VersionLabel + "=" + version
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return "", fmt.Errorf("failed to list the pods of %s: %w", service, err)
	}
	if len(pods.Items) == 0 {
		return "", fmt.Errorf("failed to read the logs of %s: it has no pods in namespace %s", service, namespace)
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	opts := &corev1.PodLogOptions{Container: ModelContainer}
	if tail > 0 {
		opts.TailLines = &tail
	}
	var out strings.Builder
	for _, p := range pods.Items {
		b, err := cs.CoreV1().Pods(namespace).GetLogs(p.Name, opts).DoRaw(ctx)
		if err != nil {
			b = fmt.Appendf(nil, "(cannot read the logs: %v)\n", err)
		}
		if len(pods.Items) > 1 {
			fmt.Fprintf(&out, "==> pod %s (version %s) <==\n", p.Name, p.Labels[routing.VersionLabel])
		}
		out.Write(b)
	}
	return out.String(), nil
}
