package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/provider"
	"github.com/kubeml/kubeml/internal/server"
)

var env *clustertest.Env

func TestMain(m *testing.M) {
	os.Exit(clustertest.Run(m, clustertest.Options{Provider: "none"}, &env))
}

// testServer is a server on a fresh data dir, served over plain HTTP by
// httptest, and a token to call it with.
type testServer struct {
	t     testing.TB
	url   string
	token string
	srv   *server.Server
}

func newTestServer(t testing.TB) *testServer { return newTestServerWith(t, nil) }

// newTestServerWith is newTestServer with a changed configuration.
func newTestServerWith(t testing.TB, change func(*server.Config)) *testServer {
	t.Helper()
	clustertest.Require(t, env) // before env is read: without a cluster it is nil
	return newTestServerOn(t, env.Registry, change)
}

// listen takes a loopback port for a test server and makes it the
// server's external URL, as `kubeml server` does with its listener.
func listen(t testing.TB, cfg *server.Config) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ExternalURL = "http://" + ln.Addr().String()
	return ln
}

// serveOn serves h over plain HTTP on ln.
func serveOn(ln net.Listener, h http.Handler) *httptest.Server {
	hs := httptest.NewUnstartedServer(h)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	return hs
}

// newTestServerOn is newTestServerWith on other providers.
func newTestServerOn(t testing.TB, reg provider.Registry, change func(*server.Config)) *testServer {
	t.Helper()
	clustertest.Require(t, env)
	dir := t.TempDir()
	cfg := server.Defaults(dir)
	ln := listen(t, &cfg)
	if change != nil {
		change(&cfg)
	}
	srv, err := server.New(cfg, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	hs := serveOn(ln, srv.Handler())
	t.Cleanup(func() { hs.Close(); cancel(); srv.Drain(); srv.Close() })
	tok, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{t: t, url: hs.URL, token: strings.TrimSpace(string(tok)), srv: srv}
}

const (
	sub = "00000000-0000-0000-0000-000000000001"
	rg  = "rg1"
	av  = "?api-version=2024-04-01"
)

func (s *testServer) call(method, path string, body any) (int, http.Header, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = s.url + path
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// wait polls an Azure-AsyncOperation URL until the operation ends.
func (s *testServer) wait(h http.Header) api.Operation { return s.waitEvery(h, 200*time.Millisecond) }

// waitFast polls often, for benchmarks that time operations.
func (s *testServer) waitFast(h http.Header) api.Operation {
	return s.waitEvery(h, 20*time.Millisecond)
}

func (s *testServer) waitEvery(h http.Header, every time.Duration) api.Operation {
	s.t.Helper()
	url := h.Get("Azure-AsyncOperation")
	if url == "" {
		s.t.Fatal("no Azure-AsyncOperation header")
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		code, _, body := s.call("GET", url, nil)
		var op api.Operation
		if code != 200 || json.Unmarshal(body, &op) != nil {
			s.t.Fatalf("operation status: %d %s", code, body)
		}
		if op.Status != api.StatusInProgress {
			return op
		}
		time.Sleep(every)
	}
	s.t.Fatal("operation did not finish")
	return api.Operation{}
}

func wsPath(ws string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.MachineLearningServices/workspaces/" + ws
}

func (s *testServer) workspace(name string) string {
	s.t.Helper()
	if code, _, body := s.call("PUT", wsPath(name)+av, api.Workspace{Location: "simulated"}); code != 201 {
		s.t.Fatalf("create workspace: %d %s", code, body)
	}
	return wsPath(name)
}

func aks(purpose, location string, count int, size string) api.Compute {
	c := api.Compute{Properties: api.ComputeProperties{ComputeType: "AKS", ComputeLocation: location,
		Properties: &api.AKSProperties{ClusterPurpose: purpose, AgentVMSize: size}}}
	if count > 0 {
		c.Properties.Properties.AgentCount = &count
	}
	return c
}

func TestComputeLifecycleOnSimulatedClusters(t *testing.T) {
	s := newTestServer(t)
	ws := s.workspace("ws1")
	path := ws + "/computes/prodaks"
	code, h, body := s.call("PUT", path+av, aks("FastProd", "simulated", 3, "Standard_D3_v2"))
	if code != 201 || h.Get("Retry-After") == "" {
		t.Fatalf("create: %d %v %s", code, h, body)
	}
	var c api.Compute
	json.Unmarshal(body, &c)
	if c.Properties.ProvisioningState != "Creating" || !regexp.MustCompile(`/managedClusters/prodaks-\d{5}-[0-9a-f]{6}$`).MatchString(c.Properties.ResourceID) {
		t.Fatalf("created compute = %s", body)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("create operation: %+v", op)
	}
	code, _, body = s.call("GET", path+av, nil)
	json.Unmarshal(body, &c)
	if code != 200 || c.Properties.ProvisioningState != "Succeeded" || *c.Properties.Properties.AgentCount != 3 {
		t.Fatalf("GET after create: %d %s", code, body)
	}
	// The managed cluster is a resource of its own.
	code, _, body = s.call("GET", c.Properties.ResourceID+av, nil)
	var mc api.ManagedCluster
	json.Unmarshal(body, &mc)
	if code != 200 || mc.Properties.ProvisioningState != "Succeeded" || mc.Properties.PowerState.Code != "Running" {
		t.Fatalf("managed cluster: %d %s", code, body)
	}
	// listKeys gives a working kubeconfig; listNodes reads the cluster.
	code, _, body = s.call("POST", path+"/listKeys"+av, nil)
	var keys api.ComputeSecrets
	json.Unmarshal(body, &keys)
	if _, err := clientcmd.RESTConfigFromKubeConfig([]byte(keys.AdminKubeConfig)); code != 200 || err != nil {
		t.Fatalf("listKeys: %d %v", code, err)
	}
	code, _, body = s.call("POST", path+"/listNodes"+av, nil)
	var nodes api.ComputeNodes
	json.Unmarshal(body, &nodes)
	if code != 200 || len(nodes.Nodes) != 3 {
		t.Fatalf("listNodes: %d %s", code, body)
	}
	// GET never shows secrets.
	if bytes.Contains(body, []byte("BEGIN")) {
		t.Fatal("a GET returned key material")
	}
	// Scale: node count only.
	code, h, body = s.call("PUT", path+av, aks("FastProd", "simulated", 4, "Standard_D3_v2"))
	if code != 200 {
		t.Fatalf("scale: %d %s", code, body)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("scale operation: %+v", op)
	}
	_, _, body = s.call("POST", path+"/listNodes"+av, nil)
	json.Unmarshal(body, &nodes)
	if len(nodes.Nodes) != 4 {
		t.Fatalf("after scale to 4: %d nodes", len(nodes.Nodes))
	}
	code, _, body = s.call("PUT", path+av, aks("FastProd", "simulated", 4, "Standard_D4_v2"))
	if code != 400 || !strings.Contains(string(body), "VMSizeChange") {
		t.Fatalf("VM size change: %d %s", code, body)
	}
	// Delete needs an action, then removes compute and cluster.
	if code, _, body := s.call("DELETE", path+av, nil); code != 400 || !strings.Contains(string(body), "underlyingResourceAction") {
		t.Fatalf("delete without action: %d %s", code, body)
	}
	code, h, _ = s.call("DELETE", path+av+"&underlyingResourceAction=delete", nil)
	if code != 202 || h.Get("Location") == "" {
		t.Fatalf("delete: %d %v", code, h)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("delete operation: %+v", op)
	}
	for _, p := range []string{path, c.Properties.ResourceID} {
		if code, _, _ := s.call("GET", p+av, nil); code != 404 {
			t.Errorf("GET %s after delete: %d", p, code)
		}
	}
	p, _ := env.Registry.Get("simulated")
	if cs, _ := p.List(context.Background()); len(cs) != 0 {
		t.Errorf("clusters left at the provider: %+v", cs)
	}
}

func TestFastProdOnLocalFailsAtOnceWithBothMessages(t *testing.T) {
	s := newTestServer(t)
	ws := s.workspace("ws2")
	code, _, body := s.call("PUT", ws+"/computes/tiny"+av, aks("FastProd", "local", 0, ""))
	if code != 400 {
		t.Fatalf("FastProd on local: %d %s", code, body)
	}
	for _, want := range []string{
		"The number of nodes multiplied by the virtual machine's number of cores (vCPUs) must be greater than or equal to 12",
		"At least 3 machine(s) are required for cluster with purpose 'FastProd'. Available machine(s) : 1",
		"InsufficientVCPUs", "InsufficientNodes",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("response lacks %q: %s", want, body)
		}
	}
	if code, _, _ := s.call("GET", ws+"/computes/tiny"+av, nil); code != 404 {
		t.Errorf("a refused compute was saved: GET %d", code)
	}
}

func TestBadRequestsGetClearErrors(t *testing.T) {
	s := newTestServer(t)
	ws := s.workspace("ws3")
	cases := map[string]struct {
		method, path string
		body         any
		token        string
		code         int
		want         string
	}{
		"an unknown api-version names the supported ones": {"GET", ws + "?api-version=1999-01-01", nil, "", 400, "2024-04-01"},
		"no api-version":                      {"GET", ws, nil, "", 400, "MissingApiVersionParameter"},
		"no token":                            {"GET", ws + av, nil, "-", 401, "AuthenticationFailed"},
		"a wrong token":                       {"GET", ws + av, nil, "nope", 401, "AuthenticationFailed"},
		"an unknown location lists the known": {"PUT", ws + "/computes/abc" + av, aks("DevTest", "mars", 1, ""), "", 400, "simulated"},
		"a reserved name":                     {"PUT", ws + "/computes/local" + av, aks("DevTest", "simulated", 1, ""), "", 400, "ReservedComputeName"},
		"a compute in a missing workspace":    {"PUT", wsPath("nows") + "/computes/abc" + av, aks("DevTest", "simulated", 1, ""), "", 404, "ParentResourceNotFound"},
		"a body that is not JSON":             {"PUT", ws + "/computes/abc" + av, "{", "", 400, "InvalidRequestContent"},
		"a missing compute":                   {"GET", ws + "/computes/none" + av, nil, "", 404, "ResourceNotFound"},
		"deleting a missing compute":          {"DELETE", ws + "/computes/none" + av + "&underlyingResourceAction=Delete", nil, "", 204, ""},
		"versions of an unknown location":     {"GET", "/subscriptions/" + sub + "/providers/Microsoft.ContainerService/locations/mars/kubernetesVersions" + av, nil, "", 400, "UnknownLocation"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			saved := s.token
			if c.token == "-" {
				s.token = ""
			} else if c.token != "" {
				s.token = c.token
			}
			defer func() { s.token = saved }()
			var body any = c.body
			if str, ok := c.body.(string); ok {
				body = json.RawMessage(str)
				_ = body
			}
			code, _, out := s.callRaw(c.method, c.path, c.body)
			if code != c.code || !strings.Contains(string(out), c.want) {
				t.Fatalf("%s %s: %d %s; want %d with %q", c.method, c.path, code, out, c.code, c.want)
			}
		})
	}
}

// callRaw is call, but a string body is sent as is.
func (s *testServer) callRaw(method, path string, body any) (int, http.Header, []byte) {
	if str, ok := body.(string); ok {
		req, _ := http.NewRequest(method, s.url+path, strings.NewReader(str))
		req.Header.Set("Authorization", "Bearer "+s.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			s.t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, out
	}
	return s.call(method, path, body)
}

func TestVersionsInBothShapes(t *testing.T) {
	s := newTestServer(t)
	base := "/subscriptions/" + sub + "/providers/Microsoft.ContainerService/locations/local/"
	code, _, body := s.call("GET", base+"kubernetesVersions"+av, nil)
	var kv api.KubernetesVersionList
	json.Unmarshal(body, &kv)
	if code != 200 || len(kv.Values) != 1 || kv.Values[0].Version != "1.37" || !kv.Values[0].IsDefault {
		t.Fatalf("kubernetesVersions: %d %s", code, body)
	}
	code, _, body = s.call("GET", base+"orchestrators"+av+"&resource-type=managedClusters", nil)
	var o api.OrchestratorVersionProfileList
	json.Unmarshal(body, &o)
	if code != 200 || o.Properties.Orchestrators[0].OrchestratorVersion != "1.37.2" || !o.Properties.Orchestrators[0].Default {
		t.Fatalf("orchestrators: %d %s", code, body)
	}
}
