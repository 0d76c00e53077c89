package deploy

import (
	"encoding/json"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// versionLabels select one version's pods.
func versionLabels(service, version string) map[string]string {
	return map[string]string{routing.ServiceLabel: service, routing.VersionLabel: version}
}

// versionMeta is the metadata of a version's Deployment, Service and PDB.
func versionMeta(ws WebService, v Version) metav1.ObjectMeta {
	return kubeobj.Meta(ws.Namespace, ws.Name+"-"+v.Name, versionLabels(ws.Name, v.Name))
}

// modelDeployment runs `kubeml serve-model` on the version's model. A
// rolling update starts a new pod before it stops an old one, and a
// stopping pod keeps serving while the router forgets it.
func modelDeployment(ws WebService, v Version) *appsv1.Deployment {
	m := v.Model
	args := []string{"serve-model", "--parts-dir", ModelDir, "--sha256", m.SHA256, "--size", strconv.FormatInt(m.Size, 10),
		"--name", ws.Name, "--version", v.Name, "--listen", ":" + strconv.Itoa(routing.ModelPort),
		"--drain", strconv.Itoa(drainSeconds) + "s"}
	if m.Framework != "" {
		args = append(args, "--framework", m.Framework)
	}
	if m.Name != "" {
		args = append(args, "--file-name", m.Name)
	}
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: v.CPU, corev1.ResourceMemory: v.Memory},
		Limits:   corev1.ResourceList{},
	}
	var env []corev1.EnvVar
	if v.CPULimit != nil {
		res.Limits[corev1.ResourceCPU] = *v.CPULimit
	}
	if v.MemoryLimit != nil {
		res.Limits[corev1.ResourceMemory] = *v.MemoryLimit
		// The Go runtime collects garbage harder before the kernel kills.
		env = append(env, corev1.EnvVar{Name: "GOMEMLIMIT", Value: strconv.FormatInt(v.MemoryLimit.Value()/10*9, 10)})
	}
	probe := func(p Probe) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
			PeriodSeconds:       p.PeriodSeconds,
			InitialDelaySeconds: p.InitialDelaySeconds,
			TimeoutSeconds:      p.TimeoutSeconds,
			FailureThreshold:    p.FailureThreshold,
			SuccessThreshold:    p.SuccessThreshold,
		}
	}
	ready, live := probe(v.Readiness), probe(v.Liveness)
	live.SuccessThreshold = 1 // the only value Kubernetes takes for liveness
	// A request in flight when the drain ends may take the whole scoring
	// timeout to finish.
	grace := int64(drainSeconds + 10 + (ws.Routing.ScoringTimeoutMs+999)/1000)
	no, yes, uid := false, true, int64(65532)
	pod := corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		AutomountServiceAccountToken:  &no,
		EnableServiceLinks:            &no,
		SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid},
		Containers: []corev1.Container{{
			Name:                     ModelContainer,
			Image:                    ws.Image,
			ImagePullPolicy:          ws.ImagePullPolicy,
			Args:                     args,
			Env:                      env,
			Ports:                    []corev1.ContainerPort{{Name: "http", ContainerPort: routing.ModelPort, Protocol: corev1.ProtocolTCP}},
			Resources:                res,
			ReadinessProbe:           ready,
			LivenessProbe:            live,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			VolumeMounts:             []corev1.VolumeMount{{Name: modelVolumeName, MountPath: ModelDir, ReadOnly: true}},
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
		}},
		Volumes: []corev1.Volume{modelVolume(m)},
	}
	withPodTokens(ws, &pod)
	replicas, history := v.Replicas, int32(2)
	zero, one := intstr.FromInt32(0), intstr.FromInt32(1)
	return &appsv1.Deployment{
		ObjectMeta: versionMeta(ws, v),
		Spec: appsv1.DeploymentSpec{
			Replicas:             &replicas,
			RevisionHistoryLimit: &history,
			Selector:             &metav1.LabelSelector{MatchLabels: versionLabels(ws.Name, v.Name)},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &one}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: kubeobj.Labels(versionLabels(ws.Name, v.Name))}, Spec: pod},
		},
	}
}

// modelService is the version's ClusterIP Service; the router reads its
// EndpointSlices.
func modelService(ws WebService, v Version) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: versionMeta(ws, v),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: versionLabels(ws.Name, v.Name),
			Ports: []corev1.ServicePort{{Name: "http", Port: routing.ModelPort, TargetPort: intstr.FromString("http"),
				Protocol: corev1.ProtocolTCP}},
		},
	}
}

// modelPDB lets a node drain evict one of the version's pods at a time.
func modelPDB(ws WebService, v Version) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: versionMeta(ws, v),
		Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one,
			Selector: &metav1.LabelSelector{MatchLabels: versionLabels(ws.Name, v.Name)}},
	}
}

// routingSecret holds r for the router, in kubeml-system.
func routingSecret(r routing.Service) (*corev1.Secret, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the routing of %s: %w", r.Name, err)
	}
	return &corev1.Secret{
		ObjectMeta: kubeobj.Meta(routing.Namespace, routing.SecretName(r.Name), map[string]string{routing.SecretLabel: "true", routing.ServiceLabel: r.Name}),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{routing.SecretKey: b},
	}, nil
}
