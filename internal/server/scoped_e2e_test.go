package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeml/kubeml/api"
	"github.com/kubeml/kubeml/client"
	"github.com/kubeml/kubeml/internal/clustertest"
	"github.com/kubeml/kubeml/internal/modelzoo/fashion"
	"github.com/kubeml/kubeml/internal/modelzoo/fashion/fashiontest"
	"github.com/kubeml/kubeml/internal/provider/local"
	"github.com/kubeml/kubeml/internal/server"
)

// A cluster attached by kubeconfig keeps only kubeml's own account, with
// rights in kubeml-system and the namespace named at attach: a service
// deploys there (by default), scores and autoscales through the router,
// whose rights there follow the service; another namespace is refused up
// front; detach leaves nothing of kubeml's.
func TestScopedComputeServesInItsNamespaceOnly(t *testing.T) {
	clustertest.RequireLocal(t, env)
	fx := fashiontest.Fixture(t)
	ref, err := local.ImageRef(env.KubemlBinary)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServerWith(t, func(c *server.Config) { c.RouterImage = ref })
	wsPath := s.workspace("scopedws")
	ws := api.WorkspaceID(sub, rg, "scopedws")
	cid := s.makeLocalCluster("scopedcl")
	_, _, body := s.call("POST", cid+"/listClusterAdminCredential"+av, nil)
	var cr api.CredentialResults
	json.Unmarshal(body, &cr)
	c := api.Compute{Properties: api.ComputeProperties{ComputeType: "Kubernetes",
		Properties: &api.AKSProperties{Kubeconfig: string(cr.Kubeconfigs[0].Value), ClusterPurpose: "DevTest", Namespace: "models"}}}
	code, h, body := s.call("PUT", wsPath+"/computes/dev"+av, c)
	if code != 201 || s.wait(h).Status != api.StatusSucceeded {
		t.Fatalf("attach: %d %s", code, body)
	}
	f, err := os.Open(fx.ModelPath)
	if err != nil {
		t.Fatal(err)
	}
	cl, ctx := s.client(), context.Background()
	_, err = cl.RegisterModel(ctx, ws, "fashion", f, client.RegisterModelOptions{FileName: "fashion-mlp.onnx"})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}

	min1, max2, yes := 1, 2, true
	svc := func(ns string) api.Service {
		return api.Service{Properties: api.ServiceProperties{ComputeName: "dev", Namespace: ns,
			ServiceVersion: api.ServiceVersion{AutoScaler: &api.AutoScaler{MinReplicas: &min1, MaxReplicas: &max2}},
			Versions:       map[string]*api.ServiceVersion{"blue": {Models: []api.ModelRef{{Name: "fashion", Version: 1}}, IsDefault: &yes}}}}
	}
	var ce *client.Error
	if _, err := cl.BeginDeployService(ctx, ws, "elsewhere", svc("other")); !asClientError(err, &ce) || ce.Code != "InvalidNamespace" {
		t.Fatalf("a service in a namespace the compute holds no rights in: %v", err)
	}
	p, err := cl.BeginDeployService(ctx, ws, "fashion", svc(""))
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := p.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if deployed.Properties.Namespace != "models" {
		t.Errorf("deployed to namespace %q, want the compute's (models)", deployed.Properties.Namespace)
	}
	keys, err := cl.ServiceKeys(ctx, ws, "fashion")
	if err != nil {
		t.Fatal(err)
	}
	sc := scorer{uri: deployed.Properties.ScoringURI, key: keys.PrimaryKey, hc: &http.Client{Timeout: 30 * time.Second}}
	imgs := fx.Images(50)
	for i, img := range imgs {
		code, _, probs, err := sc.score(img)
		if err != nil || code != 200 || fashion.Argmax(probs) != fx.Expected[i].Predicted {
			t.Fatalf("image %d: %d %v", i, code, err)
		}
	}
	// Under load the router scales blue to 2: it may scale kubeml's model
	// Deployments in the namespace.
	admin := s.adminClient(cid)
	stop := make(chan struct{})
	_, failed, done := sc.load(8, imgs, stop)
	ready := int32(0)
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && ready < 2; time.Sleep(500 * time.Millisecond) {
		if d, err := admin.AppsV1().Deployments("models").Get(ctx, "fashion-blue", metav1.GetOptions{}); err == nil {
			ready = max(ready, d.Status.ReadyReplicas)
		}
	}
	close(stop)
	done.Wait()
	if ready != 2 || failed.Load() != 0 {
		t.Errorf("under load: %d ready replicas (want 2), %d failed requests", ready, failed.Load())
	}

	dp, err := cl.BeginDeleteService(ctx, ws, "fashion")
	if err == nil {
		_, err = dp.PollUntilDone(ctx, nil)
	}
	if err != nil {
		t.Fatalf("delete service: %v", err)
	}
	_, h, _ = s.call("DELETE", wsPath+"/computes/dev"+av+"&underlyingResourceAction=Detach", nil)
	if op := s.wait(h); op.Status != api.StatusSucceeded {
		t.Fatalf("detach: %+v", op)
	}
	deadline := time.Now().Add(60 * time.Second) // what kubeml-system owns goes by garbage collection
	for len(s.managed(cid)) != 0 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if objs := s.managed(cid); len(objs) != 0 {
		t.Fatalf("left after detach: %v", objs)
	}
}
