package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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

// scorer sends scoring requests to a service's URI with a key.
type scorer struct {
	uri, key string
	hc       *http.Client
}

// score sends one image and returns the status, the version that served
// it and the probabilities.
func (sc scorer) score(img []float32) (int, string, []float32, error) {
	body, _ := json.Marshal(map[string]any{"data": [][]float32{img}})
	req, _ := http.NewRequest(http.MethodPost, sc.uri, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sc.key != "" {
		req.Header.Set("Authorization", "Bearer "+sc.key)
	}
	resp, err := sc.hc.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, "", nil, fmt.Errorf("%d: %s", resp.StatusCode, b)
	}
	var out [][]float32
	if err := json.Unmarshal(b, &out); err != nil || len(out) != 1 {
		return resp.StatusCode, "", nil, fmt.Errorf("scoring answer %s: %v", b, err)
	}
	return resp.StatusCode, resp.Header.Get("X-Kubeml-Version"), out[0], nil
}

// load scores images with n concurrent clients until stop is closed,
// counting answers by status.
func (sc scorer) load(n int, imgs [][]float32, stop <-chan struct{}) (ok, failed *atomic.Int64, done *sync.WaitGroup) {
	ok, failed, done = new(atomic.Int64), new(atomic.Int64), new(sync.WaitGroup)
	for w := 0; w < n; w++ {
		done.Add(1)
		go func(w int) {
			defer done.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, _, err := sc.score(imgs[i%len(imgs)]); err != nil {
					if failed.Add(1) <= 3 {
						fmt.Fprintf(os.Stderr, "load: request failed: %v\n", err)
					}
				} else {
					ok.Add(1)
				}
			}
		}(w)
	}
	return ok, failed, done
}

// fashionOnLocalCompute makes workspace wsName, a local cluster
// clusterName attached to it as the DevTest compute "dev", and registers
// the fashion model file versions times; it returns the workspace's path
// and id and the cluster's id.
func (s *testServer) fashionOnLocalCompute(wsName, clusterName, model string, versions int) (string, api.ResourceID, string) {
	s.t.Helper()
	wsPath := s.workspace(wsName)
	ws := api.WorkspaceID(sub, rg, wsName)
	cid := s.makeLocalCluster(clusterName)
	code, h, body := s.call("PUT", wsPath+"/computes/dev"+av, attachBody(cid, "DevTest"))
	if code != 201 || s.wait(h).Status != api.StatusSucceeded {
		s.t.Fatalf("attach: %d %s", code, body)
	}
	for range versions {
		f, err := os.Open(model)
		if err != nil {
			s.t.Fatal(err)
		}
		_, err = s.client().RegisterModel(context.Background(), ws, "fashion", f, client.RegisterModelOptions{FileName: "fashion-mlp.onnx"})
		f.Close()
		if err != nil {
			s.t.Fatal(err)
		}
	}
	return wsPath, ws, cid
}

// The acceptance run on a real local cluster: register the
// fashion-mnist model, deploy two versions at 80/20, score 1,000 images
// through the router with the key, scale under load, roll a version under
// load, and detach only once the service is gone.
func TestDeployAndScoreFashionOnALocalCluster(t *testing.T) {
	clustertest.RequireLocal(t, env)
	fx := fashiontest.Fixture(t)
	ref, err := local.ImageRef(env.KubemlBinary)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServerWith(t, func(c *server.Config) { c.RouterImage = ref })
	wsPathStr, ws, cid := s.fashionOnLocalCompute("servews", "servecl", fx.ModelPath, 2)
	cl := s.client()
	ctx := context.Background()

	// Refused before anything is created, with the numbers.
	huge := 64.0
	_, err = cl.BeginDeployService(ctx, ws, "toobig", api.Service{Properties: api.ServiceProperties{ComputeName: "dev",
		ServiceVersion: api.ServiceVersion{Models: []api.ModelRef{{Name: "fashion", Version: 1}}, ContainerResourceRequirements: &api.ResourceRequirements{CPU: &huge}}}})
	var ce *client.Error
	if !asClientError(err, &ce) || ce.Code != "InsufficientCapacity" || !strings.Contains(ce.Message, "64") {
		t.Fatalf("an oversized deployment: %v", err)
	}

	twenty, yes, min1, max3, queue := 20.0, true, 1, 3, 20000
	svc := api.Service{Properties: api.ServiceProperties{ComputeName: "dev", MaxQueueWaitMs: &queue,
		ServiceVersion: api.ServiceVersion{AutoScaler: &api.AutoScaler{MinReplicas: &min1, MaxReplicas: &max3}},
		Versions: map[string]*api.ServiceVersion{
			"blue":  {Models: []api.ModelRef{{Name: "fashion", Version: 1}}, IsDefault: &yes},
			"green": {Models: []api.ModelRef{{Name: "fashion", Version: 2}}, TrafficPercentile: &twenty},
		}}}
	start := time.Now()
	p, err := cl.BeginDeployService(ctx, ws, "fashion", svc)
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := p.PollUntilDone(ctx, nil)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	t.Logf("deployed 2 versions in %s; scoring URI %s", time.Since(start).Round(time.Millisecond), deployed.Properties.ScoringURI)
	keys, err := cl.ServiceKeys(ctx, ws, "fashion")
	if err != nil {
		t.Fatal(err)
	}
	sc := scorer{uri: deployed.Properties.ScoringURI, key: keys.PrimaryKey, hc: &http.Client{Timeout: 30 * time.Second}}

	if code, _, _, _ := (scorer{uri: sc.uri, key: "wrong", hc: sc.hc}).score(fx.Images(1)[0]); code != http.StatusUnauthorized {
		t.Errorf("a wrong key got %d, want 401", code)
	}

	// 1,000 images: predictions match the model's own, the split is 80/20.
	imgs := fx.Images(1000)
	served := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var bad atomic.Int64
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(imgs); i += 8 {
				_, version, probs, err := sc.score(imgs[i])
				if err != nil {
					t.Errorf("image %d: %v", i, err)
					bad.Add(1)
					continue
				}
				want := fx.Expected[i]
				if fashion.Argmax(probs) != want.Predicted || math.Abs(float64(probs[want.Predicted]-want.Probabilities[want.Predicted])) > 1e-4 {
					bad.Add(1)
				}
				mu.Lock()
				served[version]++
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	green := float64(served["green"]) / float64(len(imgs))
	t.Logf("1,000 images: %d wrong, served by %v (green %.1f%%)", bad.Load(), served, 100*green)
	if bad.Load() != 0 || served["blue"]+served["green"] != len(imgs) || math.Abs(green-0.2) > 0.05 {
		t.Fatalf("predictions wrong: %d; split %v", bad.Load(), served)
	}

	// Under load the router scales blue from 1 to 3 replicas; no request fails.
	admin := s.adminClient(cid)
	stop := make(chan struct{})
	ok, failed, done := sc.load(12, imgs, stop)
	maxReplicas := int32(0)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) && maxReplicas < 3 {
		d, err := admin.AppsV1().Deployments("default").Get(ctx, "fashion-blue", metav1.GetOptions{})
		if err == nil && d.Status.ReadyReplicas > maxReplicas {
			maxReplicas = d.Status.ReadyReplicas
		}
		time.Sleep(500 * time.Millisecond)
	}
	close(stop)
	done.Wait()
	t.Logf("under load: blue reached %d ready replicas; %d requests ok, %d failed", maxReplicas, ok.Load(), failed.Load())
	if maxReplicas != 3 || failed.Load() != 0 {
		t.Errorf("scale under load: %d replicas, %d failed requests", maxReplicas, failed.Load())
	}

	// A rolling update of green under a steady load loses no request.
	cpu := 0.2
	svc.Properties.Versions["green"].ContainerResourceRequirements = &api.ResourceRequirements{CPU: &cpu}
	stop = make(chan struct{})
	ok, failed, done = sc.load(4, imgs, stop)
	p, err = cl.BeginDeployService(ctx, ws, "fashion", svc)
	if err == nil {
		_, err = p.PollUntilDone(ctx, nil)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	done.Wait()
	if err != nil {
		t.Fatalf("rolling update: %v", err)
	}
	t.Logf("rolling update under load: %d requests ok, %d failed", ok.Load(), failed.Load())
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Errorf("rolling update lost %d requests", failed.Load())
	}

	// Detach is refused while the service lives, and works once it is gone.
	if code, _, body := s.call("DELETE", wsPathStr+"/computes/dev"+av+"&underlyingResourceAction=Detach", nil); code != 409 || !strings.Contains(string(body), "DeploymentsExist") {
		t.Errorf("detach with a live service: %d %s", code, body)
	}
	dp, err := cl.BeginDeleteService(ctx, ws, "fashion")
	if err == nil {
		_, err = dp.PollUntilDone(ctx, nil)
	}
	if err != nil {
		t.Fatalf("delete service: %v", err)
	}
	_, h, _ := s.call("DELETE", wsPathStr+"/computes/dev"+av+"&underlyingResourceAction=Detach", nil)
	if op := s.wait(h); op.Status != api.StatusSucceeded {
		t.Fatalf("detach after the service is gone: %+v", op)
	}
}
