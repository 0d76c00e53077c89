package deploy

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// PodTokens are a service's pod tokens: the router sends Current, its
// pods accept Current and Next. A rotation makes Next the current one,
// which every pod has held since the rotation before, so it needs no
// restart and refuses no request.
type PodTokens struct {
	Current, Next string
}

// PodTokenDir is where model pods find the tokens (files current, next).
const PodTokenDir = "/var/run/kubeml/pod-token"

const podTokenVolume = "pod-token"

// podTokenSecretName names the Secret of a service's pod tokens, in the
// service's namespace.
func podTokenSecretName(service string) string { return service + "-pod-token" }

// podTokenSecret is the Secret model pods mount their tokens from.
func podTokenSecret(ws WebService) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: kubeobj.Meta(ws.Namespace, podTokenSecretName(ws.Name), map[string]string{routing.ServiceLabel: ws.Name}),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"current": []byte(ws.PodTokens.Current), "next": []byte(ws.PodTokens.Next)},
	}
}

// withPodTokens makes a model pod require the service's tokens.
func withPodTokens(ws WebService, pod *corev1.PodSpec) {
	if ws.PodTokens == nil {
		return
	}
	mode := int32(0o444) // the pod's user is not root; only this pod mounts it
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: podTokenVolume, VolumeSource: corev1.VolumeSource{
		Secret: &corev1.SecretVolumeSource{SecretName: podTokenSecretName(ws.Name), DefaultMode: &mode}}})
	c := &pod.Containers[0]
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: podTokenVolume, MountPath: PodTokenDir, ReadOnly: true})
	c.Args = append(c.Args, "--pod-token-dir", PodTokenDir)
}

// writePodTokens writes the service's pod token Secret and tells the
// router the current token; it writes nothing for a service without.
func writePodTokens(ctx context.Context, cs kubernetes.Interface, ws *WebService) error {
	if ws.PodTokens == nil {
		return nil
	}
	ws.Routing.PodToken = ws.PodTokens.Current
	return applyRetry(ctx, cs.CoreV1().Secrets(ws.Namespace), "Secret", podTokenSecret(*ws), nil)
}

// deletePodTokens removes a service's pod token Secret.
func deletePodTokens(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	obj := kubeobj.Object{Kind: "Secret", Namespace: namespace, Name: podTokenSecretName(name)}
	return kubeobj.Remove(ctx, cs.CoreV1().Secrets(namespace), obj)
}
