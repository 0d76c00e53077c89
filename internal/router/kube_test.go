package router

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/routing"
)

var env *clustertest.Env

func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m, clustertest.Options{Provider: "simulated", Spec: provider.Spec{Name: "router"}}, &env))
}

// kubeClient is a client of the test cluster without client-go's default
// 5 QPS limit, as the router's own is.
func kubeClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// routerClient is the router's own client of the test cluster
// (NewClient: four API groups only), as `kubeml router` makes it.
func routerClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	kube, err := NewClient(restConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return kube
}

func restConfig(t *testing.T) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	return cfg
}

// startRouter runs a router on the test cluster until the test ends and
// returns it once ready (its table filled).
func startRouter(t *testing.T, c Config) *Router {
	t.Helper()
	c.Kube, c.Listen = routerClient(t), "127.0.0.1:0"
	ready := make(chan string, 1)
	c.Ready = func(addr string) { ready <- addr }
	r := New(c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run ended before it was ready: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the router never became ready")
	}
	if w := send(front(t, r), "GET", "/readyz", ""); w.Code != 200 {
		t.Fatalf("readyz after Ready = %d", w.Code)
	}
	return r
}

// namespace creates a namespace named prefix-<random>, deleted after the
// test.
func namespace(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	ns, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	return ns.Name
}

// routingSecret is the Secret the workspace server writes for sr.
func routingSecret(t *testing.T, ns string, sr routing.Service) *corev1.Secret {
	t.Helper()
	data, err := json.Marshal(sr)
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: routing.SecretName(sr.Name), Namespace: ns,
			Labels: map[string]string{routing.SecretLabel: "true", routing.ServiceLabel: sr.Name}},
		Data: map[string][]byte{routing.SecretKey: data},
	}
}

// slice is an EndpointSlice of a Service with endpoints at 10.213.250.x
// (never dialled): ready, ready+terminating or not ready.
func slice(ns, svc, name string, ready, terminating, notReady []string) *discoveryv1.EndpointSlice {
	yes, no := true, false
	tcp, port := corev1.ProtocolTCP, int32(routing.ModelPort)
	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "kubeml-test"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: new("http"), Port: &port, Protocol: &tcp}},
	}
	add := func(ips []string, c discoveryv1.EndpointConditions) {
		for _, ip := range ips {
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.213.250." + ip}, Conditions: c})
		}
	}
	add(ready, discoveryv1.EndpointConditions{Ready: &yes})
	add(terminating, discoveryv1.EndpointConditions{Ready: &yes, Terminating: &yes})
	add(notReady, discoveryv1.EndpointConditions{Ready: &no})
	return es
}

// The table follows routing Secrets and the EndpointSlices of their
// versions' Services: ready endpoints only, updates applied, bad Secrets
// skipped.
func TestWatchTable(t *testing.T) {
	clustertest.Require(t, env)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	routerNS, modelNS := namespace(t, ctx, "rt-watch"), namespace(t, ctx, "models-watch")
	cs := env.Client
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "iris-blue", Namespace: modelNS},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(routing.ModelPort)}}},
	}
	if _, err := cs.CoreV1().Services(modelNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	slices1 := cs.DiscoveryV1().EndpointSlices(modelNS)
	if _, err := slices1.Create(ctx, slice(modelNS, "iris-blue", "iris-blue-a", []string{"1"}, []string{"3"}, []string{"2"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	blue := testVersion("iris", "blue", 0, true)
	sr := testRouting("iris", blue)
	sr.Namespace = modelNS
	secrets := cs.CoreV1().Secrets(routerNS)
	if _, err := secrets.Create(ctx, routingSecret(t, routerNS, sr), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	broken := routingSecret(t, routerNS, testRouting("broken", blue))
	broken.Data[routing.SecretKey] = []byte("{not json")
	if _, err := secrets.Create(ctx, broken, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	r := startRouter(t, Config{Namespace: routerNS, Autoscale: AutoscaleConfig{Disabled: true},
		Log: testLog(t)})
	addrs := func() []string {
		s := r.table.lookup("iris")
		if s == nil {
			return nil
		}
		return s.versions[0].pool.addrs()
	}
	if got := addrs(); !slices.Equal(got, []string{"10.213.250.1:5001"}) {
		t.Fatalf("when ready, endpoints = %v, want only the ready 10.213.250.1:5001", got)
	}
	if r.table.lookup("broken") != nil {
		t.Error("a Secret that does not parse was taken in")
	}
	wantAddrs := func(what string, want ...string) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() bool { return slices.Equal(addrs(), want) })
	}

	es := slice(modelNS, "iris-blue", "iris-blue-a", []string{"1", "2"}, nil, nil)
	if _, err := slices1.Update(ctx, es, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	wantAddrs("an endpoint that becomes ready is added", "10.213.250.1:5001", "10.213.250.2:5001")
	if _, err := slices1.Create(ctx, slice(modelNS, "iris-blue", "iris-blue-b", []string{"4"}, nil, nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wantAddrs("a second slice adds its endpoints", "10.213.250.1:5001", "10.213.250.2:5001", "10.213.250.4:5001")
	if err := slices1.Delete(ctx, "iris-blue-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	wantAddrs("a deleted slice takes its endpoints", "10.213.250.4:5001")

	green := testVersion("iris", "green", 30, false)
	sr.Versions = append(sr.Versions, green)
	if _, err := secrets.Update(ctx, routingSecret(t, routerNS, sr), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the new version is routed", func() bool {
		s := r.table.lookup("iris")
		return s != nil && len(s.versions) == 2 && s.versions[0].weight == 70 && s.versions[1].weight == 30
	})
	bad := routingSecret(t, routerNS, sr)
	bad.Data[routing.SecretKey] = []byte(`{"name":"iris","versions":[]}`)
	if _, err := secrets.Update(ctx, bad, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if s := r.table.lookup("iris"); s == nil || len(s.versions) != 2 {
		t.Error("a broken update replaced the last good routing")
	}

	if err := secrets.Delete(ctx, routing.SecretName("iris"), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the deleted service is gone", func() bool { return r.table.lookup("iris") == nil })
	if w := send(front(t, r), "POST", "/api/v1/service/iris/score", "{}"); w.Code != 404 {
		t.Errorf("scoring a deleted service = %d, want 404", w.Code)
	}
}
