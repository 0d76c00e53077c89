package deploy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/deploy"
	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/routing"
)

// webServiceEnv gives a test kubeml-system (as an attach leaves it) and a
// namespace of its own for services, which it deletes afterwards. The
// test deletes its services; kubeml-system stays (waiting for it to go
// takes seconds): tests that need a bare cluster detach first.
func webServiceEnv(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	ctx := t.Context()
	sys := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: routing.Namespace,
		Labels: map[string]string{kubeobj.ManagedByLabel: "kubeml", kubeobj.PartOfLabel: "kubeml"}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, sys, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
}

// modelFile serves data as a model and counts how often it is opened.
func modelFile(name string, data []byte, opens *atomic.Int32) deploy.ModelFile {
	sum := sha256.Sum256(data)
	return deploy.ModelFile{Name: name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) {
			if opens != nil {
				opens.Add(1)
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		}}
}

// randomBytes returns n reproducible bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// fashion is a two-version service whose first version's model takes two
// ConfigMaps; v2 autoscales.
func fashion(ns string, model deploy.ModelFile) deploy.WebService {
	limit := resource.MustParse("1")
	return deploy.WebService{
		Name: "fashion", Namespace: ns, Image: "kubeml.local/kubeml:test", ImagePullPolicy: corev1.PullNever,
		Versions: []deploy.Version{
			{Name: "v1", Model: model, CPU: resource.MustParse("250m"), Memory: resource.MustParse("256Mi"), CPULimit: &limit, Replicas: 2},
			{Name: "v2", Model: model},
		},
		Routing: routing.Service{AuthEnabled: true, KeyHashes: []string{routing.HashKey("k1")}, ScoringTimeoutMs: 60000,
			MaxConcurrentRequestsPerContainer: 1, MaxQueueWaitMs: 500,
			Versions: []routing.Version{{Name: "v1", TrafficPercentile: 80},
				{Name: "v2", IsDefault: true, Autoscale: routing.Autoscale{Enabled: true, MinReplicas: 1, MaxReplicas: 3, TargetUtilization: 70}}}},
	}
}

func readRouting(t *testing.T, cs kubernetes.Interface, service string) (routing.Service, *corev1.Secret) {
	t.Helper()
	s, err := cs.CoreV1().Secrets(routing.Namespace).Get(t.Context(), routing.SecretName(service), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var r routing.Service
	if err := json.Unmarshal(s.Data[routing.SecretKey], &r); err != nil {
		t.Fatal(err)
	}
	return r, s
}

func TestApplyWebServiceCreatesItsObjects(t *testing.T) {
	clustertest.Require(t, env)
	cs, ctx, ns := fastClient(t), ctxFor(t, 2*time.Minute), "ws-create"
	webServiceEnv(t, cs, ns)
	data := randomBytes(1_000_000, 1) // two parts
	var opens atomic.Int32
	ws := fashion(ns, modelFile("big.onnx", data, &opens))
	t.Cleanup(func() { deploy.DeleteWebService(context.Background(), cs, ns, "fashion") })
	var steps []string
	start := time.Now()
	if err := deploy.ApplyWebService(ctx, cs, ws, func(s string) { steps = append(steps, s) }); err != nil {
		t.Fatal(err)
	}
	t.Logf("applied in %v: %q", time.Since(start), steps)
	sha := ws.Versions[0].Model.SHA256

	// The model: two immutable parts that add up to its bytes.
	var got []byte
	for i, size := range []int{deploy.ModelPartSize, len(data) - deploy.ModelPartSize} {
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, deploy.ModelPartName(sha, i), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Immutable == nil || !*cm.Immutable || cm.Labels[deploy.ModelLabel] != sha[:63] || len(cm.BinaryData["part"]) != size {
			t.Errorf("part %d: immutable %v, labels %v, %d bytes", i, cm.Immutable, cm.Labels, len(cm.BinaryData["part"]))
		}
		got = append(got, cm.BinaryData["part"]...)
	}
	if !bytes.Equal(got, data) {
		t.Error("the parts do not add up to the model")
	}
	if cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, deploy.ModelPartName(sha, 2), metav1.GetOptions{}); err == nil {
		t.Errorf("a third part %s", cm.Name)
	}

	// The Deployment of v1.
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "fashion-v1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{routing.ServiceLabel: "fashion", routing.VersionLabel: "v1", kubeobj.ManagedByLabel: "kubeml"}
	for k, v := range wantLabels {
		if d.Labels[k] != v || d.Spec.Template.Labels[k] != v {
			t.Errorf("label %s: deployment %q, pods %q, want %q", k, d.Labels[k], d.Spec.Template.Labels[k], v)
		}
	}
	su := d.Spec.Strategy.RollingUpdate
	if *d.Spec.Replicas != 2 || su == nil || su.MaxUnavailable.IntValue() != 0 || su.MaxSurge.IntValue() != 1 {
		t.Errorf("replicas %d, strategy %+v", *d.Spec.Replicas, d.Spec.Strategy)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	args := strings.Join(c.Args, " ")
	for _, w := range []string{"serve-model --parts-dir /var/lib/kubeml/model --sha256 " + sha, "--name fashion --version v1", "--listen :5001", "--size 1000000"} {
		if !strings.Contains(args, w) {
			t.Errorf("args %q lack %q", args, w)
		}
	}
	if c.Image != ws.Image || c.ImagePullPolicy != corev1.PullNever || len(c.Ports) != 1 || c.Ports[0].ContainerPort != 5001 || c.Ports[0].Name != "http" {
		t.Errorf("container %s %s ports %+v", c.Image, c.ImagePullPolicy, c.Ports)
	}
	if c.Resources.Requests.Cpu().String() != "250m" || c.Resources.Requests.Memory().String() != "256Mi" ||
		c.Resources.Limits.Cpu().String() != "1" || !c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v", c.Resources)
	}
	if r := c.ReadinessProbe; r == nil || r.HTTPGet == nil || r.HTTPGet.Path != "/" || r.HTTPGet.Port.String() != "http" {
		t.Errorf("readiness %+v", r)
	}
	if l := c.LivenessProbe; l == nil || l.PeriodSeconds != 10 || l.InitialDelaySeconds != 310 || l.TimeoutSeconds != 2 || l.FailureThreshold != 3 {
		t.Errorf("liveness %+v", l)
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g <= 5 {
		t.Errorf("termination grace %v, want more than the drain", g)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != deploy.ModelDir || len(pod.Volumes) != 1 || pod.Volumes[0].Projected == nil {
		t.Fatalf("volumes %+v mounts %+v", pod.Volumes, c.VolumeMounts)
	}
	for i, src := range pod.Volumes[0].Projected.Sources {
		want := []string{deploy.ModelPartName(sha, 0), "part-0000", deploy.ModelPartName(sha, 1), "part-0001"}[2*i:]
		if cm := src.ConfigMap; cm == nil || cm.Name != want[0] || len(cm.Items) != 1 || cm.Items[0].Key != "part" || cm.Items[0].Path != want[1] {
			t.Errorf("volume source %d = %+v, want %v", i, src.ConfigMap, want[:2])
		}
	}
	if n := len(pod.Volumes[0].Projected.Sources); n != 2 {
		t.Errorf("%d volume sources, want 2", n)
	}

	// Its Service, budget and the routing.
	svc, err := cs.CoreV1().Services(ns).Get(ctx, "fashion-v1", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector[routing.ServiceLabel] != "fashion" || svc.Spec.Selector[routing.VersionLabel] != "v1" ||
		len(svc.Spec.Selector) != 2 || svc.Spec.Ports[0].Port != 5001 {
		t.Errorf("service %+v, %v", svc.Spec, err)
	}
	pdb, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "fashion-v1", metav1.GetOptions{})
	if err != nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels[routing.VersionLabel] != "v1" {
		t.Errorf("pdb %+v, %v", pdb, err)
	}
	r, secret := readRouting(t, cs, "fashion")
	if secret.Labels[routing.SecretLabel] != "true" || secret.Labels[routing.ServiceLabel] != "fashion" {
		t.Errorf("secret labels %v", secret.Labels)
	}
	if r.Name != "fashion" || r.Namespace != ns || !r.AuthEnabled || len(r.Versions) != 2 || r.ScoringTimeoutMs != 60000 {
		t.Errorf("routing %+v", r)
	}
	for _, v := range r.Versions {
		if v.Deployment != "fashion-"+v.Name || v.Service != "fashion-"+v.Name || v.Port != 5001 {
			t.Errorf("routing of %s: %+v", v.Name, v)
		}
	}

	// Ready on kwok, then applying again changes nothing.
	var progress []string
	if err := deploy.WaitWebService(ctxFor(t, time.Minute), cs, ws, func(s string) { progress = append(progress, s) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(progress, "fashion-v1: 2/2 replicas ready") {
		t.Errorf("progress %q", progress)
	}
	before := resourceVersions(t, cs, ns)
	if err := deploy.ApplyWebService(ctx, cs, ws, nil); err != nil {
		t.Fatal(err)
	}
	if after := resourceVersions(t, cs, ns); !slices.Equal(before, after) {
		t.Errorf("a second apply changed objects:\n%v\n%v", before, after)
	}
	if n := opens.Load(); n != 1 {
		t.Errorf("the model was read %d times, want once", n)
	}
}

// resourceVersions lists the versions of the service's objects: their
// generation where a controller writes their status, else their
// resourceVersion.
func resourceVersions(t *testing.T, cs kubernetes.Interface, ns string) []string {
	t.Helper()
	var out []string
	add := func(kind string, m metav1.ObjectMeta) {
		v := m.ResourceVersion
		if kind == "Deployment" || kind == "PDB" {
			v = fmt.Sprint("gen", m.Generation)
		}
		out = append(out, kind+"/"+m.Name+"@"+v)
	}
	ds, _ := cs.AppsV1().Deployments(ns).List(t.Context(), metav1.ListOptions{})
	for _, d := range ds.Items {
		add("Deployment", d.ObjectMeta)
	}
	ss, _ := cs.CoreV1().Services(ns).List(t.Context(), metav1.ListOptions{})
	for _, s := range ss.Items {
		add("Service", s.ObjectMeta)
	}
	ps, _ := cs.PolicyV1().PodDisruptionBudgets(ns).List(t.Context(), metav1.ListOptions{})
	for _, p := range ps.Items {
		add("PDB", p.ObjectMeta)
	}
	sec, _ := cs.CoreV1().Secrets(routing.Namespace).List(t.Context(), metav1.ListOptions{LabelSelector: routing.SecretLabel})
	for _, s := range sec.Items {
		add("Secret", s.ObjectMeta)
	}
	return out
}
