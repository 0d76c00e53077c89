// Command fakekube is a stand-in Kubernetes API, on loopback, for running
// the real `kubeml router` binary without a cluster. It serves just what
// the router asks for: a list and an idle watch of one routing Secret (in
// the router's namespace) and one EndpointSlice that points at loopback
// model servers, a Lease the router can take, and Deployment scales. It
// writes a kubeconfig for `kubeml router --kubeconfig`.
//
//	fakekube -listen 127.0.0.1:0 -kubeconfig KCFG -service fashion -backend 127.0.0.1:5001 [-key K]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeml/kubeml/internal/routing"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var backends list
	listen := flag.String("listen", "127.0.0.1:0", "address of the fake API")
	kubeconfig := flag.String("kubeconfig", "kubeconfig", "kubeconfig file to write")
	routerNS := flag.String("router-namespace", routing.Namespace, "the router's namespace")
	modelNS := flag.String("namespace", "models", "the service's namespace")
	service := flag.String("service", "fashion", "web service name")
	key := flag.String("key", "", "scoring key (empty: no auth)")
	maxConc := flag.Int("max-concurrent", 64, "maxConcurrentRequestsPerContainer")
	flag.Var(&backends, "backend", "host:port of a model server (repeatable)")
	flag.Parse()
	if len(backends) == 0 {
		fail(fmt.Errorf("need at least one -backend"))
	}

	v := routing.Version{Name: "blue", Deployment: *service + "-blue", Service: *service + "-blue",
		TrafficPercentile: 100, IsDefault: true, Port: routing.ModelPort}
	sr := routing.Service{Name: *service, Namespace: *modelNS, ScoringTimeoutMs: 60000,
		MaxConcurrentRequestsPerContainer: *maxConc, MaxQueueWaitMs: 5000, Versions: []routing.Version{v}}
	if *key != "" {
		sr.AuthEnabled, sr.KeyHashes = true, []string{routing.HashKey(*key)}
	}
	data, _ := json.Marshal(sr)
	secret := corev1.Secret{
		TypeMeta: metav1.TypeMeta{Kind: "Secret", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: routing.SecretName(*service), Namespace: *routerNS, ResourceVersion: "1",
			Labels: map[string]string{routing.SecretLabel: "true", routing.ServiceLabel: *service}},
		Data: map[string][]byte{routing.SecretKey: data},
	}
	slice := discoveryv1.EndpointSlice{
		TypeMeta: metav1.TypeMeta{Kind: "EndpointSlice", APIVersion: "discovery.k8s.io/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: v.Service + "-abcde", Namespace: *modelNS, ResourceVersion: "1",
			Labels: map[string]string{discoveryv1.LabelServiceName: v.Service}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	// The router keeps one port per slice, so each backend gets its own
	// slice when ports differ; one slice per backend is simplest.
	slices := []discoveryv1.EndpointSlice{}
	for i, b := range backends {
		host, port, err := net.SplitHostPort(b)
		if err != nil {
			fail(err)
		}
		p, _ := strconv.Atoi(port)
		s := slice
		s.Name = fmt.Sprintf("%s-%d", v.Service, i)
		ready := true
		p32 := int32(p)
		proto := corev1.ProtocolTCP
		s.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{host}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}}
		s.Ports = []discoveryv1.EndpointPort{{Port: &p32, Protocol: &proto}}
		slices = append(slices, s)
	}

	var mu sync.Mutex
	leases := map[string][]byte{}
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	notFound := func(w http.ResponseWriter, what string) {
		writeJSON(w, http.StatusNotFound, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status: "Failure", Reason: metav1.StatusReasonNotFound, Code: 404, Message: what + " not found"})
	}
	// idleWatch answers a watch: with sendInitialEvents (client-go's
	// watch-list, the informers' default) the items as ADDED events and
	// the bookmark that ends them; then nothing until the client hangs up.
	idleWatch := func(w http.ResponseWriter, r *http.Request, kind, apiVersion string, items []any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		if r.URL.Query().Get("sendInitialEvents") == "true" {
			enc := json.NewEncoder(w)
			for _, it := range items {
				_ = enc.Encode(map[string]any{"type": "ADDED", "object": it})
			}
			_ = enc.Encode(map[string]any{"type": "BOOKMARK", "object": map[string]any{
				"kind": kind, "apiVersion": apiVersion,
				"metadata": map[string]any{"resourceVersion": "1", "annotations": map[string]string{"k8s.io/initial-events-end": "true"}},
			}})
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		<-r.Context().Done() // until the client's timeout ends the watch
	}
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/secrets", func(w http.ResponseWriter, r *http.Request) {
		l := corev1.SecretList{TypeMeta: metav1.TypeMeta{Kind: "SecretList", APIVersion: "v1"}, ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
		if r.PathValue("ns") == *routerNS {
			l.Items = []corev1.Secret{secret}
		}
		if r.URL.Query().Get("watch") != "" {
			var items []any
			for _, it := range l.Items {
				items = append(items, it)
			}
			idleWatch(w, r, "Secret", "v1", items)
			return
		}
		writeJSON(w, 200, l)
	})
	mux.HandleFunc("GET /apis/discovery.k8s.io/v1/endpointslices", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") != "" {
			var items []any
			for _, it := range slices {
				items = append(items, it)
			}
			idleWatch(w, r, "EndpointSlice", "discovery.k8s.io/v1", items)
			return
		}
		writeJSON(w, 200, discoveryv1.EndpointSliceList{TypeMeta: metav1.TypeMeta{Kind: "EndpointSliceList", APIVersion: "discovery.k8s.io/v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: slices})
	})
	leaseRV := 1
	mux.HandleFunc("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name...}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id := r.PathValue("ns") + "/" + r.PathValue("name")
		switch r.Method {
		case http.MethodGet:
			b, ok := leases[id]
			if !ok {
				notFound(w, "lease "+id)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
		case http.MethodPost, http.MethodPut:
			var obj map[string]any
			body, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(body, &obj); err != nil {
				writeJSON(w, 400, metav1.Status{Status: "Failure", Code: 400, Message: err.Error()})
				return
			}
			meta, _ := obj["metadata"].(map[string]any)
			if meta == nil {
				meta = map[string]any{}
				obj["metadata"] = meta
			}
			if r.Method == http.MethodPost {
				id = r.PathValue("ns") + "/" + fmt.Sprint(meta["name"])
			}
			leaseRV++
			meta["resourceVersion"] = strconv.Itoa(leaseRV)
			b, _ := json.Marshal(obj)
			leases[id] = b
			code := 200
			if r.Method == http.MethodPost {
				code = 201
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write(b)
		default:
			writeJSON(w, 200, metav1.Status{Status: "Success"})
		}
	})
	mux.HandleFunc("/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale", func(w http.ResponseWriter, r *http.Request) {
		s := autoscalingv1.Scale{TypeMeta: metav1.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
			ObjectMeta: metav1.ObjectMeta{Name: r.PathValue("name"), Namespace: r.PathValue("ns"), ResourceVersion: "1"},
			Spec:       autoscalingv1.ScaleSpec{Replicas: int32(len(backends))},
			Status:     autoscalingv1.ScaleStatus{Replicas: int32(len(backends))}}
		if r.Method == http.MethodPut {
			_ = json.NewDecoder(r.Body).Decode(&s)
		}
		writeJSON(w, 200, s)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "fakekube: unhandled %s %s\n", r.Method, r.URL)
		notFound(w, r.URL.Path)
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fail(err)
	}
	kcfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: http://%s
contexts:
- name: fake
  context:
    cluster: fake
    user: fake
current-context: fake
users:
- name: fake
  user:
    token: fake
`, ln.Addr())
	if err := os.WriteFile(*kubeconfig, []byte(kcfg), 0o600); err != nil {
		fail(err)
	}
	fmt.Println(ln.Addr())
	fail(http.Serve(ln, mux))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fakekube:", err)
	os.Exit(1)
}
