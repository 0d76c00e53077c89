package server_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/server"
)

// makeLocalCluster creates a local managed cluster through the API.
func (s *testServer) makeLocalCluster(name string) string {
	s.t.Helper()
	path := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerService/managedClusters/" + name
	one := 1
	code, h, body := s.call("PUT", path+av, api.ManagedCluster{Location: "local",
		Properties: api.ManagedClusterProperties{AgentPoolProfiles: []api.AgentPoolProfile{{Name: "pool", Count: &one}}}})
	if code != 201 {
		s.t.Fatalf("local cluster: %d %s", code, body)
	}
	if op := s.wait(h); op.Status != "Succeeded" {
		s.t.Fatalf("local cluster: %+v", op)
	}
	s.t.Cleanup(func() {
		if _, h, _ := s.call("DELETE", path+av, nil); h.Get("Azure-AsyncOperation") != "" {
			s.wait(h)
		}
	})
	return path
}

// routerReady asks kubectl, as a user would, whether the router is Ready.
func (s *testServer) routerReady(t *testing.T, kubeconfig []byte) string {
	f := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(f, kubeconfig, 0o600)
	out, _ := exec.Command("kubectl", "--kubeconfig", f, "-n", "kubeml-system", "get", "deployment", "kubeml-router",
		"-o", "jsonpath={.status.readyReplicas}").CombinedOutput()
	return string(out)
}

// A real local cluster (pods really run) is attached by id and then by
// kubeconfig; each time kubectl shows the router Ready in kubeml-system,
// and each detach leaves nothing.
func TestAttachLocalClusterByIDAndByKubeconfig(t *testing.T) {
	clustertest.RequireLocal(t, env)
	// The server here is the test binary: point it at the image the
	// provider made of kubeml's binary, as a real server's own image is.
	ref, err := local.ImageRef(env.KubemlBinary)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServerWith(t, func(c *server.Config) { c.RouterImage = ref })
	ws := s.workspace("localattach")
	cid := s.makeLocalCluster("realone")
	_, _, body := s.call("POST", cid+"/listClusterAdminCredential"+av, nil)
	var cr api.CredentialResults
	json.Unmarshal(body, &cr)
	admin := cr.Kubeconfigs[0].Value
	bodies := map[string]api.Compute{
		"byid": attachBody(cid, "DevTest"),
		"bykubeconfig": {Properties: api.ComputeProperties{ComputeType: "Kubernetes",
			Properties: &api.AKSProperties{Kubeconfig: string(admin), ClusterPurpose: "DevTest"}}},
	}
	for _, name := range []string{"byid", "bykubeconfig"} {
		start := time.Now()
		code, h, body := s.call("PUT", ws+"/computes/"+name+av, bodies[name])
		if code != 201 {
			t.Fatalf("%s: %d %s", name, code, body)
		}
		if op := s.wait(h); op.Status != "Succeeded" {
			t.Fatalf("%s: %+v", name, op)
		}
		t.Logf("%s: attached with the router Ready in %s", name, time.Since(start).Round(time.Millisecond))
		if got := s.routerReady(t, admin); got != "1" {
			t.Errorf("%s: kubectl: router ready replicas %q", name, got)
		}
		_, h, _ = s.call("DELETE", ws+"/computes/"+name+av+"&underlyingResourceAction=Detach", nil)
		if op := s.wait(h); op.Status != "Succeeded" {
			t.Fatalf("%s detach: %+v", name, op)
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(s.managed(cid)) != 0 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if objs := s.managed(cid); len(objs) != 0 {
			t.Fatalf("%s: left after detach: %v", name, objs)
		}
		if got := s.routerReady(t, admin); strings.TrimSpace(got) == "1" {
			t.Errorf("%s: router still there after detach", name)
		}
	}
}

// BenchmarkAttachLocal times, on a ready local cluster, the preflight
// (dryRun) and an attach from the request to Succeeded with the router
// Ready.
//
//	go test -run '^$' -bench AttachLocal -benchtime 3x ./internal/server/
func BenchmarkAttachLocal(b *testing.B) {
	clustertest.RequireLocal(b, env)
	s := newTestServer(b)
	ws := s.workspace("attachbench")
	cid := s.makeLocalCluster("benchone")
	var pre, attach time.Duration
	for range b.N {
		start := time.Now()
		if code, _, body := s.call("PUT", ws+"/computes/bench"+av+"&dryRun=true", attachBody(cid, "DevTest")); code != 200 {
			b.Fatalf("preflight: %d %s", code, body)
		}
		pre += time.Since(start)
		start = time.Now()
		code, h, body := s.call("PUT", ws+"/computes/bench"+av, attachBody(cid, "DevTest"))
		if code != 201 {
			b.Fatalf("attach: %d %s", code, body)
		}
		if op := s.waitFast(h); op.Status != "Succeeded" {
			b.Fatalf("attach: %+v", op)
		}
		attach += time.Since(start)
		_, h, _ = s.call("DELETE", ws+"/computes/bench"+av+"&underlyingResourceAction=Detach", nil)
		s.wait(h)
	}
	b.ReportMetric(pre.Seconds()/float64(b.N), "preflight-s")
	b.ReportMetric(attach.Seconds()/float64(b.N), "attach-s")
}

// TestARealServerAttachesItsLocalClusterByKubeconfig is the user's path:
// `kubeml server` (the real binary, so its default router image is its
// own, not the test's) makes a local cluster, and the cluster's admin
// kubeconfig attaches it as a Kubernetes compute whose router runs from
// the image the cluster was given.
func TestARealServerAttachesItsLocalClusterByKubeconfig(t *testing.T) {
	clustertest.RequireLocal(t, env)
	data, err := os.MkdirTemp(env.Root, "rs") // short: containerd's socket paths live under it
	if err != nil {
		t.Fatal(err)
	}
	p := startServerOn(t, data, clustertest.FreeAddr(t), "local=local")
	ws := wsPath("realsrv")
	if code, _, body := p.call("PUT", ws+av, api.Workspace{Location: "local"}); code != 201 {
		t.Fatalf("workspace: %d %s", code, body)
	}
	mc := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.ContainerService/managedClusters/realsrv"
	one := 1
	code, h, body := p.call("PUT", mc+av, api.ManagedCluster{Location: "local",
		Properties: api.ManagedClusterProperties{AgentPoolProfiles: []api.AgentPoolProfile{{Name: "pool", Count: &one}}}})
	if code != 201 {
		t.Fatalf("local cluster: %d %s", code, body)
	}
	t.Cleanup(func() {
		if _, h, _ := p.call("DELETE", mc+av, nil); h.Get("Azure-AsyncOperation") != "" {
			p.waitOp(h.Get("Azure-AsyncOperation"))
		}
	})
	if op := p.waitOp(h.Get("Azure-AsyncOperation")); op.Status != api.StatusSucceeded {
		t.Fatalf("local cluster: %+v", op)
	}
	_, _, body = p.call("POST", mc+"/listClusterAdminCredential"+av, nil)
	var cr api.CredentialResults
	if err := json.Unmarshal(body, &cr); err != nil || len(cr.Kubeconfigs) == 0 {
		t.Fatalf("credentials: %s", body)
	}
	start := time.Now()
	code, h, body = p.call("PUT", ws+"/computes/bykc"+av, api.Compute{Properties: api.ComputeProperties{ComputeType: "Kubernetes",
		Properties: &api.AKSProperties{Kubeconfig: string(cr.Kubeconfigs[0].Value), ClusterPurpose: "DevTest"}}})
	if code != 201 {
		t.Fatalf("attach: %d %s", code, body)
	}
	if op := p.waitOp(h.Get("Azure-AsyncOperation")); op.Status != api.StatusSucceeded {
		t.Fatalf("attach by kubeconfig: %+v %+v", op, op.Error)
	}
	t.Logf("attached by kubeconfig, router Ready, in %s", time.Since(start).Round(time.Millisecond))
	_, h, _ = p.call("DELETE", ws+"/computes/bykc"+av+"&underlyingResourceAction=Detach", nil)
	if op := p.waitOp(h.Get("Azure-AsyncOperation")); op.Status != api.StatusSucceeded {
		t.Fatalf("detach: %+v", op)
	}
}
