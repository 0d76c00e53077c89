package attach

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// routerLabels select the router's pods.
func routerLabels() map[string]string {
	return map[string]string{kubeobj.NameLabel: RouterName, kubeobj.ComponentLabel: "router"}
}

// RouterSelector is the label selector of the router's pods.
const RouterSelector = kubeobj.NameLabel + "=" + RouterName

func routerMeta(ns string) metav1.ObjectMeta { return kubeobj.Meta(ns, RouterName, routerLabels()) }

func routerServiceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: routerMeta(Namespace)}
}

// routerRole lets the router read the services' routing Secrets in its
// namespace (RBAC cannot narrow that to a label), find its peers
// (EndpointSlices of its own Service) and hold the Lease that elects the
// replica that autoscales. Its rights in the namespaces model services run
// in are granted by package deploy, per namespace, as services come.
func routerRole() *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: routerMeta(Namespace), Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	}}
}

func routerRoleBinding() *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: routerMeta(Namespace),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: RouterName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: RouterName, Namespace: Namespace}},
	}
}

func routerConfig(s Router) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: kubeobj.Meta(Namespace, RouterConfigName, routerLabels()),
		Data:       map[string]string{"port": strconv.Itoa(s.Port), "purpose": s.Purpose},
	}
}

func routerDeployment(s Router) *appsv1.Deployment {
	replicas := int32(s.Replicas)
	scheme := corev1.URISchemeHTTP
	if len(s.TLSCert) > 0 {
		scheme = corev1.URISchemeHTTPS
	}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http"), Scheme: scheme}},
			PeriodSeconds: 5, TimeoutSeconds: 2, FailureThreshold: 3,
		}
	}
	pod := corev1.PodSpec{
		ServiceAccountName: RouterName,
		HostNetwork:        s.HostNetwork,
		Containers: []corev1.Container{{
			Name:            "router",
			Image:           s.Image,
			ImagePullPolicy: s.ImagePullPolicy,
			Args:            []string{"router", "--listen", ":" + strconv.Itoa(s.Port)},
			Env: []corev1.EnvVar{
				{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: routing.MetricsTokenEnv, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: routing.MetricsSecret}, Key: "token"}}},
			},
			Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: int32(s.Port), Protocol: corev1.ProtocolTCP}},
			ReadinessProbe: probe("/readyz"),
			LivenessProbe:  probe("/healthz"),
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("50m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			}},
		}},
	}
	if s.HostNetwork {
		pod.DNSPolicy = corev1.DNSClusterFirstWithHostNet
		c := &pod.Containers[0]
		c.Env = append(c.Env, corev1.EnvVar{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}})
		c.Args[2] = "$(HOST_IP):" + strconv.Itoa(s.Port)
		if host, port, err := net.SplitHostPort(s.APIServer); err == nil {
			c.Env = append(c.Env, corev1.EnvVar{Name: "KUBERNETES_SERVICE_HOST", Value: host}, corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT", Value: port})
		}
	}
	if len(s.TLSCert) > 0 {
		c := &pod.Containers[0]
		c.Args = append(c.Args, "--tls-cert-file", "/tls/tls.crt", "--tls-key-file", "/tls/tls.key")
		c.VolumeMounts = []corev1.VolumeMount{{Name: "tls", MountPath: "/tls", ReadOnly: true}}
		pod.Volumes = []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: RouterTLSName, DefaultMode: &keyMode}}}}
	}
	if s.Replicas > 1 {
		// Preferred, not required: on fewer nodes than replicas the
		// scheduler still places every replica.
		pod.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 100,
				PodAffinityTerm: corev1.PodAffinityTerm{
					TopologyKey:   "kubernetes.io/hostname",
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{kubeobj.NameLabel: RouterName}},
				},
			}},
		}}
	}
	return &appsv1.Deployment{
		ObjectMeta: routerMeta(Namespace),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{kubeobj.NameLabel: RouterName}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: kubeobj.Labels(routerLabels())}, Spec: pod},
		},
	}
}

func routerService(s Router) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: routerMeta(Namespace),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{kubeobj.NameLabel: RouterName},
			Ports: []corev1.ServicePort{{
				Name: "http", Port: 80, TargetPort: intstr.FromInt32(int32(s.Port)), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// RouterTLSName names the Secret holding the router's certificate.
const RouterTLSName = "kubeml-router-tls"

// routerMetrics is the Secret of the token the router's /metrics wants;
// keepMetricsToken keeps the one a cluster has across re-installs.
func routerMetrics() *corev1.Secret {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return &corev1.Secret{ObjectMeta: kubeobj.Meta(Namespace, routing.MetricsSecret, routerLabels()), Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"token": []byte(base64.RawURLEncoding.EncodeToString(b))}}
}

func keepMetricsToken(cur, obj *corev1.Secret) {
	if len(cur.Data["token"]) > 0 {
		obj.Data = cur.Data
	}
}

func routerTLS(s Router) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: kubeobj.Meta(Namespace, RouterTLSName, routerLabels()), Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: s.TLSCert, corev1.TLSPrivateKeyKey: s.TLSKey}}
}

// keyMode keeps the router's TLS key readable by its owner only.
var keyMode int32 = 0o400
