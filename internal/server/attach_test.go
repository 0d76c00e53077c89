package server_test

import (
	"context"

	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/compute"
	"github.com/kubeml/kubeml/internal/kubeobj"
	"github.com/kubeml/kubeml/internal/proc"
	"github.com/kubeml/kubeml/internal/routing"
	"github.com/kubeml/kubeml/internal/server"
)

// makeCluster creates a simulated managed cluster through the API and
// returns its id.
func (s *testServer) makeCluster(name string, count int, size string) string {
	s.t.Helper()
	path := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerService/managedClusters/" + name
	code, h, body := s.call("PUT", path+av, api.ManagedCluster{Location: "simulated",
		Properties: api.ManagedClusterProperties{AgentPoolProfiles: []api.AgentPoolProfile{{Name: "pool", Count: &count, VMSize: size}}}})
	if code != 201 && code != 200 {
		s.t.Fatalf("cluster: %d %s", code, body)
	}
	if h.Get("Azure-AsyncOperation") != "" {
		if op := s.wait(h); op.Status != "Succeeded" {
			s.t.Fatalf("cluster: %+v", op)
		}
	}
	s.t.Cleanup(func() {
		if _, h, _ := s.call("DELETE", path+av, nil); h.Get("Azure-AsyncOperation") != "" {
			s.wait(h)
		}
	})
	return path
}

func attachBody(clusterID, purpose string) api.Compute {
	return api.Compute{Properties: api.ComputeProperties{ComputeType: "AKS", ResourceID: clusterID,
		Properties: &api.AKSProperties{ClusterPurpose: purpose}}}
}

// adminClient is a client of the managed cluster with its admin
// credentials.
func (s *testServer) adminClient(clusterID string) kubernetes.Interface {
	s.t.Helper()
	code, _, body := s.call("POST", clusterID+"/listClusterAdminCredential"+av, nil)
	var cr api.CredentialResults
	if code != 200 || json.Unmarshal(body, &cr) != nil {
		s.t.Fatalf("credentials: %d %s", code, body)
	}
	_, cs, err := clustertest.ConnectKubeconfig(cr.Kubeconfigs[0].Value)
	if err != nil {
		s.t.Fatal(err)
	}
	return cs
}

// managed lists what kubeml made in the cluster.
func (s *testServer) managed(clusterID string) []kubeobj.Object {
	s.t.Helper()
	objs, err := kubeobj.List(context.Background(), s.adminClient(clusterID))
	if err != nil {
		s.t.Fatal(err)
	}
	return objs
}

func TestAttachDetachReattachLeavesNothingBehind(t *testing.T) {
	s := newTestServer(t)
	ws := s.workspace("attachws")
	cid := s.makeCluster("attachme", 3, "Standard_D3_v2")
	code, h, body := s.call("PUT", ws+"/computes/myaks"+av, attachBody(cid, "FastProd"))
	if code != 201 {
		t.Fatalf("attach: %d %s", code, body)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("attach: %+v", op)
	}
	var c api.Compute
	_, _, body = s.call("GET", ws+"/computes/myaks"+av, nil)
	json.Unmarshal(body, &c)
	p := c.Properties.Properties
	if c.Properties.ProvisioningState != "Succeeded" || len(p.SystemServices) != 1 || p.Preflight == nil || p.Preflight.VCPUs != 12 {
		t.Fatalf("attached compute: %s", body)
	}
	if objs := s.managed(cid); len(objs) < 8 {
		t.Fatalf("installed objects: %v", objs)
	}
	// A model deployment on the cluster blocks detach, unless forced.
	cs := s.adminClient(cid)
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "mymodel", Namespace: "default", Labels: map[string]string{routing.ServiceLabel: "mymodel"}},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "m"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "m"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "m", Image: "x"}}}}}}
	if _, err := cs.AppsV1().Deployments("default").Create(context.Background(), dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if code, _, body := s.call("DELETE", ws+"/computes/myaks"+av+"&underlyingResourceAction=Detach", nil); code != 409 || !strings.Contains(string(body), "default/mymodel") {
		t.Fatalf("detach with a live deployment: %d %s", code, body)
	}
	// Detach (forced) removes everything kubeml made; the cluster stays.
	code, h, _ = s.call("DELETE", ws+"/computes/myaks"+av+"&underlyingResourceAction=Detach&force=true", nil)
	if code != 202 {
		t.Fatalf("detach: %d", code)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("detach: %+v", op)
	}
	if objs := s.managed(cid); len(objs) != 0 {
		t.Fatalf("left after detach: %v", objs)
	}
	if code, _, body := s.call("GET", cid+av, nil); code != 200 || !strings.Contains(string(body), `"Succeeded"`) {
		t.Fatalf("cluster after detach: %d %s", code, body)
	}
	// Re-attach needs no clean-up.
	code, h, body = s.call("PUT", ws+"/computes/again"+av, attachBody(cid, "FastProd"))
	if code != 201 {
		t.Fatalf("re-attach: %d %s", code, body)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("re-attach: %+v", op)
	}
	_, h, _ = s.call("DELETE", ws+"/computes/again"+av+"&underlyingResourceAction=Detach&force=true", nil)
	s.wait(h)
}

func TestAttachRefusalsComeBeforeAnythingIsWritten(t *testing.T) {
	s := newTestServerWith(t, func(c *server.Config) { c.MinKubernetesVersion, c.MaxKubernetesVersion = "1.30", "1.37" })
	ws := s.workspace("refusews")
	small := s.makeCluster("small", 2, "Standard_D3_v2")
	cases := map[string]struct {
		server *testServer
		body   api.Compute
		code   int
		reason string
	}{
		"a FastProd cluster with 8 vCPUs": {s, attachBody(small, "FastProd"), 400, "InsufficientVCPUs"},
	}
	old := newTestServerWith(t, func(c *server.Config) { c.MinKubernetesVersion, c.MaxKubernetesVersion = "1.10", "1.14" })
	oldWS := old.workspace("oldws")
	oldCluster := old.makeCluster("small", 2, "Standard_D3_v2") // the same cluster, adopted
	cases["a version outside the window"] = struct {
		server *testServer
		body   api.Compute
		code   int
		reason string
	}{old, attachBody(oldCluster, "DevTest"), 400, "VersionUnsupported"}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w := ws
			if c.server == old {
				w = oldWS
			}
			code, _, body := c.server.call("PUT", w+"/computes/refused"+av, c.body)
			if code != c.code || !strings.Contains(string(body), c.reason) || !strings.Contains(string(body), "preflight") {
				t.Fatalf("%d %s", code, body)
			}
			if objs := c.server.managed(small); len(objs) != 0 {
				t.Fatalf("written to the cluster: %v", objs)
			}
			if code, _, _ := c.server.call("GET", w+"/computes/refused"+av, nil); code != 404 {
				t.Fatalf("the compute was saved: %d", code)
			}
		})
	}
	// An attached cluster: a second attach gets 409 with the report.
	code, h, body := s.call("PUT", ws+"/computes/first"+av, attachBody(small, "DevTest"))
	if code != 201 {
		t.Fatalf("first attach: %d %s", code, body)
	}
	s.wait(h)
	before := len(s.managed(small))
	other := s.workspace("otherws") // another workspace of the same server
	code, _, body = s.call("PUT", other+"/computes/second"+av, attachBody(small, "DevTest"))
	if code != 409 || !strings.Contains(string(body), "AlreadyAttached") || !strings.Contains(string(body), "first") {
		t.Fatalf("second attach: %d %s", code, body)
	}
	if after := len(s.managed(small)); after != before {
		t.Fatalf("the second attach wrote to the cluster: %d -> %d objects", before, after)
	}
	_, h, _ = s.call("DELETE", ws+"/computes/first"+av+"&underlyingResourceAction=Detach", nil)
	s.wait(h)
}

// Two servers (own databases, the same provider state) race 20 attaches of
// one cluster: exactly one wins, every other answer is 409.
func TestConcurrentAttachesFromTwoServersHaveOneWinner(t *testing.T) {
	a, b := newTestServer(t), newTestServer(t)
	wsA, wsB := a.workspace("racea"), b.workspace("raceb")
	cid := a.makeCluster("contended", 1, "Standard_D3_v2")
	b.makeCluster("contended", 1, "Standard_D3_v2") // adopted by the second server
	var mu sync.Mutex
	codes := map[int]int{}
	var winner http.Header
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, ws := a, wsA
			if i%2 == 1 {
				s, ws = b, wsB
			}
			code, h, _ := s.call("PUT", ws+"/computes/race"+string(rune('a'+i))+av, attachBody(cid, "DevTest"))
			mu.Lock()
			defer mu.Unlock()
			codes[code]++
			if code == 201 {
				winner = h
			}
		}()
	}
	wg.Wait()
	if codes[201] != 1 || codes[409] != 19 {
		t.Fatalf("answers: %v, want one 201 and 19 409", codes)
	}
	srv := a
	if !strings.Contains(winner.Get("Azure-AsyncOperation"), a.url) {
		srv = b
	}
	if op := srv.wait(winner); op.Status != "Succeeded" {
		t.Fatalf("the winner: %+v", op)
	}
	for _, p := range []struct {
		s  *testServer
		ws string
	}{{a, wsA}, {b, wsB}} {
		_, _, body := p.s.call("GET", p.ws+"/computes"+av, nil)
		var list api.ComputeList
		json.Unmarshal(body, &list)
		for _, c := range list.Value {
			_, h, _ := p.s.call("DELETE", p.ws+"/computes/"+c.Name+av+"&underlyingResourceAction=Detach", nil)
			p.s.wait(h)
		}
	}
}

// Stopping the cluster's API server flips the compute's health within the
// threshold; starting it again flips it back.
func TestHealthFollowsTheAPIServer(t *testing.T) {
	s := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.srv.Manager().RunHealth(ctx, compute.HealthConfig{Interval: 200 * time.Millisecond, FailureThreshold: 3, Timeout: time.Second})
	ws := s.workspace("healthws")
	cid := s.makeCluster("probed", 1, "Standard_D3_v2")
	_, h, body := s.call("PUT", ws+"/computes/watched"+av, attachBody(cid, "DevTest"))
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("attach: %+v %s", op, body)
	}
	health := func() *api.Health {
		var c api.Compute
		_, _, body := s.call("GET", ws+"/computes/watched"+av, nil)
		json.Unmarshal(body, &c)
		return c.Properties.Properties.Health
	}
	waitHealth := func(want string) *api.Health {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			if h := health(); h != nil && h.Status == want {
				return h
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("health never became %s: %+v", want, health())
		return nil
	}
	waitHealth("Healthy")
	// Stop the cluster's API server.
	dirs, _ := filepath.Glob(filepath.Join(env.Root, "simulated", "probed-*", "run", "kube-apiserver.pid"))
	if len(dirs) != 1 {
		t.Fatalf("API server pid files: %v", dirs)
	}
	pid, ok := proc.Running(dirs[0])
	if !ok {
		t.Fatal("API server not running")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	h2 := waitHealth("Unhealthy")
	if h2.ConsecutiveFailures < 3 || h2.Reason != "ProbeFailed" {
		t.Fatalf("unhealthy condition: %+v", h2)
	}
	if code, _, body := s.call("POST", ws+"/computes/watched/listNodes"+av, nil); code != 409 || !strings.Contains(string(body), "ClusterUnhealthy") {
		t.Fatalf("listNodes on an unhealthy cluster: %d %s", code, body)
	}
	// Start it again.
	if _, h, _ := s.call("POST", cid+"/start"+av, nil); h.Get("Azure-AsyncOperation") != "" {
		if op := s.wait(h); op.Status != "Succeeded" {
			t.Fatalf("start: %+v", op)
		}
	}
	waitHealth("Healthy")
	_, h, _ = s.call("DELETE", ws+"/computes/watched"+av+"&underlyingResourceAction=Detach", nil)
	s.wait(h)
}

// Any cluster attaches by kubeconfig; with scoped credentials (the
// default) kubeml keeps a token of its own account instead of the admin
// kubeconfig, and detach removes that account too.
func TestAttachByKubeconfigWithScopedCredentials(t *testing.T) {
	s := newTestServer(t)
	ws := s.workspace("kubecfgws")
	cid := s.makeCluster("anycluster", 1, "Standard_D3_v2")
	_, _, body := s.call("POST", cid+"/listClusterAdminCredential"+av, nil)
	var cr api.CredentialResults
	json.Unmarshal(body, &cr)
	admin := string(cr.Kubeconfigs[0].Value)
	c := api.Compute{Properties: api.ComputeProperties{ComputeType: "Kubernetes",
		Properties: &api.AKSProperties{Kubeconfig: admin, ClusterPurpose: "DevTest", Namespace: "models"}}}
	// dryRun: the report, nothing attached.
	code, _, body := s.call("PUT", ws+"/computes/bykc"+av+"&dryRun=true", c)
	var rep api.PreflightReport
	if json.Unmarshal(body, &rep); code != 200 || len(rep.Checks) == 0 || rep.Nodes != 1 {
		t.Fatalf("dryRun: %d %s", code, body)
	}
	if objs := s.managed(cid); len(objs) != 0 {
		t.Fatalf("dryRun wrote to the cluster: %v", objs)
	}
	code, h, body := s.call("PUT", ws+"/computes/bykc"+av, c)
	if code != 201 || strings.Contains(string(body), "BEGIN") || strings.Contains(string(body), "client-key-data") {
		t.Fatalf("attach: %d %s", code, body)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("attach: %+v", op)
	}
	_, _, body = s.call("GET", ws+"/computes/bykc"+av, nil)
	if strings.Contains(string(body), "client-key-data") || !strings.Contains(string(body), `"ScoringFrontEnd"`) {
		t.Fatalf("GET shows secrets or no router: %s", body)
	}
	_, _, body = s.call("POST", ws+"/computes/bykc/listKeys"+av, nil)
	var keys api.ComputeSecrets
	json.Unmarshal(body, &keys)
	if !strings.Contains(keys.AdminKubeConfig, "kubeml-agent") || strings.Contains(keys.AdminKubeConfig, "client-key-data") {
		t.Fatalf("stored credentials are not scoped: %s", keys.AdminKubeConfig)
	}
	// The scoped account can do what kubeml does: list nodes.
	if code, _, body := s.call("POST", ws+"/computes/bykc/listNodes"+av, nil); code != 200 {
		t.Fatalf("listNodes with scoped credentials: %d %s", code, body)
	}
	_, h, _ = s.call("DELETE", ws+"/computes/bykc"+av+"&underlyingResourceAction=Detach", nil)
	if op := s.wait(h); op.Status != "Succeeded" {
		t.Fatalf("detach: %+v", op)
	}
	deadline := time.Now().Add(30 * time.Second) // the agent's cluster roles go by garbage collection
	for len(s.managed(cid)) != 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if objs := s.managed(cid); len(objs) != 0 {
		t.Fatalf("left after detach: %v", objs)
	}
}
